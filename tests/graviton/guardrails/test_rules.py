"""Every guard rule: a passing and a failing case, tokens refused, and the pack's list of ids as a contract."""

from __future__ import annotations

import pytest

from graviton.guardrails.rules import Compliance as C
from graviton.guardrails.rules import (
    ImageAsset,
    Resource,
    app_runner,
    codebuild_environment,
    dockerfile_platform,
    ec2_instance_types,
    ecs_fargate_platform,
    eks_nodegroup,
    image_asset_platform,
    lambda_architecture,
)
from graviton.guardrails.rules.pack import PACK, RULES

REF = {"Ref": "SomeParameter"}


def test_the_pack_lists_exactly_these_rules():
    assert list(PACK) == [
        "GG-LAMBDA",
        "GG-ASSET",
        "GG-DOCKERFILE",
        "GG-CODEBUILD",
        "GG-ECS",
        "GG-EKS",
        "GG-EC2",
        "GG-BEANSTALK",
        "GG-APPRUNNER",
        "GG-BATCH",
        "GG-EMR-SERVERLESS",
        "GG-X86-ONLY",
        "GG-DATA-CLASS",
        "GG-ELF",
        "GG-LAYER",
    ]
    assert all(rule.title and rule.explanation and rule.fix for rule in RULES)


def res(type_: str, path: str = "", **properties) -> Resource:
    return Resource(logical_id="R", type=type_, properties=properties, path=path)


LAMBDA = "AWS::Lambda::Function"


@pytest.mark.parametrize(
    ("properties", "expected", "found"),
    [
        ({"Architectures": ["arm64"]}, C.COMPLIANT, "arm64"),
        ({}, C.NON_COMPLIANT, "x86_64 (Architectures unset)"),
        ({"Architectures": ["x86_64"]}, C.NON_COMPLIANT, "x86_64"),
        ({"Architectures": ["arm64", "x86_64"]}, C.NON_COMPLIANT, "arm64,x86_64"),
        ({"Architectures": REF}, C.NON_COMPLIANT, 'unresolved at synth: {"Ref": "SomeParameter"}'),
        ({"Architectures": [REF]}, C.NON_COMPLIANT, "unresolved at synth"),
    ],
)
def test_lambda_architecture(properties, expected, found):
    verdict = lambda_architecture.check(res(LAMBDA, **properties))
    assert verdict.compliance is expected
    assert found in verdict.found


def test_lambda_rule_does_not_apply_to_other_types():
    assert lambda_architecture.check(res("AWS::S3::Bucket")).compliance is C.NOT_APPLICABLE


def test_lambda_rule_points_at_replacements_for_x86_only_cdk_parts():
    kubectl = lambda_architecture.check(res(LAMBDA, path="S/Cluster/KubectlProvider/Handler/Resource"))
    assert "amd64 kubectl" in kubectl.fix
    unguarded = lambda_architecture.check(
        res(LAMBDA, path="Stage/S/Custom::S3AutoDeleteObjectsCustomResourceProvider/Handler")
    )
    assert "GuardedStage" in unguarded.fix
    assert lambda_architecture.check(res(LAMBDA, path="S/MyFunction/Resource")).fix is None


@pytest.mark.parametrize(
    ("platform", "expected"),
    [("linux/arm64", C.COMPLIANT), (None, C.NON_COMPLIANT), ("linux/amd64", C.NON_COMPLIANT)],
)
def test_image_asset_platform(platform, expected):
    assert image_asset_platform.check(ImageAsset("h", platform, None)).compliance is expected


@pytest.mark.parametrize(
    ("dockerfile", "expected"),
    [
        ("FROM public.ecr.aws/lambda/python:3.13\n", C.COMPLIANT),
        ("ARG TARGETPLATFORM\nFROM --platform=$TARGETPLATFORM python:3.13\n", C.COMPLIANT),
        ("FROM --platform=${BUILDPLATFORM} golang AS build\nFROM --platform=linux/arm64 alpine\n", C.COMPLIANT),
        ("FROM --platform=linux/amd64 python:3.13\n", C.NON_COMPLIANT),
        ("FROM python AS a\n  from --platform=linux/x86_64 alpine\n", C.NON_COMPLIANT),
        (None, C.NOT_APPLICABLE),
    ],
)
def test_dockerfile_platform(dockerfile, expected):
    assert dockerfile_platform.check(ImageAsset("h", "linux/arm64", dockerfile)).compliance is expected


CODEBUILD = "AWS::CodeBuild::Project"


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"Type": "ARM_CONTAINER"}, C.COMPLIANT),
        ({"Type": "ARM_LAMBDA_CONTAINER"}, C.COMPLIANT),
        ({"Type": "ARM_EC2", "Fleet": {"FleetArn": "arn"}}, C.COMPLIANT),
        ({"Type": "ARM_EC2"}, C.NON_COMPLIANT),
        ({"Type": "LINUX_CONTAINER"}, C.NON_COMPLIANT),
        ({"Type": "LINUX_LAMBDA_CONTAINER"}, C.NON_COMPLIANT),
        ({"Type": REF}, C.NON_COMPLIANT),
    ],
)
def test_codebuild_environment(environment, expected):
    assert codebuild_environment.check(res(CODEBUILD, Environment=environment)).compliance is expected


def test_codebuild_fleets_and_confirm_permissions_broadening():
    fleet = "AWS::CodeBuild::Fleet"
    assert codebuild_environment.check(res(fleet, EnvironmentType="ARM_EC2")).compliance is C.COMPLIANT
    assert codebuild_environment.check(res(fleet, EnvironmentType="LINUX_EC2")).compliance is C.NON_COMPLIANT
    broadening = res(
        CODEBUILD, path="P/Pipeline/Dev/ConfirmPermissionsBroadening/Project", Environment={"Type": "LINUX_CONTAINER"}
    )
    assert "hard-coded to x86" in codebuild_environment.check(broadening).fix


TASK = "AWS::ECS::TaskDefinition"


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"RequiresCompatibilities": ["FARGATE"], "RuntimePlatform": {"CpuArchitecture": "ARM64"}}, C.COMPLIANT),
        ({"RequiresCompatibilities": ["FARGATE"]}, C.NON_COMPLIANT),
        ({"RequiresCompatibilities": ["FARGATE"], "RuntimePlatform": {"CpuArchitecture": "X86_64"}}, C.NON_COMPLIANT),
        ({"RequiresCompatibilities": ["FARGATE"], "RuntimePlatform": {"CpuArchitecture": REF}}, C.NON_COMPLIANT),
        ({"RequiresCompatibilities": ["EC2"]}, C.NOT_APPLICABLE),
    ],
)
def test_ecs_fargate_platform(properties, expected):
    assert ecs_fargate_platform.check(res(TASK, **properties)).compliance is expected


NODEGROUP = "AWS::EKS::Nodegroup"


@pytest.mark.parametrize(
    ("properties", "expected", "found"),
    [
        ({"AmiType": "AL2023_ARM_64_STANDARD", "InstanceTypes": ["t4g.medium", "m7g.large"]}, C.COMPLIANT, "AL2023"),
        ({"InstanceTypes": ["t4g.medium"]}, C.NON_COMPLIANT, "AmiType unset"),
        ({"AmiType": "AL2023_x86_64_STANDARD", "InstanceTypes": ["t4g.medium"]}, C.NON_COMPLIANT, "AmiType"),
        ({"AmiType": "AL2023_ARM_64_STANDARD", "InstanceTypes": ["m5.large"]}, C.NON_COMPLIANT, "m5.large"),
        ({"AmiType": "AL2023_ARM_64_STANDARD"}, C.NON_COMPLIANT, "InstanceTypes unset"),
        ({"AmiType": REF, "InstanceTypes": ["t4g.medium"]}, C.NON_COMPLIANT, "unresolved"),
    ],
)
def test_eks_nodegroup(properties, expected, found):
    verdict = eks_nodegroup.check(res(NODEGROUP, **properties))
    assert verdict.compliance is expected
    assert found in verdict.found


@pytest.mark.parametrize(
    ("type_", "properties", "expected"),
    [
        ("AWS::EC2::Instance", {"InstanceType": "m7g.large"}, C.COMPLIANT),
        ("AWS::EC2::Instance", {"InstanceType": "m5.large"}, C.NON_COMPLIANT),
        ("AWS::EC2::Instance", {"InstanceType": "g5.xlarge"}, C.NON_COMPLIANT),  # x86 GPU, not Graviton
        ("AWS::EC2::Instance", {"InstanceType": "g5g.xlarge"}, C.COMPLIANT),
        ("AWS::EC2::Instance", {"InstanceType": "z9q.large"}, C.NON_COMPLIANT),  # unknown family: refused
        ("AWS::EC2::Instance", {"InstanceType": REF}, C.NON_COMPLIANT),
        ("AWS::EC2::LaunchTemplate", {"LaunchTemplateData": {"InstanceType": "c7g.large"}}, C.COMPLIANT),
        ("AWS::EC2::LaunchTemplate", {"LaunchTemplateData": {"InstanceType": "c6i.large"}}, C.NON_COMPLIANT),
        ("AWS::EC2::LaunchTemplate", {"LaunchTemplateData": {}}, C.NOT_APPLICABLE),
        ("AWS::AutoScaling::LaunchConfiguration", {"InstanceType": "t4g.micro"}, C.COMPLIANT),
        ("AWS::AutoScaling::LaunchConfiguration", {"InstanceType": "t3.micro"}, C.NON_COMPLIANT),
        (
            "AWS::AutoScaling::AutoScalingGroup",
            {
                "MixedInstancesPolicy": {
                    "LaunchTemplate": {"Overrides": [{"InstanceType": "m7g.large"}, {"InstanceType": "m6g.large"}]}
                }
            },
            C.COMPLIANT,
        ),
        (
            "AWS::AutoScaling::AutoScalingGroup",
            {
                "MixedInstancesPolicy": {
                    "LaunchTemplate": {"Overrides": [{"InstanceType": "m7g.large"}, {"InstanceType": "m6i.large"}]}
                }
            },
            C.NON_COMPLIANT,
        ),
        ("AWS::AutoScaling::AutoScalingGroup", {"MinSize": "1"}, C.NOT_APPLICABLE),
        (
            "AWS::Batch::ComputeEnvironment",
            {"ComputeResources": {"Type": "EC2", "InstanceTypes": ["m7g", "c7g.large"]}},
            C.COMPLIANT,
        ),
        (
            "AWS::Batch::ComputeEnvironment",
            {"ComputeResources": {"Type": "EC2", "InstanceTypes": ["optimal"]}},
            C.NON_COMPLIANT,
        ),
        ("AWS::Batch::ComputeEnvironment", {"ComputeResources": {"Type": "SPOT"}}, C.NON_COMPLIANT),
        ("AWS::Batch::ComputeEnvironment", {"ComputeResources": {"Type": "FARGATE"}}, C.NOT_APPLICABLE),
    ],
)
def test_ec2_instance_types(type_, properties, expected):
    assert ec2_instance_types.check(res(type_, **properties)).compliance is expected


def test_app_runner_is_always_refused_and_points_to_fargate():
    verdict = app_runner.check(res("AWS::AppRunner::Service", InstanceConfiguration={"Cpu": "1 vCPU"}))
    assert verdict.compliance is C.NON_COMPLIANT
    assert "ECS Fargate" in app_runner.RULE.fix
    assert app_runner.check(res(LAMBDA)).compliance is C.NOT_APPLICABLE
