"""PipelineStack's template: V2 with a push trigger, ARM CodeBuild only, dev -> test -> approval -> prod, each
verified after its deploy, failures to an encrypted topic; the guard and cdk-nag clean on it and its stages."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import Stack, Validations, pipelines
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk.assertions import Match, Template
from pipeline_support import buildspec, project_of, provider, stage, verify_action, verify_reads_of
from support import PIPELINE_SETTINGS, ROOT, repo_context

from graviton.guardrails.guard import guard_report
from graviton.pipeline.push_trigger import add_push_trigger
from graviton.pipeline.verify_step import VerifyReads, verify_step
from graviton_app.config import load_config
from graviton_app.naming import stack_name
from stacks.environment_stack import EnvironmentOutputs
from stacks.pipeline_stack import VERIFY_COMMAND, _endpoints_only_step

# The module the verify steps run, from the source checkout.
VERIFY_MODULE = ROOT / "constructs" / "graviton_commands" / "verify" / "__main__.py"

ARM_IMAGE = "aws/codebuild/amazonlinux-aarch64-standard:3.0"
ENVIRONMENT_STAGES = {"Dev": "dev", "Test": "test", "Prod": "prod"}


@pytest.fixture(scope="module")
def pipeline_stack(pipeline_synth):
    return pipeline_synth.app.node.find_child("PipelineStack")


@pytest.fixture(scope="module")
def template_json(pipeline_synth, pipeline_stack) -> dict:
    return pipeline_synth.stack_template(pipeline_stack)


@pytest.fixture(scope="module")
def template(template_json) -> Template:
    return Template.from_json(template_json)


@pytest.fixture(scope="module")
def pipeline(template) -> dict:
    found = template.find_resources("AWS::CodePipeline::Pipeline")
    assert len(found) == 1
    return next(iter(found.values()))["Properties"]


def test_the_pipeline_is_a_v2_pipeline(template):
    template.has_resource_properties("AWS::CodePipeline::Pipeline", {"PipelineType": "V2"})


def test_the_source_is_the_connection_and_only_the_trigger_starts_runs(pipeline):
    (source,) = stage(pipeline, "Source")
    assert provider(source) == "CodeStarSourceConnection"
    assert source["Configuration"] == {
        "ConnectionArn": PIPELINE_SETTINGS["pipeline_connection_arn"],
        "FullRepositoryId": PIPELINE_SETTINGS["pipeline_repository"],
        "BranchName": PIPELINE_SETTINGS["pipeline_branch"],
        "DetectChanges": False,
    }


def test_pushes_to_the_branch_that_touch_the_file_paths_start_a_run(pipeline):
    (source,) = stage(pipeline, "Source")
    assert pipeline["Triggers"] == [
        {
            "ProviderType": "CodeStarSourceConnection",
            "GitConfiguration": {
                "SourceActionName": source["Name"],
                "Push": [
                    {
                        "Branches": {"Includes": [PIPELINE_SETTINGS["pipeline_branch"]]},
                        "FilePaths": {"Includes": PIPELINE_SETTINGS["pipeline_file_paths"]},
                    }
                ],
            },
        }
    ]


def test_without_file_paths_any_push_to_the_branch_starts_a_run():
    stack = Stack(cdk.App(), "Bare")
    source_output = codepipeline.Artifact()
    source = actions.CodeStarConnectionsSourceAction(
        action_name="Checkout",
        owner="acme",
        repo="app",
        branch="main",
        connection_arn=PIPELINE_SETTINGS["pipeline_connection_arn"],
        output=source_output,
        trigger_on_push=False,
    )
    pipeline = codepipeline.Pipeline(
        stack,
        "Pipeline",
        pipeline_type=codepipeline.PipelineType.V2,
        stages=[
            codepipeline.StageProps(stage_name="Source", actions=[source]),
            codepipeline.StageProps(stage_name="Approve", actions=[actions.ManualApprovalAction(action_name="Ok")]),
        ],
    )
    add_push_trigger(pipeline, branch="main", file_paths=[])
    Template.from_stack(stack).has_resource_properties(
        "AWS::CodePipeline::Pipeline",
        {
            "Triggers": [
                {
                    "ProviderType": "CodeStarSourceConnection",
                    "GitConfiguration": {
                        "SourceActionName": "Checkout",
                        "Push": [{"Branches": {"Includes": ["main"]}}],
                    },
                }
            ]
        },
    )


def test_every_codebuild_project_runs_on_graviton(template):
    projects = template.find_resources("AWS::CodeBuild::Project")
    # synth, self-mutation, at least one asset publisher, one verification per environment
    assert len(projects) >= 6
    for project in projects.values():
        environment = project["Properties"]["Environment"]
        assert (environment["Type"], environment["Image"]) == ("ARM_CONTAINER", ARM_IMAGE)


def test_stages_run_source_build_update_assets_then_dev_test_prod(pipeline):
    assert [s["Name"] for s in pipeline["Stages"]] == [
        "Source",
        "Build",
        "UpdatePipeline",
        "Assets",
        "Dev",
        "Test",
        "Prod",
    ]


def test_assets_publish_in_one_project_per_asset_type_however_many_assets(pipeline_synth, pipeline):
    """One CodeBuild project per asset would put hundreds in the pipeline's stack once every service has its build
    context (and its nested template) as an asset in every environment."""
    assets = stage(pipeline, "Assets")
    assert len(assets) <= 2  # files, container images
    file_assets = {
        key
        for manifest in pipeline_synth.outdir.rglob("*.assets.json")
        for key in json.loads(manifest.read_text()).get("files", {})
    }
    assert len(file_assets) > 2


def test_the_stages_deploy_the_stacks_cdk_deploy_deploys(pipeline):
    for stage_name, environment in ENVIRONMENT_STAGES.items():
        deploys = [a for a in stage(pipeline, stage_name) if provider(a) == "CloudFormation"]
        assert {a["Configuration"]["StackName"] for a in deploys} == {stack_name(environment)}


def test_prod_waits_for_a_manual_approval_before_its_deploy(pipeline):
    for stage_name in ("Dev", "Test"):
        assert not [a for a in stage(pipeline, stage_name) if provider(a) == "Manual"]
    prod = stage(pipeline, "Prod")
    (approval,) = [a for a in prod if provider(a) == "Manual"]
    deploys = [a for a in prod if provider(a) == "CloudFormation"]
    assert deploys
    assert approval["RunOrder"] < min(a["RunOrder"] for a in deploys)


def pinned(package: str) -> str:
    [pin] = [
        line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith(f"{package}==")
    ]
    return pin


@pytest.mark.parametrize("stage_name", ENVIRONMENT_STAGES)
def test_each_environment_is_verified_on_arm_after_its_deploy(pipeline, template_json, stage_name):
    environment = ENVIRONMENT_STAGES[stage_name]
    (source,) = stage(pipeline, "Source")
    actions_ = stage(pipeline, stage_name)
    deploys = [a for a in actions_ if provider(a) == "CloudFormation"]
    verify = verify_action(pipeline, stage_name)
    assert verify["RunOrder"] > max(a["RunOrder"] for a in deploys)
    # runs from the source checkout, where the command is
    assert verify["InputArtifacts"] == source["OutputArtifacts"]
    assert VERIFY_MODULE.is_file()
    project = project_of(template_json, verify)
    assert project["Environment"]["Type"] == "ARM_CONTAINER"
    spec = buildspec(project)
    # in the pipeline's account: every check, with the requirements.txt pins; verify reads the outputs itself
    assert spec["phases"]["install"]["commands"] == [
        f"python3 -m pip install --quiet {pinned('boto3')} {pinned('pydantic')}"
    ]
    assert spec["phases"]["build"]["commands"] == [f"{VERIFY_COMMAND} --env {environment}"]
    assert "EnvironmentVariables" not in verify["Configuration"]


@pytest.mark.parametrize("stage_name", ENVIRONMENT_STAGES)
def test_the_verify_step_may_read_its_environment_and_the_images_it_runs_only(
    pipeline, template_json, pipeline_synth, stage_name
):
    environment = ENVIRONMENT_STAGES[stage_name]
    name = stack_name(environment)

    def arn(service: str, resource: str) -> str:
        return f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"

    reads = verify_reads_of(template_json, project_of(template_json, verify_action(pipeline, stage_name)))
    # dev builds; test and prod run dev's images, so they read dev's repositories, exactly those DevStack's service
    # stacks create
    repositories = sorted(
        arn("ecr", f"repository/{r['Properties']['RepositoryName']}")
        for service in pipeline_synth.services("dev")
        for r in service.template.find_resources("AWS::ECR::Repository").values()
    )
    assert len(repositories) == len(pipeline_synth.config.services)
    stack, stacks = arn("cloudformation", f"stack/{name}/*"), arn("cloudformation", f"stack/{name}-*/*")
    assert reads == {
        # the stack and its nested stacks (named `<stack>-<logical id>-<id>`), sorted
        "cloudformation:DescribeStacks": [stacks, stack],
        "cloudformation:ListStackResources": [stacks, stack],
        "lambda:GetFunction": [arn("lambda", f"function:{name}-*")],
        "codebuild:BatchGetProjects": [arn("codebuild", "project/*")],
        "ecr:DescribeImages": repositories,
        "ecr:BatchGetImage": repositories,
        "ecr:GetDownloadUrlForLayer": repositories,
        "ecs:DescribeTaskDefinition": ["*"],
        "ec2:DescribeInstances": ["*"],
    }


def test_every_action_the_verify_steps_get_only_reads(pipeline, template_json):
    for stage_name in ENVIRONMENT_STAGES:
        reads = verify_reads_of(template_json, project_of(template_json, verify_action(pipeline, stage_name)))
        verbs = {action.split(":")[1] for action in reads}
        assert all(verb.startswith(("Describe", "List", "Get", "BatchGet")) for verb in verbs), verbs


def test_the_verify_steps_reads_are_acknowledged_one_finding_at_a_time_on_their_own_policy(pipeline_stack):
    for environment, step in pipeline_stack.verify_steps.items():
        policy = step.project.role.node.find_child("DefaultPolicy")
        acknowledged = {
            rule_id
            for entry in policy.node.metadata
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
            for rule_id in entry.data
        }
        name = stack_name(environment)
        at = "<AWS::Partition>:{}:<AWS::Region>:<AWS::AccountId>"
        assert {
            f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:{at.format('cloudformation')}:stack/{name}/*]",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:{at.format('cloudformation')}:stack/{name}-*/*]",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:{at.format('lambda')}:function:{name}-*]",
            f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:{at.format('codebuild')}:project/*]",
            "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
        } <= acknowledged


def test_a_stage_without_endpoints_is_still_verified_in_aws_but_not_by_urls_alone():
    source = pipelines.CodePipelineSource.connection(
        "acme/app", "main", connection_arn=PIPELINE_SETTINGS["pipeline_connection_arn"]
    )
    reads = VerifyReads(statements=(), findings={})
    step = verify_step(source=source, reads=reads, commands=[f"{VERIFY_COMMAND} --env dev"])
    assert step.commands == [f"{VERIFY_COMMAND} --env dev"]
    context = repo_context()
    for service in context["services"]:
        service["targets"] = ["eks"]  # no HTTP target: no endpoint, no base URL output
    config = load_config(context, root=ROOT)
    assert config.endpoints("prod") == []
    assert _endpoints_only_step(source, config, "prod", EnvironmentOutputs()) is None


def test_there_is_no_confirm_permissions_broadening(pipeline, pipeline_stack):
    for stage_name in ENVIRONMENT_STAGES:
        assert {provider(a) for a in stage(pipeline, stage_name)} <= {"Manual", "CloudFormation", "CodeBuild"}
        assert len([a for a in stage(pipeline, stage_name) if provider(a) == "CodeBuild"]) == 1
    paths = [node.node.path for node in pipeline_stack.node.find_all()]
    assert not [p for p in paths if "ConfirmPermissionsBroadening" in p or "SecurityCheck" in p]


def test_the_synth_runs_make_synth_on_pinned_runtimes(pipeline, template_json):
    (synth,) = stage(pipeline, "Build")
    spec = buildspec(project_of(template_json, synth))
    assert spec["phases"]["build"]["commands"] == ["make synth"]
    assert spec["phases"]["install"]["runtime-versions"] == {"python": "3.12", "nodejs": "22"}
    assert spec["artifacts"]["base-directory"] == "cdk.out"


def test_self_mutation_uses_the_cdk_cli_package_json_pins(pipeline, template_json):
    cli = json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    (update,) = stage(pipeline, "UpdatePipeline")
    spec = buildspec(project_of(template_json, update))
    assert f"npm install -g aws-cdk@{cli}" in spec["phases"]["install"]["commands"]


def test_failures_notify_an_encrypted_topic_codestar_notifications_may_use(template, template_json, pipeline):
    topics = template.find_resources("AWS::SNS::Topic")
    (topic_id,) = topics
    (key_id,) = [k for k, v in template.find_resources("AWS::KMS::Key").items() if v["Properties"]["EnableKeyRotation"]]
    assert topics[topic_id]["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    (pipeline_id,) = template.find_resources("AWS::CodePipeline::Pipeline")
    rules = template.find_resources("AWS::CodeStarNotifications::NotificationRule")
    (rule,) = rules.values()
    assert {"Ref": pipeline_id} in rule["Properties"]["Resource"]["Fn::Join"][1]
    assert rule["Properties"]["Targets"] == [{"TargetType": "SNS", "TargetAddress": {"Ref": topic_id}}]
    assert set(rule["Properties"]["EventTypeIds"]) >= {
        "codepipeline-pipeline-pipeline-execution-failed",
        "codepipeline-pipeline-action-execution-failed",
        "codepipeline-pipeline-manual-approval-needed",
    }
    (policy_id,) = template.find_resources("AWS::SNS::TopicPolicy", {"Properties": {"Topics": [{"Ref": topic_id}]}})
    assert policy_id in rule["DependsOn"]
    codestar = {"Service": "codestar-notifications.amazonaws.com"}
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Allow", "Principal": codestar, "Action": "sns:Publish"})]
                )
            }
        },
    )
    key_statements = template_json["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    assert any(
        s["Principal"] == codestar and set(s["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
        for s in key_statements
    )


def test_the_stack_outputs_the_pipeline_name_and_the_failure_topic(template):
    (pipeline_id,) = template.find_resources("AWS::CodePipeline::Pipeline")
    (topic_id,) = template.find_resources("AWS::SNS::Topic")
    template.has_output("PipelineName", {"Value": {"Ref": pipeline_id}})
    template.has_output("FailureTopicArn", {"Value": {"Ref": topic_id}})


def test_a_single_account_pipeline_has_no_cross_account_key(template):
    # the notification topic's key only
    assert len(template.find_resources("AWS::KMS::Key")) == 1


def test_the_guard_checked_pipeline_stack_and_every_stage_without_violations(pipeline_synth, pipeline_stack, template):
    decisions = guard_report(pipeline_synth.app)
    stage_stacks = {stage.stack.artifact_id for stage in pipeline_stack.stages.values()}
    assert len(stage_stacks) == 3
    assert stage_stacks | {"PipelineStack"} <= {d.stack for d in decisions}
    assert [d.line() for d in decisions if not d.compliant] == []
    checked_builds = [d for d in decisions if d.stack == "PipelineStack" and d.rule == "GG-CODEBUILD"]
    assert len(checked_builds) == len(template.find_resources("AWS::CodeBuild::Project"))


def test_cdk_nag_finds_nothing_unacknowledged(pipeline_synth):
    report = pipeline_synth.outdir / "validation-report.json"
    assert pipeline_synth.error is None, report.read_text() if report.exists() else ""


def test_pipeline_acknowledgements_are_specific_and_never_on_a_stack(pipeline_stack):
    found = [
        (node, rule_id, reason)
        for node in pipeline_stack.node.find_all()
        for entry in node.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule_id, reason in entry.data.items()
    ]
    assert found
    for node, rule_id, reason in found:
        if rule_id.startswith("AwsSolutions::"):
            assert not isinstance(node, Stack), f"blanket acknowledgement {rule_id} on {node.node.path}"
            assert len(reason) >= 20, rule_id
            if "IAM5" in rule_id:
                assert "[" in rule_id, f"{rule_id} must name one finding"


def test_compose_still_returns_the_environment_stacks(pipeline_synth):
    assert {s.stack_name for s in pipeline_synth.stacks.values()} == {"DevStack", "TestStack", "ProdStack"}


def test_the_source_action_may_use_the_connection_under_both_service_prefixes(template, pipeline, template_json):
    (source,) = stage(pipeline, "Source")
    role_id = source["RoleArn"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Resource"] == PIPELINE_SETTINGS["pipeline_connection_arn"]
    ]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {"codestar-connections:UseConnection", "codeconnections:UseConnection"} <= actions
