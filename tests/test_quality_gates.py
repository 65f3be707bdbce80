"""cdk-nag and cfn-lint on every synthesized template."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from aws_cdk import App, Aws, Stack, Validations
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from support import ROOT, repo_context

from graviton.cfn_lint import METADATA_KEY, skip_cfn_lint_rule

ENVIRONMENTS = ("dev", "test", "prod")


def test_cdk_nag_finds_nothing_unacknowledged(synthesized):
    report = synthesized.outdir / "validation-report.json"
    details = report.read_text() if report.exists() else ""
    assert synthesized.error is None, details


# A schema error CDK's built-in CloudFormation validation reports (as "CloudFormation Validate") in a default App.
SCHEMA_ERROR_APP = """
import json, sys
from pathlib import Path
import aws_cdk as cdk
import app as cdk_app
app = cdk_app.new_app({}, outdir=sys.argv[1])
cdk.CfnResource(cdk.Stack(app, "S"), "Bad", type="AWS::SQS::Queue", properties={"DelaySeconds": "soon"})
app.synth()
report = Path(sys.argv[1], "validation-report.json")
print(json.dumps([p["pluginName"] for p in json.loads(report.read_text())["pluginReports"]] if report.exists() else []))
"""


def test_the_app_leaves_template_validation_to_cfn_lint(tmp_path):
    """CDK's built-in CloudFormation validation is off in the app: cfn-lint checks the same schemas below. In a
    process of its own, as a user runs it: the tests' Node process runs without that validation altogether."""
    env = {k: v for k, v in os.environ.items() if k != "CDK_VALIDATION"}
    result = subprocess.run(
        [sys.executable, "-c", SCHEMA_ERROR_APP, str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "CloudFormation Validate" not in json.loads(result.stdout)


def test_cdk_nag_would_fail_synth_on_a_finding(tmp_path):

    import app as cdk_app

    app = cdk_app.new_app(repo_context(), outdir=str(tmp_path))
    stacks = cdk_app.compose(app, cdk_app.settings(app.node.get_all_context(), root=ROOT))
    s3.Bucket(stacks["dev"], "UnloggedBucket")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    assert "AwsSolutions-S1" in (tmp_path / "validation-report.json").read_text()


def acknowledgements(construct) -> list[tuple[object, str, str]]:
    found = []
    for node in construct.node.find_all():
        for entry in node.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                found.extend((node, rule_id, reason) for rule_id, reason in entry.data.items())
    return found


def test_acknowledgements_are_specific_never_blanket_on_a_stack(synthesized):
    found = acknowledgements(synthesized.app)
    assert found, "the app acknowledges CDK's CodeBuild wildcards explicitly"
    for node, rule_id, reason in found:
        if not rule_id.startswith("AwsSolutions::"):
            continue  # CDK's own (the VPC acknowledges CloudFormation-Validate::W3010 on its stack)
        assert not isinstance(node, Stack), f"blanket acknowledgement {rule_id} on stack {node.node.path}"
        assert len(reason) >= 20, f"{rule_id} needs a specific reason"
        if "IAM5" in rule_id:
            assert "[" in rule_id, f"{rule_id} must name one finding"


def lint_regions(stack: Stack) -> list[str]:
    """The stack's region, us-east-1 for an environment-agnostic stack."""
    return [stack.region] if not stack.region.startswith("${") else ["us-east-1"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_cfn_lint_reports_no_errors(synthesized, environment):
    import cfnlint.api  # here, not at the top: only the worker that runs cfn-lint loads it (~1 s)

    # The stack's own template (where a dependency cycle through a nested stack would show, E3004) and every
    # service's nested stack.
    templates = {
        synthesized.stacks[environment].stack_name: synthesized.template_dict(environment),
        **{s.resource[0]: s.document for s in synthesized.services(environment)},
    }
    assert len(templates) == 1 + len(synthesized.config.services)
    errors = [
        f"{name}: {m}"
        for name, template in templates.items()
        for m in cfnlint.api.lint(json.dumps(template), regions=lint_regions(synthesized.stacks[environment]))
        if m.rule.id.startswith("E")
    ]
    assert errors == []


def test_cfn_lint_reports_no_errors_in_the_pipeline(pipeline_synth):
    """PipelineStack, CDK Pipelines' own resources included (its stages' stacks are the environments' stacks above,
    composed in a stage)."""
    import cfnlint.api

    stack = pipeline_synth.app.node.find_child("PipelineStack")
    template = pipeline_synth.stack_template(stack)
    matches = cfnlint.api.lint(json.dumps(template), regions=lint_regions(stack))
    assert [
        f"{m.rule.id} {'/'.join(map(str, m.path))}: {m.message}" for m in matches if m.rule.id.startswith("E")
    ] == []


# The cfn-lint rules skipped, each on the resources of one type only: adding one is a decision made here too.
DECIDED_CFN_LINT_EXCEPTIONS = {("AWS::CodePipeline::Pipeline", "E3703")}


def test_cfn_lint_skips_only_the_decided_rules_each_on_its_resources_with_its_reason(pipeline_synth):
    from graviton.pipeline.pipeline_findings import CFN_LINT_EXCEPTIONS

    skipped = set()
    for path in pipeline_synth.outdir.rglob("*.template.json"):  # every stack and nested stack, the stages' too
        template = json.loads(path.read_text())
        assert METADATA_KEY not in template.get("Metadata", {}), f"{path.name}: cfn-lint configured template-wide"
        for resource in template.get("Resources", {}).values():
            lint = resource.get("Metadata", {}).get(METADATA_KEY)
            if lint is None:
                continue
            assert set(lint["config"]) == {"ignore_checks"}, f"{path.name}: {lint['config']}"
            for rule in lint["config"]["ignore_checks"]:
                skipped.add((resource["Type"], rule))
                assert lint["reasons"][rule] == CFN_LINT_EXCEPTIONS[resource["Type"]][rule]
    assert skipped == DECIDED_CFN_LINT_EXCEPTIONS


def _pipeline_deploying_with_a_joined_role(stack: Stack, id: str) -> codepipeline.CfnPipeline:
    """A pipeline with a CloudFormation deploy action whose RoleArn is an Fn::Join, as CDK Pipelines writes it."""
    return codepipeline.CfnPipeline(
        stack,
        id,
        role_arn="arn:aws:iam::123456789012:role/pipeline",
        artifact_store=codepipeline.CfnPipeline.ArtifactStoreProperty(type="S3", location="artifacts"),
        stages=[
            codepipeline.CfnPipeline.StageDeclarationProperty(
                name="Source",
                actions=[
                    codepipeline.CfnPipeline.ActionDeclarationProperty(
                        name="Source",
                        action_type_id=codepipeline.CfnPipeline.ActionTypeIdProperty(
                            category="Source", owner="AWS", provider="S3", version="1"
                        ),
                        configuration={"S3Bucket": "sources", "S3ObjectKey": "source.zip"},
                        output_artifacts=[codepipeline.CfnPipeline.OutputArtifactProperty(name="Source")],
                    )
                ],
            ),
            codepipeline.CfnPipeline.StageDeclarationProperty(
                name="Deploy",
                actions=[
                    codepipeline.CfnPipeline.ActionDeclarationProperty(
                        name="Deploy",
                        action_type_id=codepipeline.CfnPipeline.ActionTypeIdProperty(
                            category="Deploy", owner="AWS", provider="CloudFormation", version="1"
                        ),
                        configuration={
                            "ActionMode": "CREATE_UPDATE",
                            "StackName": "Deployed",
                            "TemplatePath": "Source::template.json",
                            "RoleArn": f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/deploy",
                        },
                        input_artifacts=[codepipeline.CfnPipeline.InputArtifactProperty(name="Source")],
                    )
                ],
            ),
        ],
    )


def test_a_skipped_cfn_lint_rule_holds_for_its_own_resource_only():
    """Two pipelines with the same finding: the one the rule is skipped on is clean, the other is still reported (so
    the exception is also still needed with the pinned cfn-lint)."""
    import cfnlint.api

    stack = Stack(App(), "Pipelines")
    skipped = _pipeline_deploying_with_a_joined_role(stack, "Skipped")
    other = _pipeline_deploying_with_a_joined_role(stack, "Other")
    skip_cfn_lint_rule(skipped, "E3703", "the reason")
    matches = cfnlint.api.lint(json.dumps(Template.from_stack(stack).to_json()), regions=["us-east-1"])
    assert {(m.path[1], m.rule.id) for m in matches} == {(stack.resolve(other.logical_id), "E3703")}


def test_skipping_a_second_cfn_lint_rule_keeps_the_first():
    stack = Stack(App(), "Bucket")
    bucket = s3.CfnBucket(stack, "Bucket")
    skip_cfn_lint_rule(bucket, "W3045", "first reason")
    skip_cfn_lint_rule(bucket, "E3001", "second reason")
    Template.from_stack(stack).has_resource(
        "AWS::S3::Bucket",
        {
            "Metadata": {
                METADATA_KEY: {
                    "config": {"ignore_checks": ["W3045", "E3001"]},
                    "reasons": {"W3045": "first reason", "E3001": "second reason"},
                }
            }
        },
    )
