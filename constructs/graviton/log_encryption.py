"""LogGroupEncryption: every CloudWatch log group in a scope encrypted with one customer KMS key."""

from __future__ import annotations

import jsii
from aws_cdk import ArnFormat, Aspects, Aws, CfnDeletionPolicy, IAspect, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs

from constructs import IConstruct

# What CloudWatch Logs needs of a key to encrypt and read a log group's events.
LOGS_KEY_ACTIONS = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]


@jsii.implements(IAspect)
class LogGroupEncryption:
    """Encrypts every log group under the scope it is applied to (nested stacks included, and the log groups CDK
    adds itself, such as a custom resource's) with ``key``, unless the log group names a key of its own or is
    retained when its stack is deleted (it would outlive the key).

    The key's policy lets CloudWatch Logs of the key's account and region use it, only for that account's log
    groups (the ``aws:logs:arn`` encryption context). The key must go with the log groups: one deleted with its
    stack (such as a BuildArtifactsKey) for log groups deleted with it; a retained log group needs a retained key.

    :param key: the customer key the log groups are encrypted with.
    """

    def __init__(self, *, key: kms.Key) -> None:
        self.key = key
        stack = Stack.of(key)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.{Aws.URL_SUFFIX}")],
                actions=LOGS_KEY_ACTIONS,
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )

    @classmethod
    def apply(cls, scope: IConstruct, *, key: kms.Key) -> LogGroupEncryption:
        """Encrypt every log group under ``scope`` with ``key``."""
        aspect = cls(key=key)
        Aspects.of(scope).add(aspect)
        return aspect

    def visit(self, node: IConstruct) -> None:
        if (
            isinstance(node, logs.CfnLogGroup)
            and node.kms_key_id is None
            # A retained log group would outlive a key deleted with its stack, its events unreadable: left as it is.
            and node.cfn_options.deletion_policy in (None, CfnDeletionPolicy.DELETE)
        ):
            node.kms_key_id = self.key.key_arn
