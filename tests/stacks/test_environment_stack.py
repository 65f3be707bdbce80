"""The first slice in each environment: ECR repository, native ARM CodeBuild, arm64 container Lambda."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from support import ROOT, build_parts, function_of, repo_context, run, synthesize

from graviton import ArmImageBuild, ImageRepository
from graviton_app import naming
from graviton_app.config import load_config


def test_every_environment_gets_its_stack(synthesized):
    assert {stack.stack_name for stack in synthesized.stacks.values()} == {"DevStack", "TestStack", "ProdStack"}


def test_every_repository_scans_on_push_and_keeps_tags_immutable(synthesized):
    config = synthesized.config
    for service in config.services:
        synthesized.service("dev", service.name).template.has_resource_properties(
            "AWS::ECR::Repository",
            {
                "RepositoryName": naming.repository_name(config.project, "dev", service.name),
                "ImageScanningConfiguration": {"ScanOnPush": True},
                "ImageTagMutability": "IMMUTABLE",
            },
        )


def test_repositories_that_other_environments_run_from_are_retained(synthesized):
    # Test and prod run dev's images: deleting DevStack must not take prod's images with it.
    services = synthesized.config.services
    # A list, not a dict by logical id: each service's nested stack has its repository under the same id.
    dev = [
        repository
        for stacks in synthesized.services("dev")
        for repository in stacks.template.find_resources("AWS::ECR::Repository").values()
    ]
    # RetainExceptOnCreate: a stack delete or update never deletes the repository, so EmptyOnDelete never acts there.
    # Only a first create that rolls back deletes it, after a build may have pushed: EmptyOnDelete lets that rollback
    # remove it (a non-empty repository fails the delete: ROLLBACK_FAILED) and leaves no repository in a retry's way.
    assert [(r["DeletionPolicy"], r["UpdateReplacePolicy"], r["Properties"].get("EmptyOnDelete")) for r in dev] == [
        ("RetainExceptOnCreate", "Retain", True)
    ] * len(services)


def test_a_repository_nobody_else_runs_from_is_emptied_and_removed_with_its_stack():
    stack = cdk.Stack(cdk.App(), "S")
    repository = ImageRepository(stack, "Repository", repository_name="gg-dev-api")
    ArmImageBuild(
        stack, "Build", repository=repository, source_dir=ROOT / "docker" / "api", dockerfile="Dockerfile.lambda"
    )
    (resource,) = Template.from_stack(stack).find_resources("AWS::ECR::Repository").values()
    assert (resource["DeletionPolicy"], resource["Properties"]["EmptyOnDelete"]) == ("Delete", True)


def test_every_build_runs_natively_on_graviton_with_docker(synthesized):
    config = synthesized.config
    for service in config.services:
        template = synthesized.service("dev", service.name).template
        _, build = build_parts(template, config, "dev", service.name).build
        assert build["Properties"]["Name"] == naming.build_project_name(config.project, "dev", service.name)
        assert (
            Match.object_like(
                {
                    "Environment": Match.object_like(
                        {
                            "Type": "ARM_CONTAINER",
                            "Image": "aws/codebuild/amazonlinux-aarch64-standard:3.0",
                            "PrivilegedMode": True,
                            "EnvironmentVariables": Match.array_with(
                                [
                                    {"Name": "DOCKERFILE", "Type": "PLAINTEXT", "Value": service.dockerfile},
                                    {"Name": "PLATFORM", "Type": "PLAINTEXT", "Value": "linux/arm64"},
                                ]
                            ),
                        }
                    ),
                    "Source": Match.object_like({"Type": "S3"}),
                }
            )
            .test(build["Properties"])
            .is_success
        ), service.name


def lambda_services(synthesized) -> list[str]:
    names = [s.name for s in synthesized.config.services if "lambda" in s.targets]
    assert names
    return names


def test_memory_and_timeout_come_from_each_environment(synthesized):
    config = synthesized.config
    for name in ("dev", "prod"):
        for service in lambda_services(synthesized):
            template = synthesized.service(name, service).template
            function = function_of(template, config.service(service))[1]["Properties"]
            assert function["MemorySize"] == config.environments[name].lambda_memory_mb
            assert function["Timeout"] == config.environments[name].lambda_timeout_seconds


def test_every_function_role_writes_only_its_own_logs(synthesized):
    for service in lambda_services(synthesized):
        template = synthesized.service("dev", service).template
        roles = template.find_resources("AWS::IAM::Role")
        role_id = function_of(template, synthesized.config.service(service))[1]["Properties"]["Role"]["Fn::GetAtt"][0]
        assert not roles[role_id]["Properties"].get("ManagedPolicyArns"), service


def test_no_docker_image_is_built_on_the_deploying_machine(synthesized):
    for stack in synthesized.stacks.values():
        assets = json.loads((synthesized.outdir / f"{stack.artifact_id}.assets.json").read_text())
        assert assets.get("dockerImages", {}) == {}


def test_stacks_are_environment_agnostic_without_an_account(synthesized):
    for stack in synthesized.stacks.values():
        assert cdk.Token.is_unresolved(stack.account)
        assert cdk.Token.is_unresolved(stack.region)


@pytest.fixture(scope="module")
def pinned(tmp_path_factory):
    context = repo_context()
    context["environments"] = {"prod": {"account": "123456789012", "region": "eu-west-1"}}
    return synthesize(context, tmp_path_factory.mktemp("pinned"))


def test_an_account_pins_the_stack_to_it(pinned):
    assert list(pinned.stacks) == ["prod"]
    assert (pinned.stacks["prod"].account, pinned.stacks["prod"].region) == ("123456789012", "eu-west-1")
    assert pinned.error is None


def test_the_http_targets_have_one_base_url_output_each_whatever_the_number_of_services():
    """`LambdaBaseUrl` (the shared HTTP API) and `EcsBaseUrl` (CloudFront in front of the shared load balancer), both
    HTTPS; no output per service, so outputs do not grow with services."""
    from graviton_app import naming
    from stacks.environment_stack import EnvironmentStack

    context = json.loads(json.dumps(repo_context()))
    context["services"][0]["targets"] = ["lambda", "ecs"]
    config = load_config(context, root=ROOT)
    stack = EnvironmentStack.for_environment(cdk.App(), config=config, environment="dev", root=ROOT)
    outputs = Template.from_stack(stack).to_json()["Outputs"]
    lambda_key, ecs_key = (naming.base_url_output(target) for target in ("lambda", "ecs"))
    assert outputs[lambda_key]["Value"]["Fn::GetAtt"][1] == "ApiEndpoint"
    (distribution,) = Template.from_stack(stack).find_resources("AWS::CloudFront::Distribution")
    assert outputs[ecs_key]["Value"] == {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}]]}
    assert not [key for key in outputs if key.endswith(("LambdaUrl", "EcsUrl"))]
    assert set(stack.outputs.base_urls) == {lambda_key, ecs_key}


def test_retained_repositories_can_be_adopted_by_the_next_instance_of_their_stack(synthesized):
    # `make deploy` imports a repository a deleted stack retained (--import-existing-resources): CloudFormation does
    # that only for a literal name and a Retain or RetainExceptOnCreate policy. The name is the one test, prod and the
    # commands look the repository up by.
    config = synthesized.config
    retained = 0
    for environment, stack in synthesized.stacks.items():
        templates = [synthesized.template(environment), *(s.template for s in synthesized.services(environment))]
        for resource in (r for t in templates for r in t.find_resources("AWS::ECR::Repository").values()):
            if resource["DeletionPolicy"] == "Delete":
                continue
            retained += 1
            assert resource["DeletionPolicy"] in ("Retain", "RetainExceptOnCreate")
            assert resource["Properties"]["RepositoryName"] in {
                naming.repository_name(config.project, environment, s.name) for s in config.services
            }, stack.stack_name
    assert retained >= len(config.services)


def test_make_deploy_adopts_the_repositories_a_deleted_stack_retained():
    make = ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", "node_modules/.installed", "-n"]
    for environment, stack in (("dev", "DevStack"), ("prod", "ProdStack")):
        result = run([*make, "deploy", f"ENV={environment}"])
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().endswith(
            f"/node_modules/.bin/cdk deploy --app cdk.out {stack} --import-existing-resources"
        )
