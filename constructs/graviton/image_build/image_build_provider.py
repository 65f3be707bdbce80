"""The deploy-time build provider: our arm64 Python handler behind CDK's Provider framework, one per stack."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr

from constructs import Construct
from graviton.arm64 import HANDLER_RUNTIME, LAMBDA_ARCHITECTURE
from graviton.constants import BUILD_TIMEOUT_MINUTES, POWERTOOLS_LAYER_PARAMETER
from graviton.nag import acknowledge, logical_id
from graviton.stack_paths import stack_path

RUNTIME_DIR = Path(__file__).with_name("runtime")
# Above the longest build timeout: our handler stops a late build and says why before the framework gives up.
_FRAMEWORK_TIMEOUT = Duration.minutes(BUILD_TIMEOUT_MINUTES[1] + 5)
_QUERY_INTERVAL = Duration.seconds(20)
# The Provider framework's own functions: `framework-onEvent`, `framework-isComplete`, `framework-onTimeout`.
_FRAMEWORK_FUNCTION_PREFIX = "framework-"


class ImageBuildProvider(Construct):
    """Starts a build (`on_event`) and polls it (`is_complete`) for every ArmImageBuild in a stack.

    Use `ImageBuildProvider.of(scope)`. One per stack with a fixed id: CloudFormation refuses to change a custom
    resource's service token, so the provider must never be swapped. Each build's own timeout is in its properties.
    """

    @classmethod
    def of(cls, scope: Construct) -> ImageBuildProvider:
        stack = Stack.of(scope)
        existing = stack.node.try_find_child("ImageBuildProvider")
        return existing if isinstance(existing, ImageBuildProvider) else cls(stack, "ImageBuildProvider")

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
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
