"""The ways a team gets x86 by accident, one test each: CDK's defaults, copied snippets, legacy templates.

Each accident is written the way a team writes it (L2 defaults, an L1 from the docs, an included template) in one
guarded app synthesized once; every test asserts the guard names that accident, with its rule and what it found.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_batch as batch
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_eks as eks
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import cloudformation_include as cfn_include
from aws_cdk import pipelines

from graviton.guardrails.guard import GuardViolationError, guard

INLINE = lambda_.Code.from_inline("def handler(event, context): pass")
ARM = lambda_.Architecture.ARM_64

# (construct id, rule, what the guard reports): the id is the accident's construct, so tests find it by path.
ACCIDENTS = [
    ("DefaultFunction", "GG-LAMBDA", "Architectures unset"),  # lambda_.Function without architecture
    ("IncludedLegacy", "GG-LAMBDA", "Architectures unset"),  # an old template brought in with CfnInclude
    ("DefaultPipeline", "GG-CODEBUILD", "LINUX_CONTAINER"),  # CDK Pipelines' default build image is x86
    ("ArmFleetWrongType", "GG-CODEBUILD", "LINUX_CONTAINER"),  # a reserved-capacity fleet left on x86
    ("EcsOptimizedAsg", "GG-EC2", "m5.large"),  # ECS on EC2 with the sizes from the getting-started guide
    ("DefaultNodegroup", "GG-EKS", ""),  # EKS managed nodegroup with no instance types: t3.medium, x86
    ("FargateProfile", "GG-X86-ONLY", ""),  # EKS on Fargate runs x86 only
    ("BatchOnFargate", "GG-BATCH", "X86_64"),  # Batch job definition for Fargate without runtimePlatform
    ("AnyCpuLaunchTemplate", "GG-EC2", ""),  # attribute-based selection that lets x86 in
    ("SpotFleet", "GG-EC2", "c5.large"),  # a Spot fleet copied from an old runbook
    ("EdgeDistribution", "GG-X86-ONLY", ""),  # Lambda@Edge runs x86 only
    ("ImageFromX86Laptop", "GG-ASSET", "linux/amd64"),  # an arm64 image function whose asset asks for amd64
]


@pytest.fixture(scope="module")
def caught(tmp_path_factory) -> GuardViolationError:
    outdir = tmp_path_factory.mktemp("accidents")
    legacy = outdir.parent / "legacy.template.json"
    old_function = {"Role": "arn:aws:iam::123456789012:role/r", "Code": {"ZipFile": "x"}, "Handler": "index.handler"}
    legacy.write_text(
        json.dumps({"Resources": {"OldFunction": {"Type": "AWS::Lambda::Function", "Properties": old_function}}})
    )
    dockerfile_dir = outdir.parent / "image"
    dockerfile_dir.mkdir(exist_ok=True)
    (dockerfile_dir / "Dockerfile").write_text("FROM public.ecr.aws/lambda/python:3.13\n")

    app = cdk.App(outdir=str(outdir))
    guard(app)
    stack = cdk.Stack(app, "Accidents")
    lambda_.Function(
        stack, "DefaultFunction", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler", code=INLINE
    )
    cfn_include.CfnInclude(stack, "IncludedLegacy", template_file=str(legacy))

    pipelines.CodePipeline(
        stack,
        "DefaultPipeline",
        synth=pipelines.ShellStep(
            "Synth", input=pipelines.CodePipelineSource.git_hub("org/repo", "main"), commands=["npx cdk synth"]
        ),
    )
    codebuild.Fleet(
        stack, "ArmFleetWrongType", base_capacity=1, compute_type=codebuild.FleetComputeType.SMALL,
        environment_type=codebuild.EnvironmentType.LINUX_CONTAINER,
    )  # fmt: skip

    vpc = ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=0, restrict_default_security_group=False)
    autoscaling.AutoScalingGroup(
        stack, "EcsOptimizedAsg", vpc=vpc, instance_type=ec2.InstanceType("m5.large"),
        machine_image=ecs.EcsOptimizedImage.amazon_linux2023(),
    )  # fmt: skip
    eks.CfnNodegroup(stack, "DefaultNodegroup", cluster_name="c", node_role="arn:aws:iam::1:role/n", subnets=["s"])
    eks.CfnFargateProfile(
        stack, "FargateProfile", cluster_name="c", pod_execution_role_arn="arn:aws:iam::1:role/p",
        selectors=[eks.CfnFargateProfile.SelectorProperty(namespace="default")],
    )  # fmt: skip
    batch.EcsJobDefinition(
        stack, "BatchOnFargate",
        container=batch.EcsFargateContainerDefinition(
            stack, "BatchContainer", image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox"),
            cpu=1, memory=cdk.Size.gibibytes(2),
        ),
    )  # fmt: skip
    ec2.CfnLaunchTemplate(
        stack, "AnyCpuLaunchTemplate",
        launch_template_data=ec2.CfnLaunchTemplate.LaunchTemplateDataProperty(
            instance_requirements=ec2.CfnLaunchTemplate.InstanceRequirementsProperty(
                v_cpu_count=ec2.CfnLaunchTemplate.VCpuCountProperty(min=2),
                memory_mib=ec2.CfnLaunchTemplate.MemoryMiBProperty(min=4096),
            )
        ),
    )  # fmt: skip
    ec2.CfnSpotFleet(
        stack, "SpotFleet",
        spot_fleet_request_config_data=ec2.CfnSpotFleet.SpotFleetRequestConfigDataProperty(
            iam_fleet_role="arn:aws:iam::1:role/f", target_capacity=2,
            launch_specifications=[ec2.CfnSpotFleet.SpotFleetLaunchSpecificationProperty(image_id="ami-1", instance_type="c5.large")],
        ),
    )  # fmt: skip

    edge_function = lambda_.Function(
        stack, "EdgeHandler", runtime=lambda_.Runtime.NODEJS_22_X, handler="index.handler",
        code=lambda_.Code.from_inline("exports.handler = async (e) => e.Records[0].cf.request;"), architecture=ARM,
    )  # fmt: skip
    cloudfront.Distribution(
        stack, "EdgeDistribution",
        default_behavior=cloudfront.BehaviorOptions(
            origin=origins.S3BucketOrigin.with_origin_access_control(s3.Bucket(stack, "Site")),
            edge_lambdas=[cloudfront.EdgeLambda(function_version=edge_function.current_version,
                                                event_type=cloudfront.LambdaEdgeEventType.VIEWER_REQUEST)],
        ),
    )  # fmt: skip
    lambda_.DockerImageFunction(
        stack, "ImageFromX86Laptop", architecture=ARM,
        code=lambda_.DockerImageCode.from_image_asset(str(dockerfile_dir), platform=cdk.aws_ecr_assets.Platform.LINUX_AMD64),
    )  # fmt: skip
    with pytest.raises(GuardViolationError) as error:
        app.synth()
    return error.value


@pytest.mark.parametrize(("construct_id", "rule", "found"), ACCIDENTS, ids=[a[0] for a in ACCIDENTS])
def test_the_guard_names_each_accident(caught, construct_id, rule, found):
    named = [v for v in caught.violations if v.rule == rule and f"/{construct_id}" in v.path]
    assert named, f"{construct_id}: no {rule} violation; got:\n{caught}"
    assert any(found in v.found for v in named), [v.found for v in named]


def test_nothing_else_is_refused(caught):
    """The rest of the app (the VPC, the bucket, the arm64 edge handler's own function) passes: only the accidents
    fail, so each accident test fails for its own reason."""
    accidents = (*(f"/{construct_id}" for construct_id, _, _ in ACCIDENTS), "/BatchContainer")
    others = [v for v in caught.violations if not any(a in v.path for a in accidents)]
    assert not others, "\n".join(v.line() for v in others)
