"""Builds and promoted images in a nested stack: the image-build provider stays in the top-level stack and covers them
by name patterns (`allow_builds`, `allow_lookups`), so its role's policy never names a nested resource (the nested
stack waits for that role: CloudFormation would refuse the cycle). What no pattern covers is refused at synth."""

from __future__ import annotations

import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from support import arn_text, referenced_ids

from graviton import ArmImageBuild, ImageBuildProvider, ImageRepository, PromotedImage

REPOSITORY = "shop-dev-api"
PROJECT = "shop-dev-api"
DEV_ACCOUNT, REGION = "111111111111", "eu-west-1"
UNCOVERED_BUILD = (
    f"ArmImageBuild: project '{PROJECT}' with repository '{REPOSITORY}' is in a nested stack, and no "
    "ImageBuildProvider.allow_builds of its top-level stack covers both names"
)
NO_PROJECT_NAME = (
    "ArmImageBuild: a build in a nested stack needs a project_name its top-level stack's "
    "ImageBuildProvider.allow_builds covers"
)
UNCOVERED_LOOKUP = (
    f"PromotedImage: repository '{REPOSITORY}' is looked up from a nested stack, and no "
    "ImageBuildProvider.allow_lookups of its top-level stack covers it in that account and region"
)


@pytest.fixture
def source_dir(tmp_path) -> Path:
    """A build context with a Dockerfile and nothing else."""
    folder = tmp_path / "api"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM scratch\n")
    return folder


def parent_and_nested() -> tuple[cdk.Stack, cdk.NestedStack, ImageBuildProvider]:
    """A top-level stack with its image-build provider, and a nested stack in it."""
    stack = cdk.Stack(cdk.App(), "S")
    return stack, cdk.NestedStack(stack, "Service"), ImageBuildProvider.of(stack)


def nested_build(nested: cdk.NestedStack, source_dir: Path, **props) -> ArmImageBuild:
    repository = ImageRepository(nested, "Repository", repository_name=REPOSITORY)
    return ArmImageBuild(nested, "Build", repository=repository, source_dir=source_dir, **props)


def exact(message: str) -> str:
    return f"^{re.escape(message)}$"


@pytest.mark.parametrize(
    "patterns",
    [
        [],
        [{"project_prefix": "shop-dev-", "repository_prefix": "shop-prod-"}],
        [{"project_prefix": "shop-prod-", "repository_prefix": "shop-dev-"}],
        # Each name covered, but by different calls: one call must cover both.
        [
            {"project_prefix": "shop-dev-", "repository_prefix": "shop-prod-"},
            {"project_prefix": "shop-prod-", "repository_prefix": "shop-dev-"},
        ],
        [{"project_prefix": "shop-dev-api-", "repository_prefix": "shop-dev-"}],
    ],
    ids=["no-allow-builds", "repository-uncovered", "project-uncovered", "split-across-calls", "longer-prefix"],
)
def test_a_build_in_a_nested_stack_is_refused_unless_allow_builds_covers_its_project_and_repository(
    source_dir, patterns
):
    _, nested, provider = parent_and_nested()
    for pattern in patterns:
        provider.allow_builds(**pattern)
    with pytest.raises(ValueError, match=exact(UNCOVERED_BUILD)):
        nested_build(nested, source_dir, project_name=PROJECT)


@pytest.mark.parametrize("project_name", [None, cdk.Aws.STACK_NAME], ids=["none", "token"])
def test_a_build_in_a_nested_stack_needs_an_explicit_project_name(source_dir, project_name):
    _, nested, provider = parent_and_nested()
    provider.allow_builds(project_prefix="shop-", repository_prefix="shop-")
    with pytest.raises(ValueError, match=exact(NO_PROJECT_NAME)):
        nested_build(nested, source_dir, project_name=project_name)


@pytest.mark.parametrize("prop", ["project_prefix", "repository_prefix"])
@pytest.mark.parametrize("prefix", ["", cdk.Aws.STACK_NAME], ids=["empty", "token"])
def test_allow_builds_refuses_an_empty_or_token_prefix(prop, prefix):
    _, _, provider = parent_and_nested()
    patterns = {"project_prefix": "shop-dev-", "repository_prefix": "shop-dev-", prop: prefix}
    with pytest.raises(
        ValueError, match=exact(f"ImageBuildProvider: {prop} must be a non-empty name prefix, not '{prefix}'")
    ):
        provider.allow_builds(**patterns)


def provider_parts(parent: Template) -> tuple[str, str, list[dict]]:
    """The provider's role (its on_event handler's), the role's policy, and the policy's statements."""
    ((_, handler),) = parent.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "image_build_handler.on_event"}}
    ).items()
    role = handler["Properties"]["Role"]["Fn::GetAtt"][0]
    ((policy, definition),) = parent.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}}
    ).items()
    return role, policy, definition["Properties"]["PolicyDocument"]["Statement"]


def names_no_nested_resource(parent: Template, statements: list[dict]) -> bool:
    resources = parent.to_json()["Resources"]
    named = referenced_ids(statements)
    return named <= set(resources) and not [i for i in named if resources[i]["Type"] == "AWS::CloudFormation::Stack"]


def waits_for_the_provider(parent: Template, nested_template: Template, role: str, policy: str) -> bool:
    """The nested stack's custom resource is the parent provider's (its service token a parameter the parent
    passes), and the nested stack waits for the provider's role and its policy."""
    ((_, nesting),) = parent.find_resources("AWS::CloudFormation::Stack").items()
    ((_, image),) = nested_template.find_resources("Custom::ArmImageBuild").items()
    token = nesting["Properties"]["Parameters"][image["Properties"]["ServiceToken"]["Ref"]]
    framework = parent.to_json()["Resources"][token["Fn::GetAtt"][0]]
    on_event = framework["Properties"]["Environment"]["Variables"]["USER_ON_EVENT_FUNCTION_ARN"]["Fn::GetAtt"][0]
    handler = parent.to_json()["Resources"][on_event]["Properties"]
    return handler["Role"] == {"Fn::GetAtt": [role, "Arn"]} and {role, policy} <= set(nesting["DependsOn"])


def test_a_covered_build_in_a_nested_stack_synthesizes_and_the_providers_policy_names_none_of_it(source_dir):
    stack, nested, provider = parent_and_nested()
    provider.allow_builds(project_prefix="shop-dev-", repository_prefix="shop-dev-")
    nested_build(nested, source_dir, project_name=PROJECT)
    parent, nested_template = Template.from_stack(stack), Template.from_stack(nested)
    ((_, project),) = nested_template.find_resources("AWS::CodeBuild::Project").items()
    assert project["Properties"]["Name"] == PROJECT
    role, policy, statements = provider_parts(parent)
    granted = {
        (tuple(sorted(s["Action"])), arn_text(s["Resource"]))
        for s in statements
        if not s["Action"][0].startswith("logs:")
    }
    assert granted == {
        (
            (
                "codebuild:BatchGetBuilds",
                "codebuild:ListBuildsForProject",
                "codebuild:StartBuild",
                "codebuild:StopBuild",
            ),
            "arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/shop-dev-*",
        ),
        (
            ("ecr:BatchDeleteImage", "ecr:DescribeImages"),
            "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/shop-dev-*",
        ),
    }
    assert names_no_nested_resource(parent, statements)
    assert waits_for_the_provider(parent, nested_template, role, policy)


@pytest.mark.parametrize(
    "lookups",
    [
        [],
        [{"repository_prefix": "shop-prod-", "account": DEV_ACCOUNT, "region": REGION}],
        [{"repository_prefix": "shop-dev-", "account": "222222222222", "region": REGION}],
        [{"repository_prefix": "shop-dev-", "account": DEV_ACCOUNT, "region": "us-east-1"}],
        [{"repository_prefix": "shop-dev-"}],  # its own account and region, not the source's
    ],
    ids=["no-allow-lookups", "another-prefix", "another-account", "another-region", "own-account-and-region"],
)
def test_a_promoted_image_in_a_nested_stack_is_refused_unless_allow_lookups_covers_it_there(source_dir, lookups):
    _, nested, provider = parent_and_nested()
    for lookup in lookups:
        provider.allow_lookups(**lookup)
    with pytest.raises(ValueError, match=exact(UNCOVERED_LOOKUP)):
        PromotedImage(
            nested, "Image", repository_name=REPOSITORY, source_dir=source_dir, account=DEV_ACCOUNT, region=REGION
        )


def test_a_covered_promoted_image_in_a_nested_stack_synthesizes_and_the_providers_policy_names_none_of_it(source_dir):
    stack, nested, provider = parent_and_nested()
    provider.allow_lookups(repository_prefix="shop-dev-", account=DEV_ACCOUNT, region=REGION)
    PromotedImage(
        nested, "Image", repository_name=REPOSITORY, source_dir=source_dir, account=DEV_ACCOUNT, region=REGION
    )
    parent, nested_template = Template.from_stack(stack), Template.from_stack(nested)
    role, policy, statements = provider_parts(parent)
    granted = [(s["Action"], arn_text(s["Resource"])) for s in statements if s["Action"][0] != "logs:CreateLogStream"]
    assert granted == [
        ("ecr:DescribeImages", f"arn:${{AWS::Partition}}:ecr:{REGION}:{DEV_ACCOUNT}:repository/shop-dev-*")
    ]
    assert names_no_nested_resource(parent, statements)
    assert waits_for_the_provider(parent, nested_template, role, policy)


def test_allow_lookups_refuses_an_empty_prefix():
    _, _, provider = parent_and_nested()
    with pytest.raises(
        ValueError, match=exact("ImageBuildProvider: repository_prefix must be a non-empty name prefix, not ''")
    ):
        provider.allow_lookups(repository_prefix="")
