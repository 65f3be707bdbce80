"""The registry gatekeeper in the synthesized stacks, property by property (never by generated logical IDs).

The gatekeeper is DevStack's; each service's repository is in the service's nested stack. The gatekeeper guards them
by their names' prefix, and each repository's policy exempts its role, which reaches the nested stack as a
parameter."""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from support import ROOT, ServiceStackTemplates, arn_text, one, referenced_ids

from graviton import AlarmTopic, ArmImageBuild, ImageRepository
from graviton.arm64 import HANDLER_RUNTIME
from graviton.constants import POWERTOOLS_LAYER_PARAMETER
from graviton.registry.image_repository import RETAG_ACTIONS, UPLOAD_ACTIONS
from graviton.registry.registry_gatekeeper import ARCHIVE_ACTIONS, HANDLER, READ_CONFIG_ACTIONS, RegistryGatekeeper
from graviton.registry.runtime.gatekeeper_contract import ENV_ACTION, ENV_TOPIC_ARN
from graviton_app import naming


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


@dataclass(frozen=True)
class GuardedRepository:
    """A service's repository in its nested stack: the nested stack with DevStack, and the repository's logical id
    and definition there."""

    stacks: ServiceStackTemplates
    id: str
    definition: dict

    @property
    def name(self) -> str:
        return self.definition["Properties"]["RepositoryName"]


@pytest.fixture(scope="module")
def repositories(synthesized) -> list[GuardedRepository]:
    """Every repository of DevStack's services, one per service."""
    found = []
    for stacks in synthesized.services("dev"):
        ((repository, definition),) = stacks.template.find_resources("AWS::ECR::Repository").items()
        found.append(GuardedRepository(stacks, repository, definition))
    assert found, "DevStack builds: its services own repositories"
    return found


def repository_pattern(statement: dict) -> str:
    """The name pattern of an ECR statement's one resource, in DevStack's own account and region."""
    text = arn_text(statement["Resource"])
    arn_prefix = "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/"
    assert text.startswith(arn_prefix), text
    return text.removeprefix(arn_prefix)


@pytest.fixture(scope="module")
def statements(dev, function) -> list[dict]:
    role = function[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = dev.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}}).values()
    return policy["Properties"]["PolicyDocument"]["Statement"]


def alarm_topic(synthesized, dev) -> str:
    """The environment's AlarmTopic: the encrypted topic the function alarms (in the services' nested stacks)
    notify."""
    topics = {
        stacks.parent_id(action)
        for stacks in synthesized.services("dev")
        for alarm in stacks.template.find_resources("AWS::CloudWatch::Alarm").values()
        for action in alarm["Properties"]["AlarmActions"]
    }
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
    # One prefix match for the repositories in the nested stacks: the rule names none of them.
    (matcher,) = pattern["detail"]["repository-name"]
    assert set(matcher) == {"prefix"}
    prefix = matcher["prefix"]
    config = synthesized.config
    assert sorted(r.name for r in repositories) == sorted(f"{config.project}-dev-{s.name}" for s in config.services)
    assert all(r.name.startswith(prefix) for r in repositories)
    # ... and nothing broader: no other environment's repository.
    assert prefix == naming.name_prefix(config.project, "dev")
    for other in set(config.environments) - {"dev"}:
        assert not [
            s for s in config.services if naming.repository_name(config.project, other, s.name).startswith(prefix)
        ]
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


def test_its_role_may_put_and_delete_images_on_the_projects_repositories_only(
    synthesized, dev, function, statements, repositories
):
    role = dev.find_resources("AWS::IAM::Role")[function[1]["Properties"]["Role"]["Fn::GetAtt"][0]]
    assert not role["Properties"].get("ManagedPolicyArns")
    ecr = [s for s in statements if any(a.startswith("ecr:") for a in as_list(s["Action"]))]
    granted = {a for s in ecr for a in as_list(s["Action"])}
    assert {"ecr:PutImage", "ecr:BatchDeleteImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"} <= granted
    assert not granted & set(UPLOAD_ACTIONS), "re-tagging needs no layer upload"
    # The repositories are in nested stacks, which wait for the role: one grant by their names' pattern, naming no
    # nested resource, covering every repository of the environment and no other environment's.
    config = synthesized.config
    for statement in ecr:
        assert statement["Effect"] == "Allow"
        pattern = repository_pattern(statement)
        assert pattern == f"{naming.name_prefix(config.project, 'dev')}*"
        assert all(fnmatch.fnmatchcase(r.name, pattern) for r in repositories)
        others = [
            naming.repository_name(config.project, other, service.name)
            for other in set(config.environments) - {"dev"}
            for service in config.services
        ]
        assert not [name for name in others if fnmatch.fnmatchcase(name, pattern)]
    resources = dev.to_json()["Resources"]
    named = referenced_ids(statements)
    assert named <= set(resources)
    assert not [i for i in named if resources[i]["Type"] == "AWS::CloudFormation::Stack"]


def test_each_repository_exempts_the_gatekeeper_from_its_put_image_deny_only(function, repositories):
    gatekeeper = {"Fn::GetAtt": [function[1]["Properties"]["Role"]["Fn::GetAtt"][0], "Arn"]}
    for repository in repositories:
        builds = []  # the ARN of the role of the build that pushes to it, in the same nested stack
        for project in repository.stacks.template.find_resources("AWS::CodeBuild::Project").values():
            variables = {
                v["Name"]: v["Value"] for v in project["Properties"]["Environment"].get("EnvironmentVariables", [])
            }
            if variables.get("IMAGE_REPOSITORY_NAME") == {"Ref": repository.id}:
                builds.append(project["Properties"]["ServiceRole"])
        (build,) = builds
        statements = repository.definition["Properties"]["RepositoryPolicyText"]["Statement"]
        denies = {tuple(sorted(as_list(s["Action"]))): s for s in statements if s["Effect"] == "Deny"}
        assert set(denies) == {("ecr:PutImage",), tuple(sorted(UPLOAD_ACTIONS))}
        exempt = {key: d["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] for key, d in denies.items()}
        # The gatekeeper's role is DevStack's: its ARN is a parameter DevStack passes the nested stack.
        build_role, gatekeeper_role = exempt[("ecr:PutImage",)]
        assert build_role == build
        assert repository.stacks.from_parent(gatekeeper_role) == gatekeeper
        assert exempt[tuple(sorted(UPLOAD_ACTIONS))] == [build]  # never a layer upload


def test_reports_and_failed_invocations_go_to_the_environments_alarm_topic(synthesized, dev, function, statements):
    topic = alarm_topic(synthesized, dev)
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
    # Each build is in its service's nested stack, which waits for them all.
    services = synthesized.services("dev")
    assert len(services) == len(synthesized.config.services)
    for stacks in services:
        assert len(stacks.template.find_resources("Custom::ArmImageBuild")) == 1
        assert {rule, function[0], permission} <= set(stacks.resource[1]["DependsOn"])


def test_environments_that_run_promoted_images_own_no_repository_and_have_no_gatekeeper(synthesized):
    for environment in ("test", "prod"):
        services = synthesized.services(environment)
        assert services
        for template in (synthesized.template(environment), *(stacks.template for stacks in services)):
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
        ({"action": "ignore"}, "RegistryGatekeeper: action must be one of quarantine, delete, not 'ignore'"),
        ({"repositories": []}, "RegistryGatekeeper: give it repositories to guard, or a repository_prefix"),
        (
            {"repositories": [], "repository_prefix": ""},
            "RegistryGatekeeper: give it repositories to guard, or a repository_prefix",
        ),
        ({"repository_prefix": ""}, "RegistryGatekeeper: repository_prefix must be a non-empty name, not ''"),
        (
            {"repository_prefix": cdk.Aws.STACK_NAME},
            f"RegistryGatekeeper: repository_prefix must be a non-empty name, not '{cdk.Aws.STACK_NAME}'",
        ),
    ],
    ids=["action", "nothing-to-guard", "empty-prefix-alone", "empty-prefix", "token-prefix"],
)
def test_bad_arguments_are_refused_at_synth(kwargs, message):
    stack, repository = small_stack()
    arguments = {"repositories": [repository], "topic": AlarmTopic(stack, "Alarms"), **kwargs}
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        RegistryGatekeeper(stack, "Gatekeeper", **arguments)


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        (
            "shop-prod-",
            "RegistryGatekeeper.guard: repository 'shop-dev-api' does not start with the gatekeeper's "
            "repository_prefix 'shop-prod-'",
        ),
        ("shop-dev-api-", "repository 'shop-dev-api' does not start with the gatekeeper's repository_prefix"),
        (None, "the gatekeeper has no repository_prefix; give it one, or pass 'shop-dev-api' in its repositories"),
    ],
    ids=["another-prefix", "a-longer-prefix", "no-prefix"],
)
def test_guard_refuses_a_repository_whose_name_the_prefix_does_not_cover(prefix, message):
    stack, repository = small_stack()
    gatekeeper = RegistryGatekeeper(
        stack,
        "Gatekeeper",
        repositories=[] if prefix else [repository],
        repository_prefix=prefix,
        topic=AlarmTopic(stack, "Alarms"),
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        gatekeeper.guard(repository)


def gatekeeper_parts(template: Template) -> tuple[dict, str, list[dict]]:
    """A small stack's gatekeeper: its rule's event pattern, its role, and the ECR statements of the role's policy."""
    ((function, _),) = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": HANDLER}}).items()
    (rule,) = [
        r["Properties"]
        for r in template.find_resources("AWS::Events::Rule").values()
        if r["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
    ]
    role = template.to_json()["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}}).values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    return (
        rule["EventPattern"],
        role,
        [s for s in statements if any(a.startswith("ecr:") for a in as_list(s["Action"]))],
    )


def put_image_exempt(repository: dict) -> list:
    """Who a repository's PutImage Deny exempts."""
    statements = repository["Properties"]["RepositoryPolicyText"]["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny" and as_list(s["Action"]) == ["ecr:PutImage"]]
    return deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]


GATEKEEPER_ECR_ACTIONS = sorted({*RETAG_ACTIONS, *READ_CONFIG_ACTIONS, *ARCHIVE_ACTIONS})


def test_the_prefix_mode_grants_by_pattern_and_matches_by_prefix_for_a_repository_in_a_nested_stack():
    stack = cdk.Stack(cdk.App(), "S")
    service = cdk.NestedStack(stack, "Service")
    repository = ImageRepository(service, "Repo", repository_name="shop-dev-api")
    repository.allow_push_from(iam.Role(service, "Build", assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com")))
    gatekeeper = RegistryGatekeeper(
        stack, "Gatekeeper", repository_prefix="shop-dev-", topic=AlarmTopic(stack, "Alarms")
    )
    gatekeeper.guard(repository)
    parent, nested = Template.from_stack(stack), Template.from_stack(service)
    pattern, role, ecr = gatekeeper_parts(parent)
    assert pattern["detail"]["repository-name"] == [{"prefix": "shop-dev-"}]
    (grant,) = ecr
    assert grant["Action"] == GATEKEEPER_ECR_ACTIONS
    assert (
        arn_text(grant["Resource"])
        == "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/shop-dev-*"
    )
    resources = parent.to_json()["Resources"]
    assert not [i for i in referenced_ids(ecr) if resources[i]["Type"] == "AWS::CloudFormation::Stack"]
    # The nested repository exempts the parent's role, passed as a parameter, from its PutImage Deny.
    ((_, nesting),) = parent.find_resources("AWS::CloudFormation::Stack").items()
    ((_, definition),) = nested.find_resources("AWS::ECR::Repository").items()
    ((build, _),) = nested.find_resources("AWS::IAM::Role").items()
    build_role, gatekeeper_role = put_image_exempt(definition)
    assert build_role == {"Fn::GetAtt": [build, "Arn"]}
    assert nesting["Properties"]["Parameters"][gatekeeper_role["Ref"]] == {"Fn::GetAtt": [role, "Arn"]}


def test_the_list_mode_grants_and_matches_each_repository_by_name():
    stack, repository = small_stack()
    RegistryGatekeeper(stack, "Gatekeeper", repositories=[repository], topic=AlarmTopic(stack, "Alarms"))
    template = Template.from_stack(stack)
    pattern, role, ecr = gatekeeper_parts(template)
    ((logical_id, definition),) = template.find_resources("AWS::ECR::Repository").items()
    assert pattern["detail"]["repository-name"] == [{"Ref": logical_id}]
    assert sorted({a for s in ecr for a in as_list(s["Action"])}) == GATEKEEPER_ECR_ACTIONS
    assert {json.dumps(r) for s in ecr for r in as_list(s["Resource"])} == {
        json.dumps({"Fn::GetAtt": [logical_id, "Arn"]})
    }
    assert put_image_exempt(definition)[-1] == {"Fn::GetAtt": [role, "Arn"]}


def test_a_repository_being_adopted_leaves_its_policy_to_the_next_deploy():
    """An import writes none of a resource's settings: the adopting deploy leaves the policy out, so that the next
    deploy's template differs from what the import recorded and applies it."""

    def repository_policy(adopting: bool) -> dict | None:
        stack = cdk.Stack(cdk.App(), "S")
        repository = ImageRepository(stack, "Repository", repository_name="shop-dev-web", adopting=adopting)
        ArmImageBuild(
            stack, "Build", repository=repository, source_dir=ROOT / "docker" / "web", dockerfile="Dockerfile"
        )
        (resource,) = Template.from_stack(stack).find_resources("AWS::ECR::Repository").values()
        return resource["Properties"].get("RepositoryPolicyText")

    assert repository_policy(adopting=True) is None
    denies = [s for s in repository_policy(adopting=False)["Statement"] if s["Effect"] == "Deny"]
    assert len(denies) == 2
