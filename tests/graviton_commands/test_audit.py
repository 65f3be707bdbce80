"""`python -m graviton_commands.audit`: the guard's rules on templates and assemblies that did not come from
this app: which inputs it reads, and the fix it gives for each."""

from __future__ import annotations

import json
import sys

from audit_support import TEMPLATES, X86_FUNCTION, write_assembly
from support import run

from graviton.guardrails.rules.pack import PACK, RULES
from graviton_commands import audit


def decisions_of(capsys, *argv: str) -> list[dict]:
    """Audit `argv` with the JSON report and return its decisions."""
    audit.main([*argv, "--format", "json"])
    return json.loads(capsys.readouterr().out)


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


def test_json_output_lists_every_decision_and_json_is_an_alias_of_format_json(capsys):
    assert audit.main([str(TEMPLATES / "arm64.json"), "--json"]) == 0
    decisions = json.loads(capsys.readouterr().out)
    assert {d["rule"] for d in decisions} == {"GG-LAMBDA", "GG-CODEBUILD", "GG-ECS", "GG-EKS"}
    assert all(d["compliant"] for d in decisions)
    assert decisions_of(capsys, str(TEMPLATES / "arm64.json")) == decisions


def test_the_apps_own_cdk_out_is_audited_stack_by_stack(synthesized, capsys):
    assert audit.main([str(synthesized.outdir)]) == 0
    assert "DevStack" in capsys.readouterr().out


def test_two_templates_and_a_cdk_out_are_audited_together(tmp_path, capsys):
    cdk_out = write_assembly(tmp_path / "cdk.out")
    paths = [str(TEMPLATES / "x86.yaml"), str(TEMPLATES / "arm64.json"), str(cdk_out)]
    assert audit.main(paths) == 1
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()[1:4]] == ["x86.yaml", "arm64.json", "LegacyStack"]
    assert "GG-LAMBDA  LegacyStack/Handler/Resource  AWS::Lambda::Function" in out
    assert out.strip().endswith("4 violation(s)")  # x86.yaml's three and the assembly's function


def test_raw_cloudformation_gets_the_property_to_set_and_an_assembly_gets_cdks_fix(tmp_path, capsys):
    cdk_out = write_assembly(tmp_path / "cdk.out")
    decisions = decisions_of(capsys, str(TEMPLATES / "x86.yaml"), str(cdk_out))
    fixes = {(d["stack"], d["rule"]): d["fix"] for d in decisions if not d["compliant"]}
    assert fixes[("x86.yaml", "GG-LAMBDA")] == "set Architectures: [arm64]" == PACK["GG-LAMBDA"].cfn_fix
    assert fixes[("x86.yaml", "GG-APPRUNNER")] == PACK["GG-APPRUNNER"].cfn_fix
    assert (
        fixes[("LegacyStack", "GG-LAMBDA")] == "set architecture=lambda_.Architecture.ARM_64" == PACK["GG-LAMBDA"].fix
    )


def test_a_rule_without_cloudformation_terms_keeps_its_own_fix_in_a_raw_template(tmp_path, capsys):
    layer = "arn:aws:lambda:eu-west-1:580247275435:layer:LambdaInsightsExtension:53"
    function = {"Type": "AWS::Lambda::Function", "Properties": {"Architectures": ["arm64"], "Layers": [layer]}}
    (tmp_path / "template.json").write_text(json.dumps({"Resources": {"Fn": function}}))
    (found,) = [d for d in decisions_of(capsys, str(tmp_path / "template.json")) if not d["compliant"]]
    assert found["rule"] == "GG-LAYER" and found["fix"] == "use the arm64 build: LambdaInsightsExtension-Arm64"


def test_every_rule_says_its_fix_in_cloudformation_terms():
    # GG-LAYER's every violation names the exact arm64 layer to use, which a rule-wide cfn_fix would replace
    assert [r.id for r in RULES if not r.cfn_fix] == ["GG-LAYER"]


def test_a_folder_is_searched_for_templates_and_the_cdk_out_inside_it(tmp_path, capsys):
    nested = tmp_path / "infra" / "legacy"
    nested.mkdir(parents=True)
    (nested / "x86.yaml").write_text((TEMPLATES / "x86.yaml").read_text())
    (nested / "package.json").write_text('{"name": "not-a-template"}')  # other JSON is left alone
    (nested / "broken.yaml").write_text("a: [")  # and so is what does not parse
    write_assembly(tmp_path / "infra" / "cdk.out", "CdkStack")
    for skipped in ("node_modules/lib", ".git"):  # dependencies and tool state are never entered
        (tmp_path / "infra" / skipped).mkdir(parents=True)
        (tmp_path / "infra" / skipped / "t.json").write_text(json.dumps({"Resources": {"F": X86_FUNCTION}}))
    decisions = decisions_of(capsys, str(tmp_path / "infra"), str(TEMPLATES / "arm64.json"))
    assert {d["stack"] for d in decisions} == {"x86.yaml", "CdkStack", "arm64.json"}
    (cdk_fix,) = [d["fix"] for d in decisions if d["stack"] == "CdkStack"]
    assert cdk_fix == PACK["GG-LAMBDA"].fix  # the assembly met in the search keeps CDK's terms


def test_a_template_given_twice_is_audited_once_and_same_named_templates_are_kept_apart(tmp_path, capsys):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "template.yaml").write_text((TEMPLATES / "x86.yaml").read_text())
    decisions = decisions_of(capsys, str(tmp_path), str(tmp_path / "a" / "template.yaml"))
    stacks = {d["stack"] for d in decisions}
    assert stacks == {(tmp_path / name / "template.yaml").as_posix() for name in ("a", "b")}
    assert len([d for d in decisions if not d["compliant"]]) == 6  # three per template, none counted twice


def test_each_unreadable_path_is_one_line_naming_it(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("just: [text")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    broken = write_assembly(tmp_path / "broken.out")
    (broken / "manifest.json").write_text("{")
    missing = write_assembly(tmp_path / "missing.out")
    (missing / "LegacyStack.template.json").unlink()
    cases = {
        tmp_path / "missing.json": "does not exist",
        tmp_path / "empty": "holds no CloudFormation template",
        tmp_path / "notes.txt": "is not a readable JSON or YAML template",
        tmp_path / "list.yaml": "has no Resources section",
        broken: "is not a readable cloud assembly (cdk.out): Expecting property name",
        missing: "LegacyStack.template.json: No such file or directory",
    }
    for path, why in cases.items():
        assert audit.main([str(TEMPLATES / "arm64.json"), str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"graviton.audit: {path}") and why in err and err.count("\n") == 1, err


def test_as_a_command_a_bad_path_is_one_line_exit_2_and_no_traceback(tmp_path):
    result = run([sys.executable, "-m", "graviton_commands.audit", str(tmp_path / "missing.json")])
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        f"graviton.audit: {tmp_path / 'missing.json'} does not exist; "
        "give a template, a cdk.out folder or a folder of templates\n"
    )


def test_a_bad_format_or_output_is_one_line_and_nonzero(tmp_path, capsys):
    for argv, named in (
        (["--format", "xml"], "xml"),
        (["--json", "--format", "sarif"], "--json"),
        (["--output", str(tmp_path / "missing" / "out.sarif")], "--output"),
    ):
        try:
            code = audit.main([str(TEMPLATES / "arm64.json"), *argv])
        except SystemExit as exit_:  # argparse refuses by exiting
            code = exit_.code
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and named in err and err.startswith("graviton.audit: "), err
