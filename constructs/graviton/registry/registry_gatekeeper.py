"""RegistryGatekeeper: every image pushed to the project's repositories is checked, and anything but one linux/arm64
image is quarantined or deleted and reported."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm

from constructs import Construct
from graviton import checkov
from graviton.arm64 import DEFAULT_LOG_RETENTION, HANDLER_RUNTIME, LAMBDA_ARCHITECTURE
from graviton.constants import POWERTOOLS_LAYER_PARAMETER
from graviton.nag import acknowledge, arn
from graviton.registry.image_repository import RETAG_ACTIONS, ImageRepository
from graviton.registry.runtime.gatekeeper_contract import (
    ACTIONS,
    DEFAULT_ACTION,
    ENV_ACTION,
    ENV_TOPIC_ARN,
    GatekeeperAction,
)
from graviton.workloads.alarm_topic import AlarmTopic

RUNTIME_DIR = Path(__file__).with_name("runtime")
HANDLER = "gatekeeper_handler.handle"
# ECR's event for a finished push (PutImage), as EventBridge receives it.
PUSH_EVENT_SOURCE = "aws.ecr"
PUSH_EVENT_DETAIL_TYPE = "ECR Image Action"
# What the handler may do besides re-tagging (ImageRepository.allow_retag_from): read the config blob, archive.
READ_CONFIG_ACTIONS = ("ecr:GetDownloadUrlForLayer",)
ARCHIVE_ACTIONS = ("ecr:UpdateImageStorageClass",)


class RegistryGatekeeper(Construct):
    """Checks every image pushed to `repositories`, whoever pushed it, and acts on anything but one linux/arm64 image.

    An EventBridge rule on ECR's successful pushes to these repositories invokes our arm64 Python handler
    (`runtime/gatekeeper_handler.py`, Powertools Logger, the image-build handler's runtime and layer). It reads the
    pushed manifest by digest and its config blob and runs `image_manifest.inspect`. A non-arm64 image, an index or
    anything else is quarantined (tagged `quarantined-<digest>`, every other tag removed, archived so that pulls
    fail) or deleted, and reported to `topic` in one message. The builds' own `candidate-*` and content tags are
    arm64 and pass untouched; the push event of the handler's own quarantine tag is ignored.

    :param repositories: the repositories to guard; each exempts the gatekeeper's role from its PutImage Deny
        (default: none; give these or ``repository_prefix``, or both).
    :param repository_prefix: guard every repository whose name starts with it, by one rule and one grant with that
        pattern (default: none). Repositories in nested stacks need this: a grant per repository would make the
        gatekeeper's role wait for the nested stack while the nested stack waits for the role. Pass each such
        repository to `guard` so that its policy exempts the role.
    :param topic: where reports go: the environment's AlarmTopic, or any SNS topic (the role may publish to it, and
        use its KMS key when the topic is an AlarmTopic or a Topic with a master key).
    :param action: `quarantine` (default) or `delete` (by digest, with every tag).
    :param log_retention: how long the handler's logs are kept (default: one month).
    :param role_name: the handler role's name (default: one CloudFormation generates). Each repository's policy names
        the role by ARN and keeps it when a later stack adopts a retained repository: a fixed name keeps the next
        stack's gatekeeper exempt.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        repositories: Sequence[ImageRepository] = (),
        repository_prefix: str | None = None,
        topic: AlarmTopic | sns.ITopic,
        action: GatekeeperAction = DEFAULT_ACTION,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        role_name: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        if action not in ACTIONS:
            raise ValueError(f"RegistryGatekeeper: action must be one of {', '.join(ACTIONS)}, not '{action}'")
        if not repositories and not repository_prefix:
            raise ValueError("RegistryGatekeeper: give it repositories to guard, or a repository_prefix")
        if repository_prefix is not None and (not repository_prefix or Token.is_unresolved(repository_prefix)):
            raise ValueError(
                f"RegistryGatekeeper: repository_prefix must be a non-empty name, not '{repository_prefix}'"
            )
        self.repository_prefix = repository_prefix
        self.topic = topic.topic if isinstance(topic, AlarmTopic) else topic
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY)
        # An explicit role with write access to its own log group only, instead of the broad managed policy.
        self.role = iam.Role(self, "Role", role_name=role_name, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.log_group.grant_write(self.role)
        powertools = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", ssm.StringParameter.value_for_string_parameter(self, POWERTOOLS_LAYER_PARAMETER)
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="RegistryGatekeeper: quarantines or deletes pushed images that are not linux/arm64",
            runtime=HANDLER_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(RUNTIME_DIR), exclude=["__pycache__", "__init__.py"]),
            layers=[powertools],
            role=self.role,
            log_group=self.log_group,
            memory_size=256,
            timeout=Duration.minutes(1),
            environment={
                "POWERTOOLS_SERVICE_NAME": "registry-gatekeeper",
                ENV_ACTION: action,
                ENV_TOPIC_ARN: self.topic.topic_arn,
            },
            # An invocation that still fails after Lambda's two retries (say SNS refused the report) lands on the
            # topic as Lambda's failure record, with the push event in it: no push goes unreported.
            on_failure=destinations.SnsDestination(self.topic),
        )
        self._skip_function_checks()
        for repository in repositories:
            repository.allow_retag_from(self.role)
            repository.repository.grant(self.role, *READ_CONFIG_ACTIONS, *ARCHIVE_ACTIONS)
        names: list[Any] = [r.repository.repository_name for r in repositories]
        if repository_prefix:
            self._grant_by_prefix(repository_prefix)
            names.append({"prefix": repository_prefix})
        self.topic.grant_publish(self.role)
        self.rule = events.Rule(
            self,
            "Pushes",
            description="Every successful image push to the project's repositories, for the registry gatekeeper",
            event_pattern=events.EventPattern(
                source=[PUSH_EVENT_SOURCE],
                detail_type=[PUSH_EVENT_DETAIL_TYPE],
                detail={
                    "action-type": ["PUSH"],
                    "result": ["SUCCESS"],
                    "repository-name": names,
                },
            ),
            targets=[_InvokeFunction(self.function)],
        )
        # What CDK's LambdaFunction target adds too, but under an id made from the function's full path, which a
        # pipeline's stage lengthens: the same stack would get another logical id in the pipeline.
        self.function.add_permission(
            "InvokedByPushes",
            scope=self.rule,
            principal=iam.ServicePrincipal("events.amazonaws.com"),
            action="lambda:InvokeFunction",
            source_arn=self.rule.rule_arn,
        )
        self._acknowledge_findings()

    def guard(self, repository: ImageRepository) -> None:
        """Exempt the gatekeeper's role from `repository`'s PutImage Deny; `repository_prefix` must cover its name
        (the rule and the role's grants come from the prefix)."""
        prefix = self.repository_prefix
        if prefix is None:
            raise ValueError(
                "RegistryGatekeeper.guard: the gatekeeper has no repository_prefix; give it one, or pass "
                f"'{repository.repository_name}' in its repositories"
            )
        if not repository.repository_name.startswith(prefix):
            raise ValueError(
                f"RegistryGatekeeper.guard: repository '{repository.repository_name}' does not start with the "
                f"gatekeeper's repository_prefix '{prefix}'"
            )
        repository.allow_retag_from(self.role, grant=False)

    def _grant_by_prefix(self, prefix: str) -> None:
        """What `allow_retag_from` and the read and archive grants give per repository, for every repository whose
        name starts with `prefix`."""
        repositories = Stack.of(self).format_arn(service="ecr", resource="repository", resource_name=f"{prefix}*")
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=sorted({*RETAG_ACTIONS, *READ_CONFIG_ACTIONS, *ARCHIVE_ACTIONS}), resources=[repositories]
            )
        )
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            f"IAM5[Resource::{arn(self, 'ecr', f'repository/{prefix}*')}]",
            "the repositories this gatekeeper guards, all named with this prefix",
        )

    def check_before(self, *pushers: Construct) -> None:
        """Deploy `pushers` (say each ArmImageBuild's `image`) only once the rule, the function and the rule's
        permission to invoke it exist, so that a fresh stack's first pushes are checked too."""
        for pusher in pushers:
            pusher.node.add_dependency(self.rule, self.function)

    def _skip_function_checks(self) -> None:
        """checkov's Lambda checks that do not fit the gatekeeper's function."""
        checkov.skip(
            self.function,
            "CKV_AWS_115",
            "one invocation per image push, a few per build; a reserved limit would delay quarantines when builds"
            " run together",
        )
        checkov.skip(
            self.function,
            "CKV_AWS_116",
            "an invocation that fails after Lambda's retries goes to the alarm topic as an on-failure destination,"
            " with the push event in it: a richer record than a dead-letter queue's",
        )
        checkov.skip(self.function, "CKV_AWS_117", checkov.OUTSIDE_VPC)
        checkov.skip(self.function, "CKV_AWS_173", checkov.SETTINGS_ONLY_ENVIRONMENT)

    def _acknowledge_findings(self) -> None:
        """The one wildcard CDK's SNS grant writes, scoped to the topic's own key."""
        if isinstance(self.topic, sns.Topic) and self.topic.master_key is not None:
            acknowledge(
                self.role.node.find_child("DefaultPolicy"),
                "IAM5[Action::kms:GenerateDataKey*]",
                "data keys from the report topic's own KMS key only, to publish encrypted reports",
            )


@jsii.implements(events.IRuleTarget)
class _InvokeFunction:
    """The rule invokes the function; the permission for it is the gatekeeper's own."""

    def __init__(self, function: lambda_.IFunction) -> None:
        self._function = function

    def bind(self, rule: events.IRule, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._function.function_arn)
