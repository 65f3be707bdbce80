"""The guard on real synths: the cases naive guards miss, remediation of CDK's own functions, the report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr
from support import ROOT, run

from graviton.guardrails.guard import GuardedStage, GuardViolationError, guard, guard_report

FIXTURES = ROOT / "tests" / "fixtures"
INLINE = lambda_.Code.from_inline("def handler(event, context): pass")


def arm_function(scope, id: str, **kwargs) -> lambda_.Function:
    return lambda_.Function(
        scope, id, runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler", code=INLINE,
        architecture=lambda_.Architecture.ARM_64, **kwargs,
    )  # fmt: skip


def x86_function(scope, id: str) -> lambda_.Function:
    return lambda_.Function(scope, id, runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler", code=INLINE)


def cdk_own_functions(stack: cdk.Stack) -> None:
    """Every CDK-internal function the guard switches to arm64."""
    provider = cr.Provider(stack, "Provider", on_event_handler=arm_function(stack, "OnEvent"))
    cdk.CustomResource(stack, "Custom", service_token=provider.service_token)
    cr.AwsCustomResource(
        stack, "SdkCall",
        on_create=cr.AwsSdkCall(service="S3", action="listBuckets", physical_resource_id=cr.PhysicalResourceId.of("x")),
        policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE),
    )  # fmt: skip
    logs.LogRetention(stack, "Retention", log_group_name="/some/group", retention=logs.RetentionDays.ONE_DAY)
    s3.Bucket(stack, "Bucket", auto_delete_objects=True, removal_policy=cdk.RemovalPolicy.DESTROY)
    ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=0, restrict_default_security_group=True, subnet_configuration=[])


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """An arm64-only app that uses CDK's own functions everywhere, including a guarded Stage and a NestedStack."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("good")))
    guard(app)
    top = cdk.Stack(app, "Top")
    cdk_own_functions(top)
    arm_function(cdk.NestedStack(top, "Nested"), "InNested")
    ecr_assets.DockerImageAsset(
        top, "Image", directory=str(FIXTURES / "docker" / "arm64"), platform=ecr_assets.Platform.LINUX_ARM64
    )
    stage = GuardedStage(app, "Stage")
    cdk_own_functions(cdk.Stack(stage, "Inner"))
    app.synth()
    return app, top


def test_an_arm64_only_app_synthesizes_cleanly(good):
    app, _ = good
    decisions = guard_report(app)
    assert decisions and all(d.compliant for d in decisions)


def test_cdk_own_functions_are_switched_to_arm64_in_every_guarded_scope(good):
    app, _ = good
    remediated = {(d.stack, d.remediated) for d in guard_report(app) if d.remediated}
    kinds = {kind for _, kind in remediated}
    assert "AwsCustomResource singleton" in kinds
    assert "LogRetention" in kinds
    assert "CDK Custom::S3AutoDeleteObjectsCustomResourceProvider" in kinds
    assert "CDK Custom::VpcRestrictDefaultSGCustomResourceProvider" in kinds
    assert "custom resource Provider framework-onEvent" in kinds
    assert {stack for stack, _ in remediated} == {"Top", "Stage/Inner"}


def test_every_synth_writes_the_report(good):
    app, _ = good
    report = json.loads((Path(app.outdir) / "arm64-report.json").read_text())
    checked = report["checked"]
    assert {"GG-LAMBDA", "GG-ASSET", "GG-DOCKERFILE"} <= {d["rule"] for d in checked}
    assert any(d["stack"] == "Top" and d["remediated"] == "LogRetention" for d in checked)
    assert all(set(d) >= {"stack", "path", "type", "rule", "compliant", "found", "remediated"} for d in checked)


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """One app with every kind of violation, spread over clean and bad stacks, stages and nested stacks."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("bad")))
    guard(app)
    cdk.Stack(app, "Clean")
    stack = cdk.Stack(app, "Bad")
    x86_function(stack, "PlainL2")
    overridden = arm_function(stack, "Overridden")
    overridden.node.default_child.add_property_override("Architectures", ["x86_64"])
    lambda_.CfnFunction(
        stack,
        "L1",
        role="arn:aws:iam::123456789012:role/r",
        code=lambda_.CfnFunction.CodeProperty(zip_file="x"),
        runtime="python3.13",
        handler="index.handler",
    )
    cdk.CfnResource(stack, "Raw", type="AWS::Lambda::Function", properties={"Role": "r", "Code": {"ZipFile": "x"}})
    param = cdk.CfnParameter(stack, "Arch", default="arm64")
    tokenised = arm_function(stack, "Tokenised")
    tokenised.node.default_child.add_property_override("Architectures", [param.value_as_string])
    codebuild.Project(stack, "X86Build", build_spec=codebuild.BuildSpec.from_object({"version": "0.2"}))
    task = ecs.FargateTaskDefinition(
        stack, "ArmTask",
        runtime_platform=ecs.RuntimePlatform(cpu_architecture=ecs.CpuArchitecture.ARM64, operating_system_family=ecs.OperatingSystemFamily.LINUX),
    )  # fmt: skip
    task.add_container("app", image=ecs.ContainerImage.from_asset(str(FIXTURES / "docker" / "arm64")))
    ecs.FargateTaskDefinition(stack, "DefaultTask").add_container(
        "app", image=ecs.ContainerImage.from_registry("nginx")
    )
    ecr_assets.DockerImageAsset(
        stack, "PinsAmd64", directory=str(FIXTURES / "docker" / "amd64"), platform=ecr_assets.Platform.LINUX_ARM64
    )
    lambda_.DockerImageFunction(
        stack, "ImageFunction", code=lambda_.DockerImageCode.from_image_asset(str(FIXTURES / "docker" / "lambda"))
    )
    build_image = codebuild.LinuxBuildImage.from_asset(
        stack, "BuildImage", directory=str(FIXTURES / "docker" / "codebuild-image")
    )
    codebuild.Project(
        stack,
        "CustomImageBuild",
        environment=codebuild.BuildEnvironment(build_image=build_image),
        build_spec=codebuild.BuildSpec.from_object({"version": "0.2"}),
    )
    ec2.CfnInstance(stack, "Instance", instance_type="m5.large", image_id="ami-123")
    cdk.CfnResource(stack, "Runner", type="AWS::AppRunner::Service", properties={"SourceConfiguration": {}})
    x86_function(cdk.NestedStack(stack, "Nested"), "InNested")
    Validations.of(stack).acknowledge(Acknowledgment(id="GravitonGuard::GG-LAMBDA", reason="trying to suppress"))
    unguarded = cdk.Stage(app, "Unguarded")
    s3.Bucket(
        cdk.Stack(unguarded, "Inner"), "Bucket", auto_delete_objects=True, removal_policy=cdk.RemovalPolicy.DESTROY
    )
    guarded = GuardedStage(app, "Guarded")
    x86_function(cdk.Stack(guarded, "Inner"), "InStage")
    with pytest.raises(GuardViolationError) as caught:
        app.synth()
    return caught.value


def violation_of(error: GuardViolationError, rule: str, path_part: str):
    matches = [v for v in error.violations if v.rule == rule and path_part in v.path]
    assert matches, f"no {rule} violation at {path_part}; got:\n{error}"
    return matches[0]


@pytest.mark.parametrize(
    ("rule", "path_part", "found"),
    [
        ("GG-LAMBDA", "Bad/PlainL2/", "x86_64 (Architectures unset)"),
        ("GG-LAMBDA", "Bad/Overridden/", "x86_64"),  # raw override after the L2 said arm64
        ("GG-LAMBDA", "Bad/L1", "Architectures unset"),
        ("GG-LAMBDA", "Bad/Raw", "Architectures unset"),
        ("GG-LAMBDA", "Bad/Tokenised/", "unresolved at synth"),
        ("GG-CODEBUILD", "Bad/X86Build/", "LINUX_CONTAINER"),
        ("GG-ASSET", "Bad/ArmTask/app/AssetImage", "no platform set"),  # ContainerImage.from_asset in an ARM64 task
        ("GG-ECS", "Bad/DefaultTask/", "X86_64"),
        ("GG-DOCKERFILE", "Bad/PinsAmd64", "FROM --platform=linux/amd64"),
        ("GG-EC2", "Bad/Instance", "m5.large"),
        ("GG-APPRUNNER", "Bad/Runner", "x86_64"),
        ("GG-LAMBDA", "Bad/Nested/InNested/", "Architectures unset"),
        ("GG-LAMBDA", "Bad/ImageFunction/", "Architectures unset"),  # DockerImageFunction without ARM_64
        ("GG-ASSET", "Bad/ImageFunction/", "no platform set"),  # ... and so its image asset has no platform
        ("GG-ASSET", "Bad/BuildImage", "no platform set"),  # CodeBuild image from an asset
        ("GG-CODEBUILD", "Bad/CustomImageBuild/", "LINUX_CONTAINER"),
        ("GG-LAMBDA", "Unguarded/Inner/Custom::S3AutoDeleteObjectsCustomResourceProvider", "Architectures unset"),
        ("GG-LAMBDA", "Guarded/Inner/InStage/", "Architectures unset"),
    ],
)
def test_each_violation_is_found_wherever_and_however_it_was_written(bad, rule, path_part, found):
    assert found in violation_of(bad, rule, path_part).found


def test_the_error_lists_every_violation_with_path_rule_type_value_and_fix(bad):
    message = str(bad)
    assert message.startswith(f"arm64 guard: {len(bad.violations)} violation(s)")
    assert len(bad.violations) >= 18
    line = next(line for line in message.splitlines() if "Bad/PlainL2/" in line)
    assert (
        "GG-LAMBDA" in line
        and "AWS::Lambda::Function" in line
        and "set architecture=lambda_.Architecture.ARM_64" in line
    )


def test_a_clean_stack_beside_bad_ones_has_no_violations(bad):
    assert not [v for v in bad.violations if v.stack == "Clean"]


def test_an_unguarded_stage_says_how_to_guard_it(bad):
    assert "GuardedStage" in violation_of(bad, "GG-LAMBDA", "Unguarded/Inner/").fix


def test_acknowledging_a_guard_rule_suppresses_nothing(bad):
    assert violation_of(bad, "GG-LAMBDA", "Bad/PlainL2/")


def test_a_users_own_function_is_never_switched_silently(bad):
    assert not violation_of(bad, "GG-LAMBDA", "Bad/PlainL2/").remediated


def test_guard_refuses_a_scope_that_is_not_an_app_or_stage():
    app = cdk.App()
    with pytest.raises(TypeError, match="must be an App or a Stage"):
        guard(cdk.Stack(app, "S"))


def test_cdk_synth_of_a_violation_inside_a_stage_exits_1_with_the_list_and_no_traceback(tmp_path):
    """The app itself exits 1 (the CLI names its exit code) and prints the list; nothing catches the error."""
    app = f"{sys.executable} tests/fixtures/apps/stage_violation.py"
    result = run(["cdk", "synth", "--quiet", "-o", str(tmp_path), "--app", app])
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"{app}: Subprocess exited with error 1" in output
    assert "GG-LAMBDA  Nested/Inner/X86Function/Resource" in output
    assert "Traceback" not in output


def test_remediation_also_runs_when_cdk_itself_starts_the_synth(tmp_path):
    """Template.from_stack and CDK Pipelines' add_stage synthesize from the Node side, not via app.synth()."""
    from aws_cdk.assertions import Template

    app = cdk.App(outdir=str(tmp_path))
    guard(app)
    stage = GuardedStage(app, "Early")
    inner = cdk.Stack(stage, "Inner")
    s3.Bucket(inner, "Bucket", auto_delete_objects=True, removal_policy=cdk.RemovalPolicy.DESTROY)
    stage.synth()  # what pipelines.add_stage does
    stack = cdk.Stack(app, "Top")
    s3.Bucket(stack, "Bucket", auto_delete_objects=True, removal_policy=cdk.RemovalPolicy.DESTROY)
    for template in (Template.from_stack(stack), Template.from_stack(inner)):
        functions = template.find_resources("AWS::Lambda::Function")
        assert [f["Properties"]["Architectures"] for f in functions.values()] == [["arm64"]]
