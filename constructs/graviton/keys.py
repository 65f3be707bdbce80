"""Customer KMS keys for what is deleted with its stack, and deleted with it.

CDK keeps a `kms.Key` by default (RETAIN), so every deleted or rolled-back stack left keys behind, billed monthly.
A key here encrypts only what goes with its stack (an SNS topic's messages, a build's artifacts, a cluster's
secrets): the stack's deletion schedules the key's deletion too, after KMS's shortest waiting period. A key that
encrypts something which outlives its stack (a retained repository's images, a retained bucket's objects) must not
be one of these. The project's repositories use the AWS-managed `aws/ecr` key and its buckets S3-managed keys.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms

from constructs import Construct

# KMS waits 7 to 30 days before it deletes a key; the stack deletion that scheduled it can be undone meanwhile with
# `aws kms cancel-key-deletion`. The shortest: nothing outside the stack depends on the key.
KEY_PENDING_WINDOW = Duration.days(7)


def stack_owned_key(scope: Construct, id: str, *, description: str | None = None) -> kms.Key:
    """A rotating customer key deleted with its stack (and with a first create that rolls back)."""
    return kms.Key(
        scope,
        id,
        enable_key_rotation=True,
        description=description,
        removal_policy=RemovalPolicy.DESTROY,
        pending_window=KEY_PENDING_WINDOW,
    )
