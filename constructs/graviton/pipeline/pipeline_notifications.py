"""PipelineNotifications: failed runs (and approvals waiting) of a pipeline to an encrypted SNS topic."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codestarnotifications as notifications
from aws_cdk import aws_sns as sns

from constructs import Construct
from graviton.service_topic import service_topic

# The failed action names what broke, the failed execution that the run stopped (a failed stage adds nothing).
# Literal ids: jsii's Python enums carry member names, not the service's event ids.
FAILURE_EVENTS = (
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-action-execution-failed",
    # Approvers learn that prod is waiting for them.
    "codepipeline-pipeline-manual-approval-needed",
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
