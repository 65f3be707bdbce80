"""One stack order and the names users deploy, in the guard's table and `make synth`'s summary: the order the app
added the stacks (cdk.json's `environments`, then PipelineStack, then its stages), each shown by its stack name."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from support import ROOT

from graviton.guardrails.guard import GuardedStage, guard, guard_summary
from graviton_app import naming
from graviton_commands import summary
from graviton_commands.settings import read_settings


def table_stacks(table: str, header_lines: int) -> list[str]:
    """The first column of a table whose numbers start after the name (names may hold spaces)."""
    names = []
    for line in table.splitlines()[header_lines:]:
        words = line.split()
        numbers = next(n for n, word in enumerate(words) if word[0].isdigit())
        names.append(" ".join(words[:numbers]))
    return names


def summary_stacks(assembly: Path, capsys) -> list[str]:
    summary.main([str(assembly)])
    return table_stacks(capsys.readouterr().out, header_lines=2)


def configured_stacks() -> list[str]:
    """The environments' stacks in cdk.json's order."""
    return [naming.stack_name(environment) for environment in read_settings(ROOT).config.environments]


def pipeline_stage_stacks() -> list[str]:
    return [
        f"{naming.stack_name(environment)} (pipeline stage {naming.stage_id(environment)})"
        for environment in read_settings(ROOT).config.environments
    ]


def test_the_real_app_lists_its_stacks_in_the_configured_order(synthesized, capsys):
    assert table_stacks(guard_summary(synthesized.app), header_lines=1) == configured_stacks()
    assert summary_stacks(synthesized.outdir, capsys) == configured_stacks()


def test_the_pipeline_stages_show_the_stack_they_deploy_after_the_pipeline(synthesized, pipeline_synth, capsys):
    expected = [*configured_stacks(), "PipelineStack", *pipeline_stage_stacks()]
    assert table_stacks(guard_summary(pipeline_synth.app), header_lines=1) == expected
    assert summary_stacks(pipeline_synth.outdir, capsys) == expected


def small_app(environments: list[str], outdir: Path) -> cdk.App:
    """The app's shape in miniature: one stack per environment in the given order, a pipeline stack whose stages
    deploy the same stack names, each stack with one arm64 function."""
    app = cdk.App(outdir=str(outdir))
    guard(app)

    def environment_stack(scope, environment: str) -> None:
        stack = cdk.Stack(scope, naming.stack_name(environment), stack_name=naming.stack_name(environment))
        lambda_.Function(
            stack,
            "Fn",
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context): pass"),
        )

    for environment in environments:
        environment_stack(app, environment)
    pipeline = cdk.Stack(app, "PipelineStack")
    for environment in environments:
        environment_stack(GuardedStage(pipeline, naming.stage_id(environment)), environment)
    return app


def test_environments_in_another_order_keep_that_order_everywhere(tmp_path, capsys):
    environments = ["prod", "dev", "test"]  # neither the default order nor alphabetical
    app = small_app(environments, tmp_path)
    app.synth()
    expected = [
        "ProdStack",
        "DevStack",
        "TestStack",
        "PipelineStack",
        "ProdStack (pipeline stage Prod)",
        "DevStack (pipeline stage Dev)",
        "TestStack (pipeline stage Test)",
    ]
    assert table_stacks(guard_summary(app), header_lines=1) == expected
    assert summary_stacks(tmp_path, capsys) == expected
