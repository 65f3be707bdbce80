"""A pipeline whose prod is in another account: verified there by its endpoints only, a rotated artifact key, and
V2 without CDK's default flag. Its own synth, apart from the shared ones, so it runs beside them on another worker."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template
from pipeline_support import V2_FLAG, buildspec, project_of, stage, verify_action, verify_reads_of
from support import pipeline_context, synthesize

from graviton.guardrails.guard import guard_report
from graviton_app import naming
from stacks.pipeline_stack import VERIFY_COMMAND


@pytest.fixture(scope="module")
def cross_account(tmp_path_factory):
    """Prod in another account; and CDK's V2-by-default flag off, so only PipelineStack's own setting makes V2."""
    context = pipeline_context(**{V2_FLAG: False})
    environments = json.loads(json.dumps(context["environments"]))
    for name, account in (("dev", "111111111111"), ("test", "111111111111"), ("prod", "222222222222")):
        environments[name].update(account=account, region="eu-west-1")
    outdir = tmp_path_factory.mktemp("cross-account.out")
    synthesized = synthesize({**context, "environments": environments}, outdir)
    report = outdir / "validation-report.json"
    assert synthesized.error is None, report.read_text() if report.exists() else ""
    stack = synthesized.app.node.find_child("PipelineStack")
    return synthesized, stack, Template.from_json(synthesized.stack_template(stack))


def test_the_pipeline_is_v2_without_cdks_default_flag(cross_account):
    _, _, template = cross_account
    template.has_resource_properties("AWS::CodePipeline::Pipeline", {"PipelineType": "V2"})


def test_an_environment_in_another_account_is_verified_by_its_endpoints_only(cross_account):
    synthesized, stack, template = cross_account
    template_json = synthesized.stack_template(stack)
    pipeline = next(iter(template.find_resources("AWS::CodePipeline::Pipeline").values()))["Properties"]
    # prod (222222222222): the pipeline's role cannot read that account, so GET /arch only, without boto3
    prod = verify_action(pipeline, "Prod")
    project = project_of(template_json, prod)
    spec = buildspec(project)
    config = synthesized.config
    # Each service's path after its target's base URL, read from the two base URL outputs.
    urls = " ".join(
        f'--url "{s.name}/{target}=${{{target.upper()}_BASE_URL}}{s.route_path}"'
        for s in config.services
        for target in s.targets
        if target in naming.ENDPOINT_TARGETS
    )
    assert "lambda" in urls and "ecs" in urls
    assert spec["phases"]["build"]["commands"] == [f"{VERIFY_COMMAND} --env prod --no-aws {urls}"]
    assert "commands" not in spec["phases"].get("install", {})
    namespace = next(a["Namespace"] for a in stage(pipeline, "Prod") if a.get("Namespace"))
    variables = json.loads(prod["Configuration"]["EnvironmentVariables"])
    assert {(v["name"], v["value"]) for v in variables} == {
        ("LAMBDA_BASE_URL", f"#{{{namespace}.LambdaBaseUrl}}"),
        ("ECS_BASE_URL", f"#{{{namespace}.EcsBaseUrl}}"),
    }
    assert verify_reads_of(template_json, project) == {}
    # dev and test (111111111111, the pipeline's): every check, on their pinned account and region
    for stage_name, name in (("Dev", "DevStack"), ("Test", "TestStack")):
        reads = verify_reads_of(template_json, project_of(template_json, verify_action(pipeline, stage_name)))
        assert reads["cloudformation:DescribeStacks"] == [  # the stack and its nested stacks, sorted
            f"arn:aws:cloudformation:eu-west-1:111111111111:stack/{name}-*/*",
            f"arn:aws:cloudformation:eu-west-1:111111111111:stack/{name}/*",
        ]
        assert reads["ecr:BatchGetImage"] == sorted(
            f"arn:aws:ecr:eu-west-1:111111111111:repository/{naming.repository_name(config.project, 'dev', s.name)}"
            for s in config.services
        )


def test_environments_in_other_accounts_get_a_rotated_artifact_key(cross_account):
    synthesized, stack, template = cross_account
    assert (stack.account, stack.region) == ("111111111111", "eu-west-1")  # dev's: no pipeline_account given
    keys = template.find_resources("AWS::KMS::Key", {"Properties": {"EnableKeyRotation": True}})
    assert len(keys) == 2  # the artifact bucket's and the notification topic's
    assert not [d for d in guard_report(synthesized.app) if not d.compliant]
