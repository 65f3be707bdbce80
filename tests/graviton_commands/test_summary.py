"""`python -m graviton_commands.summary`: the short table `make synth` prints."""

from __future__ import annotations

import json

from graviton_commands import summary


def test_summary_lists_every_stack_as_arm64(synthesized, capsys):
    assert summary.main([str(synthesized.outdir)]) == 0
    out = capsys.readouterr().out
    for environment, stack in synthesized.stacks.items():
        # The stack's own template and its services' nested stacks: the summary counts what the deploy creates.
        templates = [synthesized.template(environment), *(s.template for s in synthesized.services(environment))]
        functions = sum(len(t.find_resources("AWS::Lambda::Function")) for t in templates)
        builds = sum(len(t.find_resources("AWS::CodeBuild::Project")) for t in templates)
        assert functions > len(synthesized.template(environment).find_resources("AWS::Lambda::Function"))
        line = next(line for line in out.splitlines() if line.startswith(stack.stack_name))
        assert line.split()[-3:] == [f"{functions}/{functions}", f"{builds}/{builds}", "yes"]


def write_assembly(tmp_path, resources: dict) -> None:
    (tmp_path / "S.template.json").write_text(json.dumps({"Resources": resources}))
    manifest = {
        "artifacts": {"S": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "S.template.json"}}}
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))


def test_an_x86_function_or_build_makes_it_exit_1(tmp_path, capsys):
    write_assembly(
        tmp_path,
        {
            "F": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "B": {"Type": "AWS::CodeBuild::Project", "Properties": {"Environment": {"Type": "LINUX_CONTAINER"}}},
        },
    )
    assert summary.main([str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines()[-1].split()[-3:] == ["0/1", "0/1", "NO"]


def test_a_missing_assembly_is_one_line_and_exit_2(tmp_path, capsys):
    assert summary.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
