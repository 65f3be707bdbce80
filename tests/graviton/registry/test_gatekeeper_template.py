"""The registry gatekeeper in the synthesized stacks, property by property (never by generated logical IDs)."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from support import one

from graviton import AlarmTopic, ImageRepository
from graviton.arm64 import HANDLER_RUNTIME
from graviton.constants import POWERTOOLS_LAYER_PARAMETER
from graviton.registry.image_repository import UPLOAD_ACTIONS
from graviton.registry.registry_gatekeeper import HANDLER, RegistryGatekeeper
from graviton.registry.runtime.gatekeeper_contract import ENV_ACTION, ENV_TOPIC_ARN


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def function(dev) -> tuple[str, dict]:
    return one(dev, "AWS::Lambda::Function", {"Handler": HANDLER})


@pytest.fixture(scope="module")
def rule(dev, function) -> dict:
    rules = [
        r
        for r in dev.find_resources("AWS::Events::Rule").values()
        if any(t["Arn"] == {"Fn::GetAtt": [function[0], "Arn"]} for t in r["Properties"].get("Targets", []))
    ]
    assert len(rules) == 1
    return rules[0]["Properties"]


@pytest.fixture(scope="module")
def repositories(dev) -> dict[str, dict]:
    found = dev.find_resources("AWS::ECR::Repository")
    assert found, "DevStack builds: it owns repositories"
    return found


@pytest.fixture(scope="module")
def statements(dev, function) -> list[dict]:
    role = function[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = dev.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}}).values()
    return policy["Properties"]["PolicyDocument"]["Statement"]


def alarm_topic(dev) -> str:
    """The environment's AlarmTopic: the encrypted topic the function alarms notify."""
    alarms = dev.find_resources("AWS::CloudWatch::Alarm")
    topics = {action["Ref"] for alarm in alarms.values() for action in alarm["Properties"]["AlarmActions"]}
    assert len(topics) == 1
    (topic,) = topics
    assert "KmsMasterKeyId" in dev.find_resources("AWS::SNS::Topic")[topic]["Properties"]
    return topic


def test_the_rule_matches_successful_pushes_to_every_repository_of_the_environment(synthesized, rule, repositories):
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.ecr"]
    assert pattern["detail-type"] == ["ECR Image Action"]
    assert pattern["detail"]["action-type"] == ["PUSH"]
    assert pattern["detail"]["result"] == ["SUCCESS"]
    named = pattern["detail"]["repository-name"]
    assert sorted(r["Ref"] for r in named) == sorted(repositories)
    config = synthesized.config
    assert sorted(r["Properties"]["RepositoryName"] for r in repositories.values()) == sorted(
        f"{config.project}-dev-{s.name}" for s in config.services
    )
    assert rule.get("State", "ENABLED") == "ENABLED"


def test_the_target_is_our_arm64_python_function_with_the_pinned_powertools_layer(dev, function, rule):
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function[0], "Arn"]}
    props = function[1]["Properties"]
    assert props["Architectures"] == ["arm64"]
    assert props["Runtime"] == HANDLER_RUNTIME.name
    assert props["Handler"] == "gatekeeper_handler.handle"
    (parameter,) = dev.find_parameters("*", {"Default": POWERTOOLS_LAYER_PARAMETER})
    assert props["Layers"] == [{"Ref": parameter}]  # the same layer parameter as the image-build handler
    permission = one(dev, "AWS::Lambda::Permission", {"FunctionName": {"Fn::GetAtt": [function[0], "Arn"]}})[1]
    assert permission["Properties"]["Principal"] == "events.amazonaws.com"


def test_the_code_asset_holds_the_handler_and_the_modules_it_imports_at_the_top_level(synthesized, function):
    assets = json.loads((synthesized.outdir / f"{synthesized.stacks['dev'].artifact_id}.assets.json").read_text())
    paths = {
        destination["objectKey"]: asset["source"]["path"]
        for asset in assets["files"].values()
        for destination in asset["destinations"].values()
    }
    staged = synthesized.outdir / paths[function[1]["Properties"]["Code"]["S3Key"]]
    assert sorted(p.name for p in staged.iterdir()) == [
        "gatekeeper_contract.py",
        "gatekeeper_handler.py",
        "image_manifest.py",
    ]


def test_the_function_writes_its_own_log_group_with_the_environments_retention(synthesized, dev, function, statements):
    log_group = function[1]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    retention = synthesized.config.environments["dev"].log_retention_days
    assert dev.find_resources("AWS::Logs::LogGroup")[log_group]["Properties"]["RetentionInDays"] == retention
    (logs,) = [s for s in statements if "logs:PutLogEvents" in as_list(s["Action"])]
    assert logs["Resource"] == {"Fn::GetAtt": [log_group, "Arn"]}


def test_its_role_may_put_and_delete_images_on_the_projects_repositories_only(dev, function, statements, repositories):
    role = dev.find_resources("AWS::IAM::Role")[function[1]["Properties"]["Role"]["Fn::GetAtt"][0]]
    assert not role["Properties"].get("ManagedPolicyArns")
    ecr = [s for s in statements if any(a.startswith("ecr:") for a in as_list(s["Action"]))]
    granted = {a for s in ecr for a in as_list(s["Action"])}
    assert {"ecr:PutImage", "ecr:BatchDeleteImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"} <= granted
    assert not granted & set(UPLOAD_ACTIONS), "re-tagging needs no layer upload"
    for statement in ecr:
        assert statement["Effect"] == "Allow"
        assert sorted(r["Fn::GetAtt"][0] for r in as_list(statement["Resource"])) == sorted(repositories)


def test_each_repository_exempts_the_gatekeeper_from_its_put_image_deny_only(dev, function, repositories):
    gatekeeper = {"Fn::GetAtt": [function[1]["Properties"]["Role"]["Fn::GetAtt"][0], "Arn"]}
    builds = {}  # repository -> the ARN of the role of the build that pushes to it
    for project in dev.find_resources("AWS::CodeBuild::Project").values():
        variables = {
            v["Name"]: v["Value"] for v in project["Properties"]["Environment"].get("EnvironmentVariables", [])
        }
        if "IMAGE_REPOSITORY_NAME" in variables:
            builds[variables["IMAGE_REPOSITORY_NAME"]["Ref"]] = project["Properties"]["ServiceRole"]
    assert sorted(builds) == sorted(repositories)
    for logical_id, repository in repositories.items():
        statements = repository["Properties"]["RepositoryPolicyText"]["Statement"]
        denies = {tuple(sorted(as_list(s["Action"]))): s for s in statements if s["Effect"] == "Deny"}
        assert set(denies) == {("ecr:PutImage",), tuple(sorted(UPLOAD_ACTIONS))}
        exempt = {key: d["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] for key, d in denies.items()}
        assert exempt[("ecr:PutImage",)] == [builds[logical_id], gatekeeper]
        assert exempt[tuple(sorted(UPLOAD_ACTIONS))] == [builds[logical_id]]  # never a layer upload


def test_reports_and_failed_invocations_go_to_the_environments_alarm_topic(dev, function, statements):
    topic = alarm_topic(dev)
    assert function[1]["Properties"]["Environment"]["Variables"][ENV_TOPIC_ARN] == {"Ref": topic}
    (publish,) = [s for s in statements if "sns:Publish" in as_list(s["Action"])]
    assert publish["Resource"] == {"Ref": topic}
    (invoke_config,) = dev.find_resources(
        "AWS::Lambda::EventInvokeConfig", {"Properties": {"FunctionName": {"Ref": function[0]}}}
    ).values()
    assert invoke_config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {"Ref": topic}


def test_the_configured_action_reaches_the_function(synthesized, function):
    config = synthesized.config
    assert function[1]["Properties"]["Environment"]["Variables"][ENV_ACTION] == config.gatekeeper_action


def test_every_image_build_waits_for_the_rule_the_function_and_the_rules_permission_to_invoke_it(
    synthesized, dev, function
):
    """Otherwise a fresh stack's first pushes could happen before anything checks them."""
    (rule,) = [
        name
        for name, r in dev.find_resources("AWS::Events::Rule").items()
        if any(t["Arn"] == {"Fn::GetAtt": [function[0], "Arn"]} for t in r["Properties"].get("Targets", []))
    ]
    (permission,) = dev.find_resources(
        "AWS::Lambda::Permission",
        {
            "Properties": {
                "FunctionName": {"Fn::GetAtt": [function[0], "Arn"]},
                "SourceArn": {"Fn::GetAtt": [rule, "Arn"]},
            }
        },
    )
    builds = dev.find_resources("Custom::ArmImageBuild")
    services = synthesized.config.services
    assert len(builds) == len(services)
    for build in builds.values():
        assert {rule, function[0], permission} <= set(build["DependsOn"])


def test_environments_that_run_promoted_images_own_no_repository_and_have_no_gatekeeper(synthesized):
    for environment in ("test", "prod"):
        template = synthesized.template(environment)
        template.resource_count_is("AWS::ECR::Repository", 0)
        assert template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": HANDLER}}) == {}


def small_stack() -> tuple[cdk.Stack, ImageRepository]:
    stack = cdk.Stack(cdk.App(), "S")
    repository = ImageRepository(stack, "Repo", repository_name="shop-dev-api")
    repository.allow_push_from(iam.Role(stack, "Build", assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com")))
    return stack, repository


def test_delete_mode_reaches_the_function_and_a_plain_topic_is_accepted():
    stack, repository = small_stack()
    topic = sns.Topic(stack, "Topic")
    RegistryGatekeeper(stack, "Gatekeeper", repositories=[repository], topic=topic, action="delete")
    template = Template.from_stack(stack)
    (function,) = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": HANDLER}}).values()
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables[ENV_ACTION] == "delete"
    assert variables[ENV_TOPIC_ARN] == {"Ref": stack.get_logical_id(topic.node.default_child)}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "ignore"}, "action must be one of quarantine, delete, not 'ignore'"),
        ({"repositories": []}, "at least one repository"),
    ],
)
def test_bad_arguments_are_refused_at_synth(kwargs, message):
    stack, repository = small_stack()
    arguments = {"repositories": [repository], "topic": AlarmTopic(stack, "Alarms"), **kwargs}
    with pytest.raises(ValueError, match=message):
        RegistryGatekeeper(stack, "Gatekeeper", **arguments)
