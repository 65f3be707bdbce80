"""cdk-nag acknowledgements: one finding at a time, each with its own reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Names, Stack, Token, Validations

from constructs import IConstruct
from graviton.portable_nested_stack import PortableNestedStack, parameter_name

PACK = "AwsSolutions"


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one AwsSolutions finding (`IAM5[Action::s3:List*]`) on `scope` and its children."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PACK}::{PACK}-{finding}", reason=reason))


def logical_id(resource: CfnResource) -> str:
    """The resource's logical id as cdk-nag writes it inside a finding (`<LogicalId>`)."""
    return Stack.of(resource).resolve(resource.logical_id)


def attribute(scope: IConstruct, resource: CfnResource, name: str) -> str:
    """`resource`'s attribute `name` (`Arn`) as cdk-nag writes it in a finding on `scope`: `<LogicalId.Arn>` in the
    resource's own stack; in a nested stack of that stack, which receives it as a parameter, that parameter's name."""
    stack = Stack.of(scope)
    if stack is Stack.of(resource):
        return f"<{logical_id(resource)}.{name}>"
    if isinstance(stack, PortableNestedStack):
        return f"<{parameter_name(resource, name)}>"
    return f"<referenceto{Names.node_unique_id(resource.node)}{name}>"  # CDK's own name for the parameter


def arn(
    scope: IConstruct, service: str, resource: str, *, account: str | None = None, region: str | None = None
) -> str:
    """An ARN in this stack (or in `account` and `region`) as cdk-nag writes it: pseudo parameters as
    `<AWS::Region>`, known values as is."""
    stack = Stack.of(scope)
    region = region or ("<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region)
    account = account or ("<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account)
    partition = "<AWS::Partition>" if Token.is_unresolved(stack.partition) else stack.partition
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"
