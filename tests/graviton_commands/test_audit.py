"""`python -m graviton.audit`: the guard's rules on templates that did not come from this app."""

from __future__ import annotations

import json
import sys

from support import ROOT, run

from graviton_commands import audit

TEMPLATES = ROOT / "tests" / "fixtures" / "templates"


def test_a_hand_written_x86_yaml_template_fails_with_every_violation(capsys):
    assert audit.main([str(TEMPLATES / "x86.yaml")]) == 1
    out = capsys.readouterr().out
    assert "GG-LAMBDA  x86.yaml/Api  AWS::Lambda::Function  x86_64 (Architectures unset)" in out
    assert 'GG-EC2  x86.yaml/Worker  AWS::EC2::Instance  unresolved at synth: {"Ref": "Size"}' in out
    assert "GG-APPRUNNER  x86.yaml/Web" in out
    assert not [line for line in out.splitlines() if line.startswith("  GG-") and "ArmApi" in line]
    assert out.strip().endswith("3 violation(s)")


def test_an_arm64_template_passes(capsys):
    assert audit.main([str(TEMPLATES / "arm64.json")]) == 0
    assert "all compute and image assets are arm64" in capsys.readouterr().out


def test_json_output_lists_every_decision(capsys):
    assert audit.main([str(TEMPLATES / "arm64.json"), "--json"]) == 0
    decisions = json.loads(capsys.readouterr().out)
    assert {d["rule"] for d in decisions} == {"GG-LAMBDA", "GG-CODEBUILD", "GG-ECS", "GG-EKS"}
    assert all(d["compliant"] for d in decisions)


def test_a_cdk_out_folder_is_audited_stack_by_stack(synthesized, capsys):
    assert audit.main([str(synthesized.outdir)]) == 0
    assert "DevStack" in capsys.readouterr().out


def test_unreadable_input_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "notes.txt").write_text("just: [text")
    for path in (tmp_path / "missing.json", tmp_path, tmp_path / "notes.txt"):
        result = run([sys.executable, "-m", "graviton_commands.audit", str(path)])
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("graviton.audit: ")
        assert "Traceback" not in result.stderr


def test_several_inputs_and_a_folder_of_templates_are_audited_together(tmp_path, capsys):
    nested = tmp_path / "infra" / "legacy"
    nested.mkdir(parents=True)
    (nested / "x86.yaml").write_text((TEMPLATES / "x86.yaml").read_text())
    (nested / "package.json").write_text('{"name": "not-a-template"}')  # other JSON is left alone
    assert audit.main([str(tmp_path / "infra"), str(TEMPLATES / "arm64.json"), "--format", "json"]) == 1
    decisions = json.loads(capsys.readouterr().out)
    assert {d["stack"] for d in decisions} == {"x86.yaml", "arm64.json"}


def test_raw_cloudformation_gets_the_property_to_set_and_an_assembly_gets_cdks_fix(synthesized, capsys):
    from graviton.guardrails.rules.pack import PACK

    audit.main([str(TEMPLATES / "x86.yaml"), "--format", "json"])
    raw = {d["rule"]: d["fix"] for d in json.loads(capsys.readouterr().out) if not d["compliant"]}
    assert raw["GG-LAMBDA"] == "set Architectures: [arm64]" == PACK["GG-LAMBDA"].cfn_fix
    audit.main([str(synthesized.outdir), "--format", "json"])
    assembled = json.loads(capsys.readouterr().out)
    assert {d["fix"] for d in assembled if d["rule"] == "GG-LAMBDA"} <= {PACK["GG-LAMBDA"].fix}


def test_every_rule_says_its_fix_in_cloudformation_terms_or_per_case():
    from graviton.guardrails.rules.pack import RULES

    assert [r.id for r in RULES if not r.cfn_fix] == ["GG-LAYER"]  # its verdict names the exact arm64 layer


def test_sarif_names_each_violation_with_rule_file_and_resource(tmp_path):
    output = tmp_path / "guard.sarif"
    assert audit.main([str(TEMPLATES / "x86.yaml"), "--format", "sarif", "--output", str(output)]) == 1
    report = json.loads(output.read_text())
    assert report["version"] == "2.1.0"
    (run_,) = report["runs"]
    rule_ids = [rule["id"] for rule in run_["tool"]["driver"]["rules"]]
    from graviton.guardrails.rules.pack import PACK

    assert rule_ids == list(PACK)
    results = run_["results"]
    assert len(results) == 3 and {r["level"] for r in results} == {"error"}
    assert all(r["ruleId"] in rule_ids for r in results)
    api = next(r for r in results if r["locations"][0]["logicalLocations"][0]["name"] == "Api")
    assert api["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("x86.yaml")
    assert "set Architectures: [arm64]" in api["message"]["text"]


def test_junit_has_a_suite_per_stack_and_a_failure_per_violation(tmp_path, capsys):
    from xml.etree import ElementTree

    assert audit.main([str(TEMPLATES / "x86.yaml"), str(TEMPLATES / "arm64.json"), "--format", "junit"]) == 1
    suites = ElementTree.fromstring(capsys.readouterr().out.split("?>", 1)[1])
    by_name = {suite.get("name"): suite for suite in suites}
    assert set(by_name) == {"x86.yaml", "arm64.json"}
    assert by_name["x86.yaml"].get("failures") == "3" and len(by_name["x86.yaml"].findall("testcase/failure")) == 3
    assert by_name["arm64.json"].get("failures") == "0" and by_name["arm64.json"].findall("testcase")


def test_a_bad_format_or_output_is_one_line_and_nonzero(tmp_path):
    bad_format = run(
        [sys.executable, "-m", "graviton_commands.audit", str(TEMPLATES / "arm64.json"), "--format", "xml"]
    )
    assert bad_format.returncode == 2 and bad_format.stderr.count("\n") == 1 and "xml" in bad_format.stderr
    unwritable = tmp_path / "missing" / "out.sarif"
    result = run(
        [sys.executable, "-m", "graviton_commands.audit", str(TEMPLATES / "arm64.json"), "--output", str(unwritable)]
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "--output" in result.stderr
    assert "Traceback" not in bad_format.stderr + result.stderr
