"""ExistingImage: workloads run an image already in ECR, by digest or by tag, with nothing built or waited for."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Template
from support import one

from graviton import ArmFargateService, ArmImageFunction, ExistingImage, SharedLoadBalancer
from graviton.guardrails.guard import guard
from graviton.image_build.container_image import image_reference

DIGEST = "sha256:" + "0123456789abcdef" * 4


def workloads(form: str, **kwargs: Any) -> tuple[cdk.Stack, ExistingImage]:
    """A guarded stack whose function and Fargate service run the same existing image."""
    app = cdk.App()
    guard(app)
    stack = cdk.Stack(app, "Existing")
    repository = ecr.Repository.from_repository_name(stack, "Repository", "team/app")
    image = getattr(ExistingImage, form)(stack, "Image", repository=repository, **kwargs)
    ArmImageFunction(stack, "Function", image=image)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    ArmFargateService(
        stack,
        "Service",
        image=image,
        cluster=ecs.Cluster(stack, "Cluster", vpc=vpc),
        load_balancer=SharedLoadBalancer(stack, "Front", vpc=vpc),
        rule_priority=1,
        path="/app",
    )
    app.synth()  # the guard fails synth on anything that is not arm64
    return stack, image


def image_uri(stack: cdk.Stack, value: Any) -> str:
    """A repository URI with its tokens replaced, such as `<account>.dkr.ecr.<region>.<suffix>/team/app@sha256:...`."""
    parts = stack.resolve(value)["Fn::Join"][1]
    return "".join(part if isinstance(part, str) else "<token>" for part in parts)


@pytest.fixture(scope="module")
def by_digest() -> tuple[cdk.Stack, Template]:
    stack, _ = workloads("from_digest", digest=DIGEST)
    return stack, Template.from_stack(stack)


def test_by_digest_the_function_and_the_task_run_exactly_that_image_on_arm64(by_digest):
    stack, template = by_digest
    _, function = one(template, "AWS::Lambda::Function", {"PackageType": "Image"})
    assert function["Properties"]["Architectures"] == ["arm64"]
    assert image_uri(stack, function["Properties"]["Code"]["ImageUri"]).endswith(f"/team/app@{DIGEST}")
    _, task = one(template, "AWS::ECS::TaskDefinition")
    assert task["Properties"]["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert image_uri(stack, container["Image"]).endswith(f"/team/app@{DIGEST}")


def test_nothing_is_built_or_waited_for(by_digest):
    _, template = by_digest
    assert not template.find_resources("Custom::ArmImageBuild")
    assert not template.find_resources("AWS::CodeBuild::Project")
    resources = template.to_json()["Resources"]
    for kind in ("AWS::Lambda::Function", "AWS::ECS::Service"):
        for found in template.find_resources(kind).values():
            assert all(
                resources[dependency]["Type"] != "AWS::CloudFormation::CustomResource"
                for dependency in found.get("DependsOn", [])
            )


def test_by_tag_the_workloads_refer_to_the_tag():
    stack, image = workloads("from_tag", tag="v1.2.3")
    template = Template.from_stack(stack)
    _, function = one(template, "AWS::Lambda::Function", {"PackageType": "Image"})
    assert function["Properties"]["Architectures"] == ["arm64"]
    assert image_uri(stack, function["Properties"]["Code"]["ImageUri"]).endswith("/team/app:v1.2.3")
    _, task = one(template, "AWS::ECS::TaskDefinition")
    assert image_uri(stack, task["Properties"]["ContainerDefinitions"][0]["Image"]).endswith("/team/app:v1.2.3")
    assert image_reference(image).endswith(":v1.2.3")


@pytest.mark.parametrize(
    ("form", "kwargs", "message"),
    [
        ("from_digest", {"digest": "sha256:abc"}, "ExistingImage: digest 'sha256:abc' is not 'sha256:' and 64"),
        ("from_digest", {"digest": "v1"}, "ExistingImage: digest 'v1' is not 'sha256:'"),
        ("from_tag", {"tag": DIGEST}, f"ExistingImage: tag '{DIGEST}' is not an image tag"),
        ("from_tag", {"tag": "-v1"}, "ExistingImage: tag '-v1' is not an image tag"),
    ],
)
def test_a_bad_digest_or_tag_is_refused_with_one_line(form, kwargs, message):
    stack = cdk.Stack(cdk.App(), "S")
    repository = ecr.Repository.from_repository_name(stack, "Repository", "team/app")
    with pytest.raises(ValueError) as caught:
        getattr(ExistingImage, form)(stack, "Image", repository=repository, **kwargs)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
