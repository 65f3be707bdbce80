"""checkov skips: one check on one CloudFormation resource at a time, each with its own reason.

checkov reads a resource's `Metadata: {"checkov": {"skip": [{"id": ..., "comment": ...}]}}` in a CloudFormation
template and reports that check on that resource as skipped, with the comment. Whoever runs `checkov -d cdk.out`
sees the same result as the tests, with no configuration file.
"""

from __future__ import annotations

import re

from aws_cdk import CfnResource

from constructs import IConstruct

METADATA_KEY = "checkov"
# checkov's own ids of its AWS checks: attribute checks (CKV_AWS_18) and graph checks (CKV2_AWS_5).
CHECK_ID = re.compile(r"CKV2?_AWS_\d+")
# A reason says why the check does not apply to this resource, not only that it does not.
MIN_REASON_LENGTH = 20

# Reasons shared by the Lambda functions of the library and of CDK.
OUTSIDE_VPC = "calls only AWS APIs, over the internet; in a VPC it would need a NAT gateway or endpoints to reach them"
SETTINGS_ONLY_ENVIRONMENT = (
    "its environment variables are settings (names, ARNs), never secrets, which Lambda encrypts at rest with its"
    " AWS-managed key"
)
ANSWERS_CLOUDFORMATION = (
    "invoked for CloudFormation custom resources, whose deploy fails on an error and is retried by the next deploy;"
    " a dead-letter queue would hold events no one replays"
)


def skip(scope: IConstruct, check_id: str, reason: str) -> None:
    """Skip checkov's `check_id` (`CKV_AWS_116`) on one resource: `scope` if it is a CloudFormation resource, else
    its L1 (an L2's default child). Adds to the resource's skips, keeping other metadata and skips."""
    resource = scope if isinstance(scope, CfnResource) else scope.node.default_child
    if not isinstance(resource, CfnResource):
        raise ValueError(f"checkov.skip: {scope.node.path} is not a CloudFormation resource and has no L1 resource")
    if not CHECK_ID.fullmatch(check_id):
        raise ValueError(f"checkov.skip: check id {check_id!r} is not one check; expected CKV_AWS_<n> or CKV2_AWS_<n>")
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(
            f"checkov.skip: {check_id} on {resource.node.path} needs a specific reason (at least"
            f" {MIN_REASON_LENGTH} characters), got {reason!r}"
        )
    existing = resource.get_metadata(METADATA_KEY) or {}
    skips = list(existing.get("skip", []))
    if any(entry["id"] == check_id for entry in skips):
        raise ValueError(f"checkov.skip: {check_id} is already skipped on {resource.node.path}")
    resource.add_metadata(METADATA_KEY, {**existing, "skip": [*skips, {"id": check_id, "comment": reason}]})


def skips(resource: CfnResource) -> list[dict[str, str]]:
    """The checks skipped on `resource` (`[{"id": ..., "comment": ...}]`)."""
    return list((resource.get_metadata(METADATA_KEY) or {}).get("skip", []))
