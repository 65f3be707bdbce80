"""Alarms: one encrypted SNS topic per environment, and the alarms each workload raises on it."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions

from constructs import Construct

# p99 duration alarms fire at this share of the function's timeout: slow before it fails.
DURATION_ALARM_SHARE = 0.8
ALARM_PERIOD = Duration.minutes(5)


def service_topic(
    scope: Construct, *, service: str, sid: str, source: str, arn_format: ArnFormat, description: str
) -> tuple[kms.Key, sns.Topic]:
    """An SNS topic under its own KMS key that one AWS service of this account may publish to.

    A customer key, because services cannot publish to a topic under the AWS-managed aws/sns key; the key grant
    has no source conditions (a condition the KMS request does not carry would drop every message silently), the
    topic policy scopes publishing to `source` resources (`<service>:<resource>`) of this account.
    """
    stack = Stack.of(scope)
    principal = iam.ServicePrincipal(f"{service}.amazonaws.com")
    key = kms.Key(scope, "Key", enable_key_rotation=True, description=description)
    key.grant(principal, "kms:Decrypt", "kms:GenerateDataKey*")
    topic = sns.Topic(scope, "Topic", master_key=key, enforce_ssl=True)
    # The SSL statement replaces SNS's default policy: the publishing service needs its own Allow.
    arn_service, resource = source.split(":")
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            principals=[principal],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {
                    "aws:SourceArn": stack.format_arn(
                        service=arn_service, resource=resource, resource_name="*", arn_format=arn_format
                    )
                },
            },
        )
    )
    return key, topic


class AlarmTopic(Construct):
    """The SNS topic an environment's alarms (and later its pipeline) notify, encrypted with its own key.

    :param email: an address to subscribe (default: none; subscribe later in the console or with the CLI).
    """

    def __init__(self, scope: Construct, id: str, *, email: str | None = None) -> None:
        super().__init__(scope, id)
        self.key, self.topic = service_topic(
            self,
            service="cloudwatch",
            sid="CloudWatchAlarmsPublish",
            source="cloudwatch:alarm",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
            description="alarm notifications",
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    @property
    def action(self) -> actions.SnsAction:
        return actions.SnsAction(self.topic)


class FunctionAlarms(Construct):
    """Errors, throttles and p99 duration of one function, each to the topic.

    :param function: the function to watch.
    :param topic: where the alarms go.
    :param timeout: the function's timeout; p99 duration alarms at 80% of it.
    """

    def __init__(
        self, scope: Construct, id: str, *, function: lambda_.IFunction, topic: AlarmTopic, timeout: Duration
    ) -> None:
        super().__init__(scope, id)
        threshold_ms = timeout.to_milliseconds() * DURATION_ALARM_SHARE
        watched = {
            "Errors": (function.metric_errors(period=ALARM_PERIOD, statistic="Sum"), 1, "any error"),
            "Throttles": (function.metric_throttles(period=ALARM_PERIOD, statistic="Sum"), 1, "any throttle"),
            "P99Duration": (
                function.metric_duration(period=ALARM_PERIOD, statistic="p99"),
                threshold_ms,
                f"p99 duration at {int(DURATION_ALARM_SHARE * 100)}% of the timeout",
            ),
        }
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for name, (metric, threshold, what) in watched.items():
            alarm = metric.create_alarm(
                self,
                name,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"{what} in {int(ALARM_PERIOD.to_minutes())} minutes",
            )
            alarm.add_alarm_action(topic.action)
            alarm.add_ok_action(topic.action)
            self.alarms[name] = alarm
