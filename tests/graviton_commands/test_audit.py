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
