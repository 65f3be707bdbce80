"""The post-deploy verification step: an ARM CodeBuild step with read-only access to what it checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, CfnOutput, Stack, Token, pipelines
from aws_cdk import aws_iam as iam

from constructs import Construct
from graviton.nag import acknowledge
from graviton.pipeline.arm_code_build import arm_build_environment

# What the AWS checks read: the stack and its nested stacks, its functions, task definitions, projects and nodes,
# the images they run.
VERIFY_STACK_ACTIONS = ("cloudformation:DescribeStacks", "cloudformation:ListStackResources")
VERIFY_IMAGE_ACTIONS = ("ecr:DescribeImages", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
# Neither supports resource-level permissions: both read any task definition or instance of the account.
VERIFY_UNSCOPED_ACTIONS = ("ecs:DescribeTaskDefinition", "ec2:DescribeInstances")


@dataclass(frozen=True)
class VerifyReads:
    """What the verify step's role may read for the AWS checks, and the cdk-nag IAM5 findings (with their reasons)
    that those reads raise on its policy."""

    statements: tuple[iam.PolicyStatement, ...]
    findings: Mapping[str, str]


@dataclass(frozen=True)
class Location:
    """An account and a region; None for either means the pipeline stack's own."""

    account: str | None = None
    region: str | None = None


def verify_reads(
    scope: Construct,
    *,
    stack_name: str,
    repository_names: Sequence[str],
    stack_location: Location = Location(),
    repository_location: Location = Location(),
) -> VerifyReads:
    """Read-only access to one deployed stack and its nested stacks, its functions, task definitions, projects and
    nodes, and to the repositories its images come from, as narrowly as IAM allows.

    :param scope: a construct in the pipeline's stack.
    :param stack_name: the deployed stack; CloudFormation names its nested stacks `<stack_name>-<logical id>-<id>`
        and its functions `<stack_name>-*` (a nested stack's functions after the nested stack).
    :param repository_names: the ECR repositories its images come from.
    :param stack_location: where the stack is (default: the pipeline's account and region).
    :param repository_location: where the repositories are (default: the pipeline's account and region).
    """
    stack = Stack.of(scope)
    where = {"region": stack_location.region or stack.region, "account": stack_location.account or stack.account}
    source_where = {
        "region": repository_location.region or stack.region,
        "account": repository_location.account or stack.account,
    }

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
    nested_stacks = f"{stack_name}-*"
    repositories = [arn_of("ecr", "repository", name, slash, source_where) for name in repository_names]
    statements = (
        iam.PolicyStatement(
            actions=list(VERIFY_STACK_ACTIONS),
            resources=[
                arn_of("cloudformation", "stack", f"{stack_name}/*", slash, where),
                arn_of("cloudformation", "stack", f"{nested_stacks}/*", slash, where),
            ],
        ),
        iam.PolicyStatement(
            actions=["lambda:GetFunction"], resources=[arn_of("lambda", "function", f"{stack_name}-*", colon, where)]
        ),
        iam.PolicyStatement(
            actions=["codebuild:BatchGetProjects"], resources=[arn_of("codebuild", "project", "*", slash, where)]
        ),
        iam.PolicyStatement(actions=list(VERIFY_IMAGE_ACTIONS), resources=repositories),
        iam.PolicyStatement(actions=list(VERIFY_UNSCOPED_ACTIONS), resources=["*"]),
    )
    findings = {
        finding("cloudformation", f"stack/{stack_name}/*", where): (
            f"DescribeStacks and ListStackResources on {stack_name} only; the wildcard is the stack's id"
        ),
        finding("cloudformation", f"stack/{nested_stacks}/*", where): (
            f"DescribeStacks and ListStackResources on the stacks named after {stack_name}: its nested stacks are"
            f" named <{stack_name}>-<logical id>-<id>; the last wildcard is the stack's id"
        ),
        finding("lambda", f"function:{stack_name}-*", where): (
            f"GetFunction on the functions CloudFormation named after {stack_name} (<stack>-<logical id>-<suffix>)"
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
    *,
    source: pipelines.IFileSetProducer,
    commands: Sequence[str],
    install_commands: Sequence[str] = (),
    env_from_outputs: Mapping[str, CfnOutput] | None = None,
    reads: VerifyReads | None = None,
) -> pipelines.CodeBuildStep:
    """An ARM CodeBuild step named `VerifyArm64` that runs `commands` in the source checkout after a deploy.

    :param source: the pipeline's source.
    :param commands: the verification, for example `python3 -m <verify command> --env dev`.
    :param install_commands: what it needs installed first (default: nothing).
    :param env_from_outputs: shell variables set from the deployed stack's outputs (default: none).
    :param reads: the role's read access, from `verify_reads` (default: none: the step can only ask endpoints).
    """
    return pipelines.CodeBuildStep(
        "VerifyArm64",
        input=source,
        build_environment=arm_build_environment(),
        role_policy_statements=list(reads.statements) if reads else None,
        env_from_cfn_outputs=dict(env_from_outputs) if env_from_outputs else None,
        install_commands=list(install_commands) or None,
        commands=list(commands),
    )


def acknowledge_verify_findings(step: pipelines.CodeBuildStep, reads: VerifyReads) -> None:
    """The IAM5 findings `verify_reads` raises, one at a time, on the step's own policy.

    Call after `build_pipeline()`: the step's project and role exist only then.
    """
    policy = step.project.role.node.find_child("DefaultPolicy")
    for finding, reason in reads.findings.items():
        acknowledge(policy, f"IAM5[{finding}]", reason)
