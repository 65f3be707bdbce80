"""AlarmTopic: the SNS topic one environment's alarms notify, encrypted with its own key."""

from __future__ import annotations

from aws_cdk import ArnFormat
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns_subscriptions as subscriptions

from constructs import Construct
from graviton.service_topic import service_topic


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
