"""Built once, promoted: test and prod run dev's images by the same content tag, so the same digests."""

from __future__ import annotations

import copy
import json

import pytest
from support import ROOT, fargate_parts, function_of, lifecycle_rules, one, repo_context, rule_selects, synthesize

from graviton_app import naming
from graviton_app.config import ConfigError, load_config

DEV_ACCOUNT, PROD_ACCOUNT, REGION = "111111111111", "222222222222", "eu-west-1"


def images(template) -> dict[str, dict]:
    """Repository name -> the Custom::ArmImageBuild properties for it."""
    found = template.find_resources("Custom::ArmImageBuild").values()
    return {json.dumps(i["Properties"]["RepositoryName"]): i["Properties"] for i in found}


def test_only_dev_builds_test_and_prod_build_nothing(synthesized):
    assert len(synthesized.template("dev").find_resources("AWS::ECR::Repository")) == len(synthesized.config.services)
    for environment in ("test", "prod"):
        template = synthesized.template(environment)
        template.resource_count_is("AWS::ECR::Repository", 0)
        template.resource_count_is("AWS::S3::Bucket", 0)
        projects = template.find_resources("AWS::CodeBuild::Project")
        assert not [p for p in projects.values() if "IMAGE_TAG" in json.dumps(p)]


def dev_tags(synthesized) -> dict[str, str]:
    """Service -> the content tag dev builds its image under."""
    config = synthesized.config
    dev = synthesized.template("dev")
    tags = {}
    for service in config.services:
        name = naming.repository_name(config.project, "dev", service.name)
        repository, _ = one(dev, "AWS::ECR::Repository", {"RepositoryName": name})
        _, image = one(dev, "Custom::ArmImageBuild", {"RepositoryName": {"Ref": repository}})
        tags[service.name] = image["Properties"]["ImageTag"]
    return tags


def test_prod_checks_for_devs_image_under_devs_tag_and_never_builds(synthesized):
    config = synthesized.config
    tags = dev_tags(synthesized)
    for environment in ("test", "prod"):
        checks = synthesized.template(environment).find_resources("Custom::ArmImageBuild").values()
        assert len(checks) == len(config.services)
        for check in checks:
            props = check["Properties"]
            assert props["ProjectName"] == "" and props["SourceLocation"] == ""  # nothing to build
        assert {check["Properties"]["RepositoryName"]: check["Properties"]["ImageTag"] for check in checks} == {
            naming.repository_name(config.project, "dev", service): tag for service, tag in tags.items()
        }


def test_prods_function_and_service_run_devs_repository_at_devs_tags(synthesized):
    config = synthesized.config
    tags = dev_tags(synthesized)
    prod = synthesized.template("prod")
    images = []
    for service in config.services:
        if "lambda" in service.targets:
            images.append((service.name, function_of(prod, service)[1]["Properties"]["Code"]["ImageUri"]))
        if "ecs" in service.targets:
            task = prod.to_json()["Resources"][fargate_parts(prod, service).task]
            (container,) = task["Properties"]["ContainerDefinitions"]
            images.append((service.name, container["Image"]))
    assert {name for name, _ in images} == {s.name for s in config.services if {"lambda", "ecs"} & set(s.targets)}
    for service, image in images:
        assert f"/{naming.repository_name(config.project, 'dev', service)}" in json.dumps(image)
        assert image["Fn::Join"][1][-1].rsplit(":", 1)[1] == tags[service]


def test_prods_workloads_wait_for_their_image_check(synthesized):
    config = synthesized.config
    prod = synthesized.template("prod")
    for service in config.services:
        name = naming.repository_name(config.project, "dev", service.name)
        check, _ = one(prod, "Custom::ArmImageBuild", {"RepositoryName": name})
        if "lambda" in service.targets:
            assert check in function_of(prod, service)[1]["DependsOn"], service.name
        if "ecs" in service.targets:
            ecs_service = prod.to_json()["Resources"][fargate_parts(prod, service).service]
            assert check in ecs_service["DependsOn"], service.name


def test_the_images_promoted_environments_run_never_expire_in_the_repository_they_come_from(synthesized):
    """Prod may sit behind an approval on an older tag while dev builds on: its tags expire by no rule."""
    config = synthesized.config
    promoted = {name: settings.images_from for name, settings in config.environments.items() if settings.images_from}
    assert promoted
    for environment, source in promoted.items():
        checks = synthesized.template(environment).find_resources("Custom::ArmImageBuild").values()
        runs = {check["Properties"]["RepositoryName"]: check["Properties"]["ImageTag"] for check in checks}
        template = synthesized.template(source)
        for service in config.services:
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
    for repository in two_accounts.template("dev").find_resources("AWS::ECR::Repository").values():
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
    prod = two_accounts.template("prod")
    for check in prod.find_resources("Custom::ArmImageBuild").values():
        assert json.dumps(check["Properties"]["RepositoryUri"]).startswith(
            f'{{"Fn::Join": ["", ["{DEV_ACCOUNT}.dkr.ecr.{REGION}.'
        )
    policies = json.dumps(prod.find_resources("AWS::IAM::Policy"))
    assert f"arn:aws:ecr:{REGION}:{DEV_ACCOUNT}:repository/graviton-guarantee-dev-api" in policies


def test_the_same_account_needs_no_cross_account_statements(synthesized):
    for repository in synthesized.template("dev").find_resources("AWS::ECR::Repository").values():
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
