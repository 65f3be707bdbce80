"""An SNS topic under its own KMS key that one AWS service of this account may publish to."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns

from constructs import Construct
from graviton.keys import stack_owned_key


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
    # The topic keeps no messages beyond delivery and goes with the stack: so does its key.
    key = stack_owned_key(scope, "Key", description=description)
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
