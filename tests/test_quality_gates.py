"""cdk-nag and cfn-lint on every synthesized template."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from aws_cdk import Stack, Validations
from aws_cdk import aws_s3 as s3
from support import ROOT, repo_context

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


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_cfn_lint_reports_no_errors(synthesized, environment):
    import cfnlint.api  # here, not at the top: only the worker that runs cfn-lint loads it (~1 s)

    region = synthesized.stacks[environment].region
    regions = [region] if not region.startswith("${") else ["us-east-1"]
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
        for m in cfnlint.api.lint(json.dumps(template), regions=regions)
        if m.rule.id.startswith("E")
    ]
    assert errors == []
