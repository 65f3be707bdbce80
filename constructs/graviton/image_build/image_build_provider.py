"""The deploy-time build provider: our arm64 Python handler behind CDK's Provider framework, one per stack."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from aws_cdk import Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr

from constructs import Construct
from graviton import checkov
from graviton.arm64 import HANDLER_RUNTIME, LAMBDA_ARCHITECTURE
from graviton.constants import BUILD_TIMEOUT_MINUTES, POWERTOOLS_LAYER_PARAMETER
from graviton.nag import acknowledge, arn, logical_id
from graviton.stack_paths import root_stack, stack_path

RUNTIME_DIR = Path(__file__).with_name("runtime")
# Above the longest build timeout: our handler stops a late build and says why before the framework gives up.
_FRAMEWORK_TIMEOUT = Duration.minutes(BUILD_TIMEOUT_MINUTES[1] + 5)
_QUERY_INTERVAL = Duration.seconds(20)
# The Provider framework's own functions: `framework-onEvent`, `framework-isComplete`, `framework-onTimeout`.
_FRAMEWORK_FUNCTION_PREFIX = "framework-"
# What the provider does with a build's project, and with its repository's tags (removing a stray candidate tag).
BUILD_ACTIONS = (
    "codebuild:StartBuild",
    "codebuild:BatchGetBuilds",
    "codebuild:StopBuild",
    "codebuild:ListBuildsForProject",
)
TAG_ACTIONS = ("ecr:DescribeImages", "ecr:BatchDeleteImage")


class ImageBuildProvider(Construct):
    """Starts a build (`on_event`) and polls it (`is_complete`) for every ArmImageBuild in a stack.

    Use `ImageBuildProvider.of(scope)`. One per deployed stack, nested stacks included, with a fixed id:
    CloudFormation refuses to change a custom resource's service token, so the provider must never be swapped. Each
    build's own timeout is in its properties.

    A build in the provider's own stack grants the provider's role its project and repository. A build in a nested
    stack cannot: the role's policy would then name the nested stack's resources while the nested stack waits for the
    role, a cycle CloudFormation refuses. Such builds are covered by name patterns given to `allow_builds` and
    `allow_lookups` in the provider's stack, and must have names those patterns cover.
    """

    @classmethod
    def of(cls, scope: Construct) -> ImageBuildProvider:
        """The provider of `scope`'s top-level stack, created there on first use."""
        stack = root_stack(scope)
        existing = stack.node.try_find_child("ImageBuildProvider")
        return existing if isinstance(existing, ImageBuildProvider) else cls(stack, "ImageBuildProvider")

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self._build_prefixes: list[tuple[str, str]] = []
        self._lookup_prefixes: list[tuple[str, str | None, str | None]] = []
        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.log_group.grant_write(self.role)
        powertools = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", ssm.StringParameter.value_for_string_parameter(self, POWERTOOLS_LAYER_PARAMETER)
        )
        code = lambda_.Code.from_asset(str(RUNTIME_DIR), exclude=["__pycache__", "__init__.py"])
        handlers = {
            name: lambda_.Function(
                self,
                function_id,
                description=f"ArmImageBuild {name}: {summary}",
                runtime=HANDLER_RUNTIME,
                architecture=LAMBDA_ARCHITECTURE,
                handler=f"image_build_handler.{name}",
                code=code,
                layers=[powertools],
                role=self.role,
                log_group=self.log_group,
                timeout=Duration.minutes(2),
                environment={"POWERTOOLS_SERVICE_NAME": "image-build"},
            )
            for name, function_id, summary in (
                ("on_event", "OnEvent", "starts the ARM CodeBuild build unless the tag is in ECR"),
                ("is_complete", "IsComplete", "polls the build until its image is pushed"),
            )
        }
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=handlers["on_event"],
            is_complete_handler=handlers["is_complete"],
            query_interval=_QUERY_INTERVAL,
            total_timeout=_FRAMEWORK_TIMEOUT,
            log_group=self.log_group,
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(destination=self._waiter_logs(), level=sfn.LogLevel.ALL),
        )
        self.service_token = self.provider.service_token
        self._describe_framework_functions()
        self._acknowledge_framework_findings(handlers.values())
        self._skip_function_checks(handlers.values())

    def allow_builds(self, *, project_prefix: str, repository_prefix: str) -> None:
        """Let the provider start and watch the builds of every CodeBuild project named `<project_prefix>*` and look
        up and clean the tags of every ECR repository named `<repository_prefix>*`, in its own account and region:
        what each build in this stack is granted alone, for builds in nested stacks (see the class)."""
        _refuse_empty_prefix("project_prefix", project_prefix)
        _refuse_empty_prefix("repository_prefix", repository_prefix)
        stack = Stack.of(self)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(BUILD_ACTIONS),
                resources=[
                    stack.format_arn(service="codebuild", resource="project", resource_name=f"{project_prefix}*")
                ],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(TAG_ACTIONS),
                resources=[
                    stack.format_arn(service="ecr", resource="repository", resource_name=f"{repository_prefix}*")
                ],
            )
        )
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            f"IAM5[Resource::{arn(self, 'codebuild', f'project/{project_prefix}*')}]",
            "the builds of this stack's nested stacks, all named with this prefix",
        )
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            f"IAM5[Resource::{arn(self, 'ecr', f'repository/{repository_prefix}*')}]",
            "the repositories of this stack's nested stacks' builds, all named with this prefix",
        )
        self._build_prefixes.append((project_prefix, repository_prefix))

    def allow_lookups(self, *, repository_prefix: str, account: str | None = None, region: str | None = None) -> None:
        """Let the provider look up the tags (`ecr:DescribeImages` only) of every repository named
        `<repository_prefix>*` in `account` and `region` (default: its own): what a PromotedImage in this stack is
        granted alone, for promoted images in nested stacks."""
        _refuse_empty_prefix("repository_prefix", repository_prefix)
        stack = Stack.of(self)
        repositories = stack.format_arn(
            service="ecr",
            resource="repository",
            resource_name=f"{repository_prefix}*",
            account=account or stack.account,
            region=region or stack.region,
        )
        self.role.add_to_principal_policy(iam.PolicyStatement(actions=["ecr:DescribeImages"], resources=[repositories]))
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            f"IAM5[Resource::{arn(self, 'ecr', f'repository/{repository_prefix}*', account=account, region=region)}]",
            "tag lookups in the repositories images are promoted from, all named with this prefix",
        )
        self._lookup_prefixes.append((repository_prefix, account, region))

    def covers_build(self, *, project_name: str, repository_name: str) -> bool:
        """Whether `allow_builds` covers a build of this project into this repository (names, not tokens)."""
        return any(
            project_name.startswith(projects) and repository_name.startswith(repositories)
            for projects, repositories in self._build_prefixes
        )

    def covers_lookup(self, *, repository_name: str, account: str | None, region: str | None) -> bool:
        """Whether `allow_lookups` covers tag lookups in this repository, in that account and region."""
        return any(
            repository_name.startswith(prefix) and (account, region) == (in_account, in_region)
            for prefix, in_account, in_region in self._lookup_prefixes
        )

    def _describe_framework_functions(self) -> None:
        """CDK's text for its framework functions, with the provider's path from the stack's name down: CDK's own
        uses the full path, which a pipeline's stage lengthens."""
        for child in self.provider.node.children:
            if child.node.id.startswith(_FRAMEWORK_FUNCTION_PREFIX):
                entry = child.node.id.removeprefix(_FRAMEWORK_FUNCTION_PREFIX)
                function = cast(lambda_.CfnFunction, child.node.default_child)
                function.description = f"AWS CDK resource provider framework - {entry} ({stack_path(self.provider)})"

    def _waiter_logs(self) -> logs.LogGroup:
        """Under /aws/vendedlogs/, so Step Functions delivery does not grow the account's log resource policy."""
        return logs.LogGroup(
            self,
            "WaiterLogs",
            log_group_name=f"/aws/vendedlogs/states/{Stack.of(self).stack_name}-image-build",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _acknowledge_framework_findings(self, handlers) -> None:
        """Findings on CDK's Provider framework, which takes no option that would avoid them."""
        framework = [
            self.provider.node.find_child(f"framework-{name}") for name in ("onEvent", "isComplete", "onTimeout")
        ]
        for function in [*handlers, *framework[1:]]:
            acknowledge(
                self.provider,
                f"IAM5[Resource::<{logical_id(function.node.default_child)}.Arn>:*]",
                "the framework invokes these handler functions, any version",
            )
        acknowledge(
            self.provider.node.find_child("waiter-state-machine"),
            "IAM5[Resource::*]",
            "Step Functions log delivery (logs:CreateLogDelivery and friends) has no resource-level permissions",
        )
        acknowledge(self.provider, "SF2", "the Provider framework's waiter state machine has no tracing option")
        acknowledge(
            self.provider,
            "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "the framework functions' roles (no role option for them); the policy only writes their logs",
        )

    def _skip_function_checks(self, handlers) -> None:
        """checkov's checks on our handlers and the Provider framework's functions and waiter."""
        framework = [
            self.provider.node.find_child(f"framework-{name}") for name in ("onEvent", "isComplete", "onTimeout")
        ]
        for function in [*handlers, *framework]:
            checkov.skip(
                function,
                "CKV_AWS_115",
                "called by the Provider framework for this stack's image builds only, a few per deploy; a reserved"
                " limit would only queue builds",
            )
            checkov.skip(function, "CKV_AWS_116", checkov.ANSWERS_CLOUDFORMATION)
            checkov.skip(function, "CKV_AWS_117", checkov.OUTSIDE_VPC)
            checkov.skip(function, "CKV_AWS_173", checkov.SETTINGS_ONLY_ENVIRONMENT)
        waiter_policy = self.provider.node.find_child("waiter-state-machine").node.find_child("Role")
        checkov.skip(
            waiter_policy.node.find_child("DefaultPolicy"),
            "CKV_AWS_111",
            "Step Functions log delivery (logs:CreateLogDelivery, logs:PutResourcePolicy and friends) has no"
            " resource-level permissions; the framework's waiter needs them for its execution logs",
        )


def _refuse_empty_prefix(prop: str, prefix: str) -> None:
    if not prefix or Token.is_unresolved(prefix):
        raise ValueError(f"ImageBuildProvider: {prop} must be a non-empty name prefix, not '{prefix}'")
