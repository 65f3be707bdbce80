"""Every Lambda function CDK makes comes out arm64 under the guard, or synth is refused with the alternative.

The function a construct created is found by its code: a code asset whose files are CDK's handler folder, or
inline code that is the handler's source, never by a logical id or by what remediation recognises.
"""

from __future__ import annotations

import functools
import json
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_eks as eks
from aws_cdk import aws_eks_v2 as eks_v2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from aws_cdk import aws_ses as ses
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from aws_cdk import aws_synthetics as synthetics
from aws_cdk import triggers
from aws_cdk.assertions import Template

from graviton.guardrails.cdk_handlers import HANDLERS, OTHER_HANDLERS, Handling, Status
from graviton.guardrails.guard import GuardedStage, GuardViolationError, guard

ENV = cdk.Environment(account="123456789012", region="eu-west-1")
INLINE = lambda_.Code.from_inline("def handler(event, context): pass")
HANDLER_DIST = "package/custom-resource-handlers/dist/"
OTHER_ROOT = "package/"
TARBALL = next((Path(cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz"))
DECIDE_AT = "constructs/graviton/guardrails/cdk_handlers.py"


def _source_prefix(key: str) -> str:
    return f"{HANDLER_DIST}{key}/" if key in HANDLERS else f"{OTHER_ROOT}{key}/"


@dataclass(frozen=True)
class Tarball:
    """What the tests read from the installed aws-cdk-lib's tarball, in one pass over it."""

    names: frozenset[str]  # every member's name
    sources: dict[str, bytes]  # the .js / .py files directly inside a handler folder of either table, by name


@functools.cache
def tarball() -> Tarball:
    """One streaming pass over the gzipped tarball (random access would decompress it again for each member);
    read on first use, so collecting this module costs nothing."""
    prefixes = {_source_prefix(key) for key in {**HANDLERS, **OTHER_HANDLERS}}
    names: set[str] = set()
    sources: dict[str, bytes] = {}
    with tarfile.open(TARBALL, "r|gz") as tar:
        for member in tar:
            names.add(member.name)
            folder, _, file = member.name.rpartition("/")
            if f"{folder}/" in prefixes and member.isfile() and file.endswith((".js", ".py")):
                sources[member.name] = tar.extractfile(member).read()  # type: ignore[union-attr]
    return Tarball(frozenset(names), sources)


def handler_folders() -> set[str]:
    """<module>/<handler> for each handler folder of the installed aws-cdk-lib (files beside them are its
    generated provider classes)."""
    return {
        "/".join(name.removeprefix(HANDLER_DIST).split("/")[:2])
        for name in tarball().names
        if name.startswith(HANDLER_DIST) and name.count("/") >= 5
    }


def handler_sources(key: str) -> dict[str, bytes]:
    """The handler's top-level source files (index.js / index.py) from the installed aws-cdk-lib."""
    prefix = _source_prefix(key)
    return {
        name.removeprefix(prefix): text
        for name, text in tarball().sources.items()
        if name.startswith(prefix) and "/" not in name.removeprefix(prefix)
    }


def test_the_table_decides_every_handler_folder_of_the_installed_aws_cdk_lib():
    folders = handler_folders()
    assert folders, f"no handler folders found in {TARBALL}"
    assert folders == set(HANDLERS), (
        f"aws-cdk-lib's handler folders changed: undecided {sorted(folders - set(HANDLERS))}, "
        f"gone {sorted(set(HANDLERS) - folders)}; decide each in HANDLERS in {DECIDE_AT}"
    )


def test_the_other_handlers_exist_in_the_installed_aws_cdk_lib():
    missing = [key for key in OTHER_HANDLERS if not handler_sources(key)]
    assert not missing, f"no handler code at {missing}; update OTHER_HANDLERS in {DECIDE_AT}"


def test_core_providers_outside_the_handler_folders_are_all_in_the_table():
    """core/lib/dist/core holds CDK's core providers' code: each folder there is decided too."""
    core = {
        "/".join(name.removeprefix(OTHER_ROOT).split("/")[:5])
        for name in tarball().names
        if name.startswith(f"{OTHER_ROOT}core/lib/dist/core/") and name.count("/") >= 6
    }
    assert core and core <= set(OTHER_HANDLERS), f"decide {sorted(core - set(OTHER_HANDLERS))} in {DECIDE_AT}"


def test_every_refused_handler_names_an_alternative_and_every_remediated_one_how_it_is_recognised():
    for key, handling in {**HANDLERS, **OTHER_HANDLERS}.items():
        assert handling.reason, key
        assert bool(handling.recognised_by) == (handling.status is Status.REMEDIATED), key


# --- what builds each handler's function: one callable per table entry the tests synthesize -----------------


def arm_function(scope, id: str) -> lambda_.Function:
    return lambda_.Function(
        scope, id, runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler", code=INLINE,
        architecture=lambda_.Architecture.ARM_64,
    )  # fmt: skip


def _zone(stack: cdk.Stack) -> route53.HostedZone:
    return stack.node.try_find_child("Zone") or route53.HostedZone(stack, "Zone", zone_name="example.com")


def _arm_vpc(stack: cdk.Stack) -> ec2.Vpc:
    return stack.node.try_find_child("Vpc") or ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)


def certificate(stack: cdk.Stack) -> None:
    acm.DnsValidatedCertificate(stack, "Certificate", domain_name="www.example.com", hosted_zone=_zone(stack))


def edge_function(stack: cdk.Stack) -> None:
    cloudfront.experimental.EdgeFunction(
        stack, "Edge", runtime=lambda_.Runtime.NODEJS_22_X, handler="index.handler",
        code=lambda_.Code.from_inline("exports.handler = async () => {}"), architecture=lambda_.Architecture.ARM_64,
    )  # fmt: skip


def replica_table(stack: cdk.Stack) -> None:
    dynamodb.Table(
        stack, "Replicated", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        replication_regions=["eu-west-2"], removal_policy=cdk.RemovalPolicy.DESTROY,
    )  # fmt: skip


def restricted_vpc(stack: cdk.Stack) -> None:
    ec2.Vpc(stack, "Restricted", max_azs=1, nat_gateways=0, restrict_default_security_group=True)


def emptied_repository(stack: cdk.Stack) -> None:
    # empty_on_delete is CloudFormation's EmptyOnDelete now; the deprecated auto_delete_images still makes the function
    ecr.Repository(stack, "Repository", auto_delete_images=True, removal_policy=cdk.RemovalPolicy.DESTROY)


def ecs_drain_hook(stack: cdk.Stack) -> None:
    cluster = ecs.Cluster(stack, "Cluster", vpc=_arm_vpc(stack))
    cluster.add_capacity(
        "Arm", instance_type=ec2.InstanceType("m7g.large"),
        machine_image=ecs.EcsOptimizedImage.amazon_linux2023(ecs.AmiHardwareType.ARM),
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
    )  # fmt: skip


def eks_cluster_resource(stack: cdk.Stack) -> None:
    eks.Cluster(
        stack, "Eks", version=eks.KubernetesVersion.V1_32, default_capacity=0, vpc=_arm_vpc(stack),
        vpc_subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC)], authentication_mode=eks.AuthenticationMode.API, bootstrap_cluster_creator_admin_permissions=False,
        kubectl_layer=lambda_.LayerVersion.from_layer_version_arn(
            stack, "EksLayer", "arn:aws:lambda:eu-west-1:123456789012:layer:kubectl:1"
        ),
    )  # fmt: skip


def eks_kubectl(stack: cdk.Stack) -> None:
    cluster = eks.Cluster(
        stack, "Eks", version=eks.KubernetesVersion.V1_32, default_capacity=0,
        kubectl_layer=lambda_.LayerVersion.from_layer_version_arn(
            stack, "Layer", "arn:aws:lambda:eu-west-1:123456789012:layer:kubectl:1"
        ),
    )  # fmt: skip
    cluster.add_manifest("Namespace", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}})


def eks_v2_kubectl(stack: cdk.Stack) -> None:
    cluster = eks_v2.Cluster(
        stack, "EksV2", version=eks_v2.KubernetesVersion.V1_32,
        kubectl_provider_options=eks_v2.KubectlProviderOptions(
            kubectl_layer=lambda_.LayerVersion.from_layer_version_arn(
                stack, "Layer", "arn:aws:lambda:eu-west-1:123456789012:layer:kubectl:1"
            )
        ),
    )  # fmt: skip
    cluster.add_manifest("Namespace", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}})


def aws_api_target(stack: cdk.Stack) -> None:
    rule = events.Rule(stack, "Schedule", schedule=events.Schedule.rate(cdk.Duration.hours(1)))
    rule.add_target(targets.AwsApi(service="S3", action="listBuckets"))


def glue_partition_index(stack: cdk.Stack) -> None:
    database = glue.Database(stack, "Database")
    glue.S3Table(
        stack, "Table", database=database, data_format=glue.DataFormat.JSON,
        columns=[glue.Column(name="value", type=glue.Schema.STRING)],
        partition_keys=[glue.Column(name="day", type=glue.Schema.STRING)],
        partition_indexes=[glue.PartitionIndex(key_names=["day"])],
    )  # fmt: skip


def oidc(stack: cdk.Stack) -> None:
    iam.OpenIdConnectProvider(stack, "Oidc", url="https://token.actions.githubusercontent.com", client_ids=["sts"])


def log_retention(stack: cdk.Stack) -> None:
    logs.LogRetention(stack, "Retention", log_group_name="/some/group", retention=logs.RetentionDays.ONE_DAY)


def zone_delegation(stack: cdk.Stack) -> None:
    route53.CrossAccountZoneDelegationRecord(
        stack, "Delegation", delegated_zone=_zone(stack), parent_hosted_zone_name="parent.example.com",
        delegation_role=iam.Role.from_role_arn(stack, "DelegationRole", "arn:aws:iam::210987654321:role/delegate"),
    )  # fmt: skip


def delete_existing_record(stack: cdk.Stack) -> None:
    route53.ARecord(
        stack, "Record", zone=_zone(stack), target=route53.RecordTarget.from_ip_addresses("192.0.2.1"),
        delete_existing=True,
    )  # fmt: skip


def bucket_deployment(stack: cdk.Stack) -> None:
    s3_deployment.BucketDeployment(
        stack, "Deployment", destination_bucket=s3.Bucket(stack, "Site"),
        sources=[s3_deployment.Source.data("index.html", "<html></html>")],
    )  # fmt: skip


def auto_delete_bucket(stack: cdk.Stack) -> None:
    s3.Bucket(stack, "Emptied", auto_delete_objects=True, removal_policy=cdk.RemovalPolicy.DESTROY)


def bucket_notifications(stack: cdk.Stack) -> None:
    s3.Bucket(stack, "Notifying", event_bridge_enabled=True)


def drop_spam(stack: cdk.Stack) -> None:
    ses.ReceiptRuleSet(stack, "RuleSet", drop_spam=True)


def _state_machine(stack: cdk.Stack, id: str, task: sfn.IChainable) -> None:
    sfn.StateMachine(stack, id, definition_body=sfn.DefinitionBody.from_chainable(task))


def cross_region_sdk(stack: cdk.Stack) -> None:
    task = tasks.CallAwsServiceCrossRegion(
        stack, "CrossRegion", service="s3", action="listBuckets", region="us-east-1",
        iam_resources=["*"], parameters={},
    )  # fmt: skip
    _state_machine(stack, "CrossRegionMachine", task)


def evaluate_expression(stack: cdk.Stack) -> None:
    _state_machine(stack, "EvalMachine", tasks.EvaluateExpression(stack, "Eval", expression="$.a + $.b"))


# cx-api's STEPFUNCTIONS_TASKS_EVALUATE_EXPRESSION_DEDICATED_FUNCTION (not exported to Python)
DEDICATED_EVAL_FLAG = "@aws-cdk/aws-stepfunctions-tasks:evaluateExpressionDedicatedFunction"


def evaluate_expression_dedicated(stack: cdk.Stack) -> None:
    """The same task with CDK's newer dedicated-function flag: the function is the task's own child."""
    stack.node.set_context(DEDICATED_EVAL_FLAG, True)
    _state_machine(stack, "DedicatedMachine", tasks.EvaluateExpression(stack, "Dedicated", expression="$.a"))


def emr_containers_job(stack: cdk.Stack) -> None:
    task = tasks.EmrContainersStartJobRun(
        stack, "EmrJob", virtual_cluster=tasks.VirtualClusterInput.from_virtual_cluster_id("vc-123"),
        release_label=tasks.ReleaseLabel.EMR_6_2_0,
        job_driver=tasks.JobDriver(spark_submit_job_driver=tasks.SparkSubmitJobDriver(
            entry_point=sfn.TaskInput.from_text("local:///usr/lib/spark/examples/src/main/python/pi.py"))),
    )  # fmt: skip
    _state_machine(stack, "EmrMachine", task)


def canary_cleanup(stack: cdk.Stack) -> None:
    synthetics.Canary(
        stack, "Canary", runtime=synthetics.Runtime.SYNTHETICS_NODEJS_PUPPETEER_9_1,
        test=synthetics.Test.custom(handler="index.handler", code=synthetics.Code.from_inline(
            "exports.handler = async () => {};")),
        cleanup=synthetics.Cleanup.LAMBDA,
    )  # fmt: skip


def aws_custom_resource(stack: cdk.Stack) -> None:
    from aws_cdk import custom_resources as cr

    cr.AwsCustomResource(
        stack, "SdkCall",
        on_create=cr.AwsSdkCall(service="S3", action="listBuckets", physical_resource_id=cr.PhysicalResourceId.of("x")),
        policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE),
    )  # fmt: skip


def approve_lambda(stack: cdk.Stack) -> None:
    from aws_cdk import pipelines

    pipeline = pipelines.CodePipeline(  # ARM builds; only CDK's security-check project stays x86
        stack, "Pipeline",
        synth=pipelines.ShellStep("Synth", input=pipelines.CodePipelineSource.connection(
            "acme/repo", "main", connection_arn="arn:aws:codeconnections:eu-west-1:123456789012:connection/x"),
            commands=["true"]),
        code_build_defaults=pipelines.CodeBuildOptions(build_environment=codebuild.BuildEnvironment(
            build_image=codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0,
            compute_type=codebuild.ComputeType.SMALL)),
    )  # fmt: skip
    stage = GuardedStage(stack.node.root, "Approved", env=ENV)
    cdk.Stack(stage, "Inner")
    pipeline.add_stage(stage, pre=[pipelines.ConfirmPermissionsBroadening("Check", stage=stage)])
    pipeline.build_pipeline()


def trigger(stack: cdk.Stack) -> None:
    triggers.TriggerFunction(
        stack, "Trigger", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler", code=INLINE,
        architecture=lambda_.Architecture.ARM_64,
    )  # fmt: skip


def cfn_json(stack: cdk.Stack) -> None:
    cdk.CfnJson(stack, "Json", value={cdk.Fn.ref("AWS::Region"): "x"})


def cross_region_references(app: cdk.App) -> None:
    """A stack in us-east-1 whose value another region's stack reads: a writer and a reader provider."""
    east = cdk.Stack(app, "East", env=cdk.Environment(account=ENV.account, region="us-east-1"),
                     cross_region_references=True)  # fmt: skip
    west = cdk.Stack(app, "West", env=ENV, cross_region_references=True)
    topic_arn = cdk.CfnResource(east, "Topic", type="AWS::SNS::Topic").ref
    cdk.CfnOutput(west, "FromEast", value=topic_arn)


def provider_framework(stack: cdk.Stack) -> None:
    from aws_cdk import custom_resources as cr

    provider = cr.Provider(stack, "Provider", on_event_handler=arm_function(stack, "OnEvent"),
                           is_complete_handler=arm_function(stack, "IsComplete"))  # fmt: skip
    cdk.CustomResource(stack, "Custom", service_token=provider.service_token)


# handler key -> what builds it in the one stack (or, for cross-region references, in the app)
BUILDERS: dict[str, list[Callable[[cdk.Stack], None]]] = {
    "aws-certificatemanager/dns-validated-certificate-handler": [certificate],
    "aws-cloudfront/edge-function": [edge_function],
    "aws-dynamodb/replica-handler": [replica_table],
    "aws-ec2/restrict-default-security-group-handler": [restricted_vpc],
    "aws-ecr/auto-delete-images-handler": [emptied_repository],
    "aws-ecs/lambda-source": [ecs_drain_hook],
    "aws-events-targets/aws-api-handler": [aws_api_target],
    "aws-glue/partition-index-handler": [glue_partition_index],
    "aws-iam/oidc-handler": [oidc],
    "aws-logs/log-retention-handler": [log_retention],
    "aws-route53/cross-account-zone-delegation-handler": [zone_delegation],
    "aws-route53/delete-existing-record-set-handler": [delete_existing_record],
    "aws-s3-deployment/bucket-deployment-handler": [bucket_deployment],
    "aws-s3/auto-delete-objects-handler": [auto_delete_bucket],
    "aws-s3/notifications-resource-handler": [bucket_notifications],
    "aws-ses/drop-spam-handler": [drop_spam],
    "aws-stepfunctions-tasks/cross-region-aws-sdk-handler": [cross_region_sdk],
    "aws-stepfunctions-tasks/eval-nodejs-handler": [evaluate_expression, evaluate_expression_dedicated],
    "aws-synthetics/auto-delete-underlying-resources-handler": [canary_cleanup],
    "custom-resources/aws-custom-resource-handler": [aws_custom_resource],
    "triggers/lambda": [trigger],
    "core/lib/dist/core/cfn-utils-provider": [cfn_json],
    "custom-resources/lib/provider-framework/runtime": [provider_framework],
}
APP_BUILDERS: dict[str, Callable[[cdk.App], None]] = {
    "core/lib/dist/core/cross-region-ssm-reader-handler": cross_region_references,
    "core/lib/dist/core/cross-region-ssm-writer-handler": cross_region_references,
}
# Constructs whose CDK function is switched but that fail the guard for another part, so they are built in the
# refused app: eks.Cluster always adds the x86-only kubectl handler, ConfirmPermissionsBroadening an x86 CodeBuild
# project, and the AWS CLI layer of EmrContainersStartJobRun holds an x86-64 PyYAML extension (GG-ELF).
BESIDE_REFUSED: dict[str, Callable[[cdk.Stack], None]] = {
    "aws-eks/cluster-resource-handler": eks_cluster_resource,
    "aws-stepfunctions-tasks/role-policy-handler": emr_containers_job,
    "pipelines/approve-lambda": approve_lambda,
}
REFUSED_BUILDERS: dict[str, Callable[[cdk.Stack], None]] = {
    "aws-eks/kubectl-handler": eks_kubectl,
    "aws-eks-v2/kubectl-handler": eks_v2_kubectl,
}
ALL = {**HANDLERS, **OTHER_HANDLERS}
ARM64_EXPECTED = [k for k, h in ALL.items() if h.status in (Status.REMEDIATED, Status.ARM64_BY_CDK)]
REFUSED = [k for k, h in ALL.items() if h.status is Status.REFUSED]


def test_each_function_making_handler_has_a_builder_here():
    """A new REMEDIATED or REFUSED entry needs a construct below that proves it."""
    assert set(ARM64_EXPECTED) == set(BUILDERS) | set(APP_BUILDERS) | set(BESIDE_REFUSED)
    assert set(REFUSED) == set(REFUSED_BUILDERS)


# --- the synths: all arm64 constructs in one app, the refused ones in another ---------------------------------


def templates(outdir: Path) -> list[dict]:
    """Every template of the assembly, nested stacks' included."""
    return [json.loads(path.read_text()) for path in sorted(outdir.glob("**/*.template.json"))]


@functools.cache
def lambda_functions(outdir: Path) -> list[dict]:
    """Every Lambda function of the assembly (read once per synthesized app; the tests only read them)."""
    return [
        function
        for template in templates(outdir)
        for function in Template.from_json(template).find_resources("AWS::Lambda::Function").values()
    ]


def without_comments(source: str) -> str:
    """Source without comment lines, as CDK inlines the S3 notifications handler."""
    return re.sub(r"^ *#.*\n?", "", source, flags=re.MULTILINE)


def is_handler_code(code: dict, outdir: Path, sources: dict[str, bytes]) -> bool:
    """Whether a function's Code is the handler's: an asset directory holding its files, or its inline source."""
    if "ZipFile" in code:
        return any(without_comments(code["ZipFile"]) == without_comments(s.decode()) for s in sources.values())
    key = code.get("S3Key")
    if not isinstance(key, str):
        return False
    asset = outdir / f"asset.{key.removesuffix('.zip')}"
    return asset.is_dir() and all((asset / name).is_file() and (asset / name).read_bytes() == text
                                  for name, text in sources.items())  # fmt: skip


def functions_of(key: str, outdir: Path) -> list[dict]:
    """The Lambda functions in the assembly whose code is this handler's."""
    sources = handler_sources(key)
    assert sources, f"no source files for {key}"
    return [
        function
        for function in lambda_functions(outdir)
        if is_handler_code(function["Properties"]["Code"], outdir, sources)
    ]


@pytest.fixture(scope="module")
def remediated(tmp_path_factory) -> tuple[cdk.App, Path]:
    """One guarded app building every construct whose CDK function the guard switches (or CDK builds) arm64."""
    outdir = tmp_path_factory.mktemp("cdk-handlers")
    app = cdk.App(outdir=str(outdir))
    guard(app)
    stack = cdk.Stack(app, "Handlers", env=ENV)
    for builders in BUILDERS.values():
        for build in builders:
            build(stack if build is not evaluate_expression_dedicated else cdk.Stack(app, "Dedicated", env=ENV))
    for build_app in set(APP_BUILDERS.values()):
        build_app(app)
    app.synth()
    return app, outdir


@pytest.mark.parametrize("key", ARM64_EXPECTED)
def test_the_function_cdk_makes_for_it_is_arm64(remediated, refused, key):
    outdir = refused.outdir if key in BESIDE_REFUSED else remediated[1]
    functions = functions_of(key, outdir)
    assert functions, f"no function with {key}'s code in the assembly"
    assert [f["Properties"].get("Architectures") for f in functions] == [["arm64"]] * len(functions)


@dataclass
class Refused:
    error: GuardViolationError
    outdir: Path


@pytest.fixture(scope="module")
def refused(tmp_path_factory) -> Refused:
    """One guarded app with each x86-only CDK function, the constructs that fail beside them, and a user's own
    x86 functions beside CDK's."""
    outdir = tmp_path_factory.mktemp("refused")
    app = cdk.App(outdir=str(outdir))
    guard(app)
    for key, build in REFUSED_BUILDERS.items():
        build(cdk.Stack(app, key.split("/")[0], env=ENV))
    for key, build in BESIDE_REFUSED.items():
        build(cdk.Stack(app, key.split("/")[-1], env=ENV))
    user = cdk.Stack(app, "User", env=ENV)
    auto_delete_bucket(user)  # CDK's function next to the user's: switched, while the user's are not
    lambda_.Function(user, "Plain", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler", code=INLINE)
    lambda_.SingletonFunction(
        user, "Singleton", uuid="5a1c0c7e-0000-4000-8000-000000000001", runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler", code=INLINE,
    )  # fmt: skip
    with pytest.raises(GuardViolationError) as caught:
        app.synth()
    return Refused(caught.value, outdir)


@pytest.mark.parametrize("key", REFUSED)
def test_an_x86_only_cdk_function_fails_synth_naming_the_alternative(refused, key):
    error = refused.error
    stack = key.split("/")[0]
    handling: Handling = ALL[key]
    found = [v for v in error.violations if v.stack == stack and v.rule == "GG-LAMBDA"]
    assert found, f"no GG-LAMBDA violation in {stack}:\n{error}"
    assert any(v.fix == handling.reason for v in found)
    assert handling.reason in str(error)


@pytest.mark.parametrize("path_part", ["User/Plain/", "User/SingletonLambda5a1c0c7e000040008000000000000001/"])
def test_a_users_own_x86_function_beside_cdks_is_still_a_violation(refused, path_part):
    found = [v for v in refused.error.violations if path_part in v.path]
    assert found and not any(v.remediated for v in found), f"{path_part} was switched or not reported:\n{refused.error}"


def test_cdks_function_beside_the_users_is_switched(refused):
    assert not [v for v in refused.error.violations if v.stack == "User" and "AutoDeleteObjects" in v.path]
