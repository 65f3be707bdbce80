"""cdk-nag acknowledgements: one finding at a time, each with its own reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Stack, Token, Validations

from constructs import IConstruct

PACK = "AwsSolutions"


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one AwsSolutions finding (`IAM5[Action::s3:List*]`) on `scope` and its children."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PACK}::{PACK}-{finding}", reason=reason))


def logical_id(resource: CfnResource) -> str:
    """The resource's logical id as cdk-nag writes it inside a finding (`<LogicalId>`)."""
    return Stack.of(resource).resolve(resource.logical_id)


def arn(scope: IConstruct, service: str, resource: str) -> str:
    """An ARN in this stack as cdk-nag writes it: pseudo parameters as `<AWS::Region>`, known values as is."""
    stack = Stack.of(scope)
    region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
    account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
    partition = "<AWS::Partition>" if Token.is_unresolved(stack.partition) else stack.partition
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"
