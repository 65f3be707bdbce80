"""Built once, promoted: test and prod run dev's images by the same content tag, so the same digests.

Each service's repository, build or image check, and workloads are in its own nested stack of the environment's
stack; the image-build provider that checks the images is the environment's."""

from __future__ import annotations

import copy
import fnmatch
import json

import pytest
from support import (
    ROOT,
    arn_text,
    fargate_parts,
    function_of,
    lifecycle_rules,
    one,
    referenced_ids,
    repo_context,
    rule_selects,
    synthesize,
)

from graviton_app import naming
from graviton_app.config import ConfigError, load_config

DEV_ACCOUNT, PROD_ACCOUNT, REGION = "111111111111", "222222222222", "eu-west-1"


def templates(synthesized, environment: str) -> list:
    """The environment's stack and each service's nested stack in it."""
    return [synthesized.template(environment), *(stacks.template for stacks in synthesized.services(environment))]


def find(synthesized, environment: str, resource_type: str) -> list[dict]:
    """Every resource of a type in the environment's stack and its services' nested stacks."""
    return [r for t in templates(synthesized, environment) for r in t.find_resources(resource_type).values()]


def test_only_dev_builds_test_and_prod_build_nothing(synthesized):
    assert len(find(synthesized, "dev", "AWS::ECR::Repository")) == len(synthesized.config.services)
    for environment in ("test", "prod"):
        assert find(synthesized, environment, "AWS::ECR::Repository") == []
        assert find(synthesized, environment, "AWS::S3::Bucket") == []
        projects = find(synthesized, environment, "AWS::CodeBuild::Project")
        assert not [p for p in projects if "IMAGE_TAG" in json.dumps(p)]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def dev_tags(synthesized) -> dict[str, str]:
    """Service -> the content tag dev builds its image under."""
    config = synthesized.config
    tags = {}
    for service in config.services:
        dev = synthesized.service("dev", service.name).template
        name = naming.repository_name(config.project, "dev", service.name)
        repository, _ = one(dev, "AWS::ECR::Repository", {"RepositoryName": name})
        _, image = one(dev, "Custom::ArmImageBuild", {"RepositoryName": {"Ref": repository}})
        tags[service.name] = image["Properties"]["ImageTag"]
    return tags


def test_prod_checks_for_devs_image_under_devs_tag_and_never_builds(synthesized):
    config = synthesized.config
    tags = dev_tags(synthesized)
    for environment in ("test", "prod"):
        assert synthesized.template(environment).find_resources("Custom::ArmImageBuild") == {}
        for service in config.services:
            template = synthesized.service(environment, service.name).template
            (check,) = template.find_resources("Custom::ArmImageBuild").values()
            props = check["Properties"]
            assert props["ProjectName"] == "" and props["SourceLocation"] == ""  # nothing to build
            assert (props["RepositoryName"], props["ImageTag"]) == (
                naming.repository_name(config.project, "dev", service.name),
                tags[service.name],
            )


def test_prods_function_and_service_run_devs_repository_at_devs_tags(synthesized):
    config = synthesized.config
    tags = dev_tags(synthesized)
    images = []
    for service in config.services:
        stacks = synthesized.service("prod", service.name)
        if "lambda" in service.targets:
            images.append((service.name, function_of(stacks.template, service)[1]["Properties"]["Code"]["ImageUri"]))
        if "ecs" in service.targets:
            task = stacks.resources()[fargate_parts(stacks, service).task]
            (container,) = task["Properties"]["ContainerDefinitions"]
            images.append((service.name, container["Image"]))
    assert {name for name, _ in images} == {s.name for s in config.services if {"lambda", "ecs"} & set(s.targets)}
    for service, image in images:
        assert f"/{naming.repository_name(config.project, 'dev', service)}" in json.dumps(image)
        assert image["Fn::Join"][1][-1].rsplit(":", 1)[1] == tags[service]


def test_prods_workloads_wait_for_their_image_check(synthesized):
    config = synthesized.config
    for service in config.services:
        stacks = synthesized.service("prod", service.name)
        name = naming.repository_name(config.project, "dev", service.name)
        check, _ = one(stacks.template, "Custom::ArmImageBuild", {"RepositoryName": name})
        if "lambda" in service.targets:
            assert check in function_of(stacks.template, service)[1]["DependsOn"], service.name
        if "ecs" in service.targets:
            ecs_service = stacks.resources()[fargate_parts(stacks, service).service]
            assert check in ecs_service["DependsOn"], service.name


def test_the_images_promoted_environments_run_never_expire_in_the_repository_they_come_from(synthesized):
    """Prod may sit behind an approval on an older tag while dev builds on: its tags expire by no rule."""
    config = synthesized.config
    promoted = {name: settings.images_from for name, settings in config.environments.items() if settings.images_from}
    assert promoted
    for environment, source in promoted.items():
        checks = find(synthesized, environment, "Custom::ArmImageBuild")
        runs = {check["Properties"]["RepositoryName"]: check["Properties"]["ImageTag"] for check in checks}
        for service in config.services:
            template = synthesized.service(source, service.name).template
            name = naming.repository_name(config.project, source, service.name)
            _, repository = one(template, "AWS::ECR::Repository", {"RepositoryName": name})
            rules = lifecycle_rules(repository)
            assert not [r for r in rules if rule_selects(r, [runs[name]])], (environment, name)
            # Only a build's leftovers expire: an image with no tag, or with a candidate tag alone.
            assert [r for r in rules if rule_selects(r, [])], name
            assert [r for r in rules if rule_selects(r, ["candidate-0b6f4c3e-8d1a-4b7e-9c2f-5a6b7c8d9e0f"])], name


@pytest.fixture(scope="module")
def two_accounts(tmp_path_factory):
    context = copy.deepcopy(repo_context())
    context["environments"]["dev"].update(account=DEV_ACCOUNT, region=REGION)
    context["environments"]["prod"].update(account=PROD_ACCOUNT, region=REGION)
    context["environments"].pop("test")
    return synthesize(context, tmp_path_factory.mktemp("accounts"))


def test_across_accounts_the_building_repository_lets_the_other_account_and_its_functions_pull(two_accounts):
    assert two_accounts.error is None
    repositories = find(two_accounts, "dev", "AWS::ECR::Repository")
    assert len(repositories) == len(two_accounts.config.services)
    for repository in repositories:
        statements = {s.get("Sid"): s for s in repository["Properties"]["RepositoryPolicyText"]["Statement"]}
        pull = statements["PromotedEnvironmentsPull"]
        assert pull["Effect"] == "Allow"
        assert json.dumps(pull["Principal"]).count(PROD_ACCOUNT) == 1
        assert {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:DescribeImages"} <= set(pull["Action"])
        functions = statements["PromotedFunctionsPull"]
        assert functions["Principal"] == {"Service": "lambda.amazonaws.com"}
        arns = functions["Condition"]["StringLike"]["aws:sourceArn"]
        assert [json.dumps(a) for a in arns] == [
            json.dumps({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":lambda:*:{PROD_ACCOUNT}:function:*"]]})
        ]


def test_across_accounts_prod_looks_the_image_up_in_devs_registry(two_accounts):
    config = two_accounts.config
    checks = find(two_accounts, "prod", "Custom::ArmImageBuild")
    assert len(checks) == len(config.services)
    for check in checks:
        assert json.dumps(check["Properties"]["RepositoryUri"]).startswith(
            f'{{"Fn::Join": ["", ["{DEV_ACCOUNT}.dkr.ecr.{REGION}.'
        )
    # The checks are in nested stacks: ProdStack's provider may look up tags by dev's name pattern, in dev's account
    # and region, and in nothing else.
    prod = two_accounts.template("prod")
    ((handler, _),) = prod.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "image_build_handler.on_event"}}
    ).items()
    role = prod.to_json()["Resources"][handler]["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = prod.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}}).values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (lookup,) = [s for s in statements if any(a.startswith("ecr:") for a in as_list(s["Action"]))]
    assert lookup["Action"] == "ecr:DescribeImages"
    arn_prefix = f"arn:aws:ecr:{REGION}:{DEV_ACCOUNT}:repository/"
    text = arn_text(lookup["Resource"])
    assert text.startswith(arn_prefix), text
    pattern = text.removeprefix(arn_prefix)
    assert pattern == f"{naming.name_prefix(config.project, 'dev')}*"
    for service in config.services:
        assert fnmatch.fnmatchcase(naming.repository_name(config.project, "dev", service.name), pattern)
        assert not fnmatch.fnmatchcase(naming.repository_name(config.project, "prod", service.name), pattern)
    resources = prod.to_json()["Resources"]
    assert not [i for i in referenced_ids(statements) if resources[i]["Type"] == "AWS::CloudFormation::Stack"]


def test_the_same_account_needs_no_cross_account_statements(synthesized):
    repositories = find(synthesized, "dev", "AWS::ECR::Repository")
    assert repositories
    for repository in repositories:
        sids = {s.get("Sid") for s in repository["Properties"]["RepositoryPolicyText"]["Statement"]}
        assert "PromotedEnvironmentsPull" not in sids


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda e: e["test"].update(images_from="test"), "environments.test.images_from 'test' must name another"),
        (lambda e: e["dev"].update(images_from="prod"), "environments.dev.images_from 'prod' must name another"),
        (
            lambda e: (e["dev"].update(region="eu-west-1"), e["prod"].update(region="us-east-1")),
            "environments.prod (us-east-1) cannot run images from dev (eu-west-1)",
        ),
    ],
    ids=["itself", "a-promoted-one", "another-region"],
)
def test_promotion_needs_a_building_environment_in_the_same_region(change, expected):
    context = copy.deepcopy(repo_context())
    change(context["environments"])
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")) as raised:
        load_config(context, root=ROOT)
    assert "\n" not in str(raised.value)
