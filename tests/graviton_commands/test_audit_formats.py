"""`audit --format sarif|junit --output FILE`: the reports CI reads, checked as CI's readers would."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
from audit_support import TEMPLATES, write_assembly
from support import ROOT

from graviton.guardrails.rules.pack import PACK, RULES
from graviton_commands import audit
from graviton_commands.audit import formats

# The official OASIS schema (provenance in its folder's README.md).
SARIF_SCHEMA = ROOT / "tests" / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"
DATA_CLASS = {"Type": "AWS::RDS::DBInstance", "Properties": {"DBInstanceClass": "db.r6i.large"}}


@pytest.fixture
def inputs(tmp_path, monkeypatch) -> list[str]:
    """Two templates (one with an advisory) and a cdk.out, given relative to the working directory as CI does."""
    monkeypatch.chdir(tmp_path)
    Path("x86.yaml").write_text((TEMPLATES / "x86.yaml").read_text())
    Path("data.json").write_text(json.dumps({"Resources": {"Db": DATA_CLASS}}, indent=2))
    write_assembly(tmp_path / "cdk.out")
    return ["x86.yaml", "data.json", "cdk.out"]


def report(argv: list[str], output: Path) -> str:
    """Audit `argv` into `output` and return what was written; the exit code says a violation was found."""
    assert audit.main([*argv, "--output", str(output)]) == 1
    return output.read_text()


def test_sarif_is_valid_against_the_official_2_1_0_schema(inputs, tmp_path):
    log = json.loads(report([*inputs, "--format", "sarif"], tmp_path / "guard.sarif"))
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER).validate(log)
    with pytest.raises(jsonschema.ValidationError):  # the schema is strict enough to refuse a misspelled level
        log["runs"][0]["results"][0]["level"] = "fatal"
        jsonschema.Draft4Validator(schema).validate(log)


def test_sarif_has_one_run_whose_rules_are_the_pack(inputs, tmp_path):
    log = json.loads(report([*inputs, "--format", "sarif"], tmp_path / "guard.sarif"))
    (run_,) = log["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "graviton-guard"
    assert [r["id"] for r in driver["rules"]] == list(PACK)
    lambda_rule = driver["rules"][list(PACK).index("GG-LAMBDA")]
    assert lambda_rule["shortDescription"]["text"] == PACK["GG-LAMBDA"].title
    assert lambda_rule["fullDescription"]["text"] == PACK["GG-LAMBDA"].explanation
    assert lambda_rule["help"]["text"].splitlines() == [
        PACK["GG-LAMBDA"].fix,
        f"In a CloudFormation template: {PACK['GG-LAMBDA'].cfn_fix}",
    ]
    assert {r["defaultConfiguration"]["level"] for r in driver["rules"] if PACK[r["id"]].advisory} == {"note"}


def test_sarif_results_name_rule_file_line_and_resource(inputs, tmp_path):
    results = json.loads(report([*inputs, "--format", "sarif"], tmp_path / "guard.sarif"))["runs"][0]["results"]
    by_resource = {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]: r for r in results}
    assert set(by_resource) == {"x86.yaml/Api", "x86.yaml/Worker", "x86.yaml/Web", "data.json/Db",
                                "LegacyStack/Handler/Resource"}  # fmt: skip
    api = by_resource["x86.yaml/Api"]
    assert (api["ruleId"], api["level"]) == ("GG-LAMBDA", "error")
    assert RULES[api["ruleIndex"]].id == "GG-LAMBDA"
    assert api["message"]["text"].endswith("found x86_64 (Architectures unset): set Architectures: [arm64]")
    location = api["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "x86.yaml"  # relative to the working directory
    assert Path("x86.yaml").read_text().splitlines()[location["region"]["startLine"] - 1] == "  Api:"
    db = by_resource["data.json/Db"]
    assert (db["ruleId"], db["level"]) == ("GG-DATA-CLASS", "note")  # an advisory is reported, as a note
    assert db["locations"][0]["logicalLocations"][0]["name"] == "Db"
    cdk = by_resource["LegacyStack/Handler/Resource"]
    assert cdk["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "cdk.out/LegacyStack.template.json"
    assert cdk["message"]["text"].endswith(PACK["GG-LAMBDA"].fix)  # an assembly keeps CDK's terms


def test_a_resource_line_is_its_entry_under_resources_not_a_same_named_key(tmp_path):
    template = tmp_path / "t.yaml"
    lines = ["Parameters:", "  Handler:", "    Type: String", "Resources:", "  # the API first", "  Api:",
             "    Properties:", "      Handler: !Ref Handler", "  Handler:", "    Type: AWS::Lambda::Function"]  # fmt: skip
    template.write_text("\n".join(lines))
    assert formats.line_of(template, "Handler") == lines.index("  Handler:", 4) + 1
    assert formats.line_of(template, "Api") == 6
    assert formats.line_of(template, "Missing") is None


def test_a_template_outside_the_working_directory_is_an_absolute_file_uri(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    audit.main([str(TEMPLATES / "x86.yaml"), "--format", "sarif"])
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(capsys.readouterr().out)["runs"][0]["results"]}  # fmt: skip
    assert uris == {(TEMPLATES / "x86.yaml").resolve().as_uri()}


def test_junit_has_a_suite_per_stack_a_case_per_decision_and_a_failure_per_violation(inputs, tmp_path):
    output = tmp_path / "guard.xml"
    report([*inputs, str(TEMPLATES / "arm64.json"), "--format", "junit"], output)
    suites = ElementTree.parse(output).getroot()
    assert suites.tag == "testsuites" and suites.get("failures") == "4"
    by_name = {suite.get("name"): suite for suite in suites.iter("testsuite")}
    assert list(by_name) == ["x86.yaml", "data.json", "LegacyStack", "arm64.json"]
    x86 = by_name["x86.yaml"]
    assert x86.get("failures") == "3" and x86.get("tests") == str(len(x86.findall("testcase")))
    assert {case.get("classname") for case in x86.iter("testcase")} == {"x86.yaml"}
    api = next(case for case in x86.iter("testcase") if case.get("name") == "GG-LAMBDA x86.yaml/Api")
    failure = api.find("failure")
    assert failure is not None and failure.get("type") == "GG-LAMBDA" and failure.text == "set Architectures: [arm64]"
    assert not [case for case in x86.iter("testcase") if "ArmApi" in case.get("name") and case.find("failure")]
    (advisory,) = by_name["data.json"].iter("testcase")
    assert advisory.find("failure") is None and "db.r6i.large" in advisory.findtext("system-out")
    (cdk,) = by_name["LegacyStack"].iter("testcase")
    assert (
        cdk.get("name") == "GG-LAMBDA LegacyStack/Handler/Resource" and cdk.findtext("failure") == PACK["GG-LAMBDA"].fix
    )
    arm64 = by_name["arm64.json"]
    assert arm64.get("failures") == "0" and len(arm64.findall("testcase")) == 4


def test_without_output_the_report_goes_to_stdout(capsys):
    assert audit.main([str(TEMPLATES / "x86.yaml"), "--format", "junit"]) == 1
    assert ElementTree.fromstring(capsys.readouterr().out.encode()).tag == "testsuites"
