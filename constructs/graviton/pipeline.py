"""CDK Pipelines on Graviton: ARM CodeBuild for every project the pipeline creates, the post-deploy
architecture verification step, the CodePipeline V2 push trigger and failure notifications."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import ArnFormat, CfnOutput, Environment, Stack, Token, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codestarnotifications as notifications
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns

from constructs import Construct
from graviton.alarms import service_topic
from graviton.config import AppConfig
from graviton.constants import BUILD_COMPUTE, BUILD_IMAGE, stack_name
from graviton.nag import acknowledge, arn, logical_id

# Pinned in every pipeline project: the image's defaults move when a runtime reaches end of life.
BUILD_RUNTIMES = {"python": "3.12", "nodejs": "22"}
# The verification command, run from the source checkout. Its URL checks need the standard library only; its AWS
# checks need boto3, which the step installs at the version requirements.txt pins.
VERIFY_SCRIPT = "constructs/graviton/verify.py"
# What the AWS checks read: the stack, its functions, task definitions, projects and nodes, the images they run.
VERIFY_STACK_ACTIONS = ("cloudformation:DescribeStacks", "cloudformation:ListStackResources")
VERIFY_IMAGE_ACTIONS = ("ecr:DescribeImages", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
# Neither supports resource-level permissions: both read any task definition or instance of the account.
VERIFY_UNSCOPED_ACTIONS = ("ecs:DescribeTaskDefinition", "ec2:DescribeInstances")
# The failed action names what broke, the failed execution that the run stopped (a failed stage adds nothing).
# Literal ids: jsii's Python enums carry member names, not the service's event ids.
FAILURE_EVENTS = (
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-action-execution-failed",
    # Approvers learn that prod is waiting for them.
    "codepipeline-pipeline-manual-approval-needed",
)


def arm_build_environment() -> codebuild.BuildEnvironment:
    """Graviton CodeBuild (ARM_CONTAINER, Amazon Linux 2023 aarch64)."""
    return codebuild.BuildEnvironment(build_image=BUILD_IMAGE, compute_type=BUILD_COMPUTE)


def arm_code_build_options(*, pin_runtimes: bool = False) -> pipelines.CodeBuildOptions:
    """CodeBuild options that put a CDK Pipelines project on Graviton (and, once, pin its runtimes)."""
    spec = {"phases": {"install": {"runtime-versions": BUILD_RUNTIMES}}} if pin_runtimes else None
    return pipelines.CodeBuildOptions(
        build_environment=arm_build_environment(),
        partial_build_spec=codebuild.BuildSpec.from_object(spec) if spec else None,
    )


def pipeline_environment(config: AppConfig) -> Environment | None:
    """Where PipelineStack lives: `pipeline_account`/`pipeline_region`, else dev's, else environment-agnostic."""
    dev = config.environments.get("dev")
    account = config.pipeline_account or (dev.account if dev else None)
    region = config.pipeline_region or (dev.region if dev else None)
    return Environment(account=account, region=region) if account or region else None


def placement_problem(config: AppConfig) -> str | None:
    """One line when CDK Pipelines could not place the pipeline: a stage pinned to an account or region needs
    the pipeline's own account and region (CDK refuses cross-environment actions from an agnostic pipeline)."""
    environment = pipeline_environment(config)
    if environment and environment.account and environment.region:
        return None
    pinned = [name for name, s in config.environments.items() if s.account or s.region]
    if not pinned:
        return None
    return (
        f"cdk.json: PipelineStack needs an account and a region because environments.{pinned[0]} sets one;"
        " set 'pipeline_account' and 'pipeline_region' (or dev's 'account' and 'region')"
    )


def needs_cross_account_keys(config: AppConfig) -> bool:
    """True when an environment deploys to an account other than the pipeline's (an unset account is the
    pipeline's own: CDK Pipelines deploys environment-agnostic stages there)."""
    environment = pipeline_environment(config)
    pipeline_account = environment.account if environment else None
    return any(s.account and s.account != pipeline_account for s in config.environments.values())


def env_variable(service: str) -> str:
    """`web-api` -> `WEB_API_URL`: the shell variable that carries a service's URL output."""
    return f"{service.upper().replace('-', '_')}_URL"


@dataclass(frozen=True)
class VerifyReads:
    """What the verify step's role may read for the AWS checks, and the cdk-nag IAM5 findings (with their reasons)
    that those reads raise on its policy."""

    statements: tuple[iam.PolicyStatement, ...]
    findings: Mapping[str, str]


def verifies_in_aws(config: AppConfig, environment: str) -> bool:
    """True when the environment deploys into the pipeline's account (an unset account is the pipeline's own), so
    the step's role can read its stack and resources."""
    account = config.environment(environment).account
    pipeline = pipeline_environment(config)
    return not account or account == (pipeline.account if pipeline else None)


def verify_reads(scope: Construct, config: AppConfig, environment: str) -> VerifyReads:
    """Read-only access to `environment`'s stack, functions, task definitions, projects and nodes, and to the
    repositories its images come from (the building environment's, for a promoted one), as narrowly as IAM allows.

    `scope` is in PipelineStack: an environment without an account or region is in the pipeline's.
    """
    stack = Stack.of(scope)
    settings = config.environment(environment)
    building = settings.images_from or environment
    source = config.environment(building)
    name = stack_name(environment)
    where = {"region": settings.region or stack.region, "account": settings.account or stack.account}
    source_where = {"region": source.region or stack.region, "account": source.account or stack.account}

    def arn_of(service: str, resource: str, resource_name: str, arn_format: ArnFormat, at: dict[str, str]) -> str:
        return stack.format_arn(
            service=service, resource=resource, resource_name=resource_name, arn_format=arn_format, **at
        )

    def finding(service: str, resource: str, at: dict[str, str]) -> str:
        """The ARN as cdk-nag writes it in a finding: pseudo parameters as `<AWS::Region>`, known values as is."""
        parts = {
            "partition": ("<AWS::Partition>", stack.partition),
            "region": ("<AWS::Region>", at["region"]),
            "account": ("<AWS::AccountId>", at["account"]),
        }
        shown = {key: token if Token.is_unresolved(value) else value for key, (token, value) in parts.items()}
        return f"Resource::arn:{shown['partition']}:{service}:{shown['region']}:{shown['account']}:{resource}"

    slash, colon = ArnFormat.SLASH_RESOURCE_NAME, ArnFormat.COLON_RESOURCE_NAME
    # `<project>-<building environment>-<service>`, as EnvironmentStack names them (a pipeline test compares).
    repositories = [
        arn_of("ecr", "repository", f"{config.project}-{building}-{service.name}", slash, source_where)
        for service in config.services
    ]
    statements = (
        iam.PolicyStatement(
            actions=list(VERIFY_STACK_ACTIONS), resources=[arn_of("cloudformation", "stack", f"{name}/*", slash, where)]
        ),
        iam.PolicyStatement(
            actions=["lambda:GetFunction"], resources=[arn_of("lambda", "function", f"{name}-*", colon, where)]
        ),
        iam.PolicyStatement(
            actions=["codebuild:BatchGetProjects"], resources=[arn_of("codebuild", "project", "*", slash, where)]
        ),
        iam.PolicyStatement(actions=list(VERIFY_IMAGE_ACTIONS), resources=repositories),
        iam.PolicyStatement(actions=list(VERIFY_UNSCOPED_ACTIONS), resources=["*"]),
    )
    findings = {
        finding("cloudformation", f"stack/{name}/*", where): (
            f"DescribeStacks and ListStackResources on {name} only; the wildcard is the stack's id"
        ),
        finding("lambda", f"function:{name}-*", where): (
            f"GetFunction on the functions CloudFormation named after {name} (<stack>-<logical id>-<suffix>)"
        ),
        finding("codebuild", "project/*", where): (
            "BatchGetProjects, read only: CloudFormation names the stack's projects without the stack's name, so no"
            " narrower pattern matches them"
        ),
        "Resource::*": (
            f"{' and '.join(VERIFY_UNSCOPED_ACTIONS)}, both read only and without resource-level permissions"
        ),
    }
    return VerifyReads(statements, findings)


def verify_step(
    environment: str,
    *,
    source: pipelines.IFileSetProducer,
    url_outputs: Mapping[str, CfnOutput],
    reads: VerifyReads | None,
    boto3_requirement: str,
) -> pipelines.CodeBuildStep | None:
    """An ARM CodeBuild step that runs verify.py on the freshly deployed environment: every check with `reads`; the
    GET /arch checks only without (None when there is then nothing to ask)."""
    if reads is None:
        # The environment is in another account: the pipeline's role cannot read its stack, functions or images
        # (that would need a role there to assume), so only its endpoints are asked. Check the rest with
        # `make verify ENV=<env>` and that account's credentials.
        if not url_outputs:
            return None
        urls = " ".join(f'--url "{service}=${env_variable(service)}"' for service in url_outputs)
        return pipelines.CodeBuildStep(
            "VerifyArm64",
            input=source,
            build_environment=arm_build_environment(),
            env_from_cfn_outputs={env_variable(service): output for service, output in url_outputs.items()},
            commands=[f"python3 {VERIFY_SCRIPT} --env {environment} --no-aws {urls}"],
        )
    # verify.py reads the endpoints from the stack's outputs itself, with everything else.
    return pipelines.CodeBuildStep(
        "VerifyArm64",
        input=source,
        build_environment=arm_build_environment(),
        role_policy_statements=list(reads.statements),
        install_commands=[f"python3 -m pip install --quiet {boto3_requirement}"],
        commands=[f"python3 {VERIFY_SCRIPT} --env {environment}"],
    )


def acknowledge_verify_findings(step: pipelines.CodeBuildStep, reads: VerifyReads) -> None:
    """The IAM5 findings `verify_reads` raises, one at a time, on the step's own policy.

    Call after `build_pipeline()`: the step's project and role exist only then.
    """
    policy = step.project.role.node.find_child("DefaultPolicy")
    for finding, reason in reads.findings.items():
        acknowledge(policy, f"IAM5[{finding}]", reason)


def pinned_requirement(root: Path, package: str) -> str:
    """`boto3==1.44.8`: the exact pin requirements.txt gives `package`, so the pipeline runs what the tests ran."""
    for line in (root / "requirements.txt").read_text().splitlines():
        match = re.match(rf"^{re.escape(package)}==([\w.+-]+)\s*(#.*)?$", line.strip())
        if match:
            return f"{package}=={match.group(1)}"
    raise ValueError(f"requirements.txt pins no {package}==<version>")


def add_push_trigger(pipeline: codepipeline.Pipeline, *, branch: str, file_paths: Sequence[str]) -> None:
    """A V2 trigger on the source action: pushes to `branch` (touching `file_paths`, when given) start the run.

    Call after `build_pipeline()`: CDK Pipelines creates the source action only then.
    """
    source_action = pipeline.stages[0].actions[0]
    push = codepipeline.GitPushFilter(branches_includes=[branch], file_paths_includes=list(file_paths) or None)
    pipeline.add_trigger(
        provider_type=codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
        git_configuration=codepipeline.GitConfiguration(source_action=source_action, push_filter=[push]),
    )


class PipelineNotifications(Construct):
    """Failed runs of a pipeline to an SNS topic encrypted with its own key, which CodeStar Notifications may use.

    :param pipeline: the pipeline to watch.
    """

    def __init__(self, scope: Construct, id: str, *, pipeline: codepipeline.IPipeline) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        self.key, self.topic = service_topic(
            self,
            service="codestar-notifications",
            sid="CodeStarNotificationsPublish",
            source="codestar-notifications:notificationrule",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            description="pipeline failure notifications",
        )
        self.rule = notifications.CfnNotificationRule(
            self,
            "OnFailure",
            name=f"{stack.stack_name}-failed"[:64],
            detail_type=notifications.DetailType.FULL.value,
            event_type_ids=list(FAILURE_EVENTS),
            resource=pipeline.pipeline_arn,
            targets=[_sns_target(self.topic)],
        )
        # The rule checks at creation that it may publish: the topic policy must exist first.
        self.rule.node.add_dependency(self.topic.node.find_child("Policy"))


def _sns_target(topic: sns.ITopic) -> notifications.CfnNotificationRule.TargetProperty:
    return notifications.CfnNotificationRule.TargetProperty(target_type="SNS", target_address=topic.topic_arn)


def pinned_cli_version(root: Path, package: str = "aws-cdk") -> str:
    """A tool package.json pins: self-mutation runs the CLI `make` runs, asset publishing the pinned cdk-assets."""
    return json.loads((root / "package.json").read_text())["devDependencies"][package]


# CDK Pipelines' own grants on the artifact bucket (and its key), written into every role it creates.
_ARTIFACT_ACTIONS = {
    "s3:GetBucket*": "reads the pipeline's own artifact bucket (CDK Pipelines' grant)",
    "s3:GetObject*": "reads artifacts from the pipeline's own artifact bucket (CDK Pipelines' grant)",
    "s3:List*": "lists the pipeline's own artifact bucket (CDK Pipelines' grant)",
    "s3:Abort*": "aborts its own multipart uploads to the pipeline's artifact bucket (CDK Pipelines' grant)",
    "s3:DeleteObject*": "replaces artifacts in the pipeline's own artifact bucket (CDK Pipelines' grant)",
}
# With cross_account_keys only: the artifact bucket's own customer key.
_ARTIFACT_KEY_ACTIONS = {
    "kms:GenerateDataKey*": "data keys from the pipeline's own artifact key only (cross-account deploys)",
    "kms:ReEncrypt*": "re-encryption with the pipeline's own artifact key only (cross-account deploys)",
}


def acknowledge_pipeline_findings(pipeline: pipelines.CodePipeline) -> None:
    """cdk-nag findings on what CDK Pipelines creates, one at a time, each scoped to the pipeline's own resources.

    Call after `build_pipeline()`: the roles, projects and grants exist only then.
    """
    bucket = pipeline.pipeline.artifact_bucket
    acknowledge(
        bucket,
        "S1",
        "holds the pipeline's intermediate artifacts only; every access is by the pipeline's roles, in CloudTrail",
    )
    artifacts = f"IAM5[Resource::<{logical_id(bucket.node.default_child)}.Arn>/*]"
    actions = {**_ARTIFACT_ACTIONS, **(_ARTIFACT_KEY_ACTIONS if bucket.encryption_key else {})}
    for policy in (node for node in pipeline.node.find_all() if isinstance(node, iam.Policy)):
        for action, reason in actions.items():
            acknowledge(policy, f"IAM5[Action::{action}]", reason)
        acknowledge(policy, artifacts, "objects of the pipeline's own artifact bucket only")
    for project in (node for node in pipeline.node.find_all() if isinstance(node, codebuild.Project)):
        if bucket.encryption_key is None:
            acknowledge(
                project,
                "CB4",
                "artifacts are encrypted with the AWS-managed aws/s3 key; CDK Pipelines creates a customer key only"
                " when an environment is in another account (cross_account_keys)",
            )
        _acknowledge_project_logs(project)
    _acknowledge_self_mutation(pipeline.self_mutation_project)
    assets = pipeline.node.try_find_child("Assets")  # only when some stage has file assets
    file_role = assets.node.try_find_child("FileRole") if assets else None
    if file_role is not None:
        _acknowledge_asset_publishing(file_role.node.find_child("DefaultPolicy"))


def _acknowledge_project_logs(project: codebuild.Project) -> None:
    """The log group and report groups CodeBuild names after the project, on the project's own role."""
    policy = project.role.node.try_find_child("DefaultPolicy") if project.role else None
    if policy is None:
        return
    name = logical_id(project.node.default_child)
    acknowledge(
        policy,
        f"IAM5[Resource::{arn(project, 'logs', f'log-group:/aws/codebuild/<{name}>:*')}]",
        "log streams of this project's default CodeBuild log group",
    )
    acknowledge(
        policy,
        f"IAM5[Resource::{arn(project, 'codebuild', f'report-group/<{name}>-*')}]",
        "report groups named after this project only",
    )


def _acknowledge_self_mutation(project: codebuild.IProject) -> None:
    """What `cdk deploy PipelineStack` needs inside the pipeline: its stack's state and the bootstrap roles."""
    policy = project.role.node.find_child("DefaultPolicy")
    acknowledge(
        policy,
        "IAM5[Resource::*]",
        "cloudformation:DescribeStacks and s3:ListBucket, which self-mutation calls to find its stack and the"
        " bootstrap bucket",
    )
    acknowledge(
        policy,
        f"IAM5[Resource::arn:*:iam::{_account(project)}:role/*]",
        "assumes only roles tagged aws-cdk:bootstrap-role (deploy, file- and image-publishing) in this account",
    )


def _acknowledge_asset_publishing(policy: iam.Policy) -> None:
    """One role shared by every asset-publishing project, so CDK Pipelines grants it per account, not project."""
    acknowledge(
        policy,
        f"IAM5[Resource::{arn(policy, 'logs', 'log-group:/aws/codebuild/*')}]",
        "log streams of the asset-publishing projects, which share this role",
    )
    acknowledge(
        policy,
        f"IAM5[Resource::{arn(policy, 'codebuild', 'report-group/*')}]",
        "report groups of the asset-publishing projects, which share this role",
    )
    acknowledge(
        policy,
        "IAM5[Resource::*]",
        "codebuild:StartBuild/BatchGetBuilds/StopBuild that CDK Pipelines grants the shared asset-publishing role",
    )


def _account(scope: Construct) -> str:
    account = Stack.of(scope).account
    return "<AWS::AccountId>" if Token.is_unresolved(account) else account
