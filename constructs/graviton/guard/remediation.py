"""Switch CDK's own Lambda functions to arm64: their code is plain Node.js/Python and takes no architecture option.

Only these are changed; a user's own x86 function is never touched, it fails the guard instead.
"""

from __future__ import annotations

import jsii
from aws_cdk import CfnResource, CustomResourceProvider, CustomResourceProviderBase, IAspect
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr

from graviton.guard.assembly import REMEDIATED_METADATA

LAMBDA_FUNCTION = "AWS::Lambda::Function"
PROVIDER_FRAMEWORK_IDS = frozenset({"framework-onEvent", "framework-isComplete", "framework-onTimeout"})
# CDK's reserved construct ids of its singleton functions (derived from fixed UUIDs).
AWS_CUSTOM_RESOURCE_ID = "AWS679f53fac002430cb0da5b7982bd2287"
LOG_RETENTION_ID = "LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a"


def cdk_function_kind(resource: CfnResource) -> str:
    """Which of CDK's own functions `resource` is, or "" for anything else (a user's function)."""
    # One read of the path decides for almost every function; parents are looked at only on a match.
    *_, parent_id, _own_id = resource.node.path.split("/")
    if parent_id == AWS_CUSTOM_RESOURCE_ID:
        return "AwsCustomResource singleton"
    if parent_id == LOG_RETENTION_ID:
        return "LogRetention"
    if parent_id.startswith("Custom::"):
        parent = resource.node.scope
        if isinstance(parent, CustomResourceProviderBase) and not isinstance(parent, CustomResourceProvider):
            return f"CDK {parent_id}"  # core providers: S3 autoDeleteObjects, VPC restrictDefaultSecurityGroup, ...
    if parent_id in PROVIDER_FRAMEWORK_IDS and isinstance(resource.node.scope.node.scope, cr.Provider):
        return f"custom resource Provider {parent_id}"
    return ""


@jsii.implements(IAspect)
class RemediateCdkFunctions:
    """A mutating aspect: sets Architectures [arm64] on CDK's own functions and marks them in Metadata."""

    def visit(self, node) -> None:
        # Cheap Python-side type checks first: most constructs cost no Node round trip.
        if not isinstance(node, lambda_.CfnFunction) and not (
            type(node) is CfnResource and node.cfn_resource_type == LAMBDA_FUNCTION
        ):
            return
        kind = cdk_function_kind(node)
        if kind:
            node.add_property_override("Architectures", ["arm64"])
            node.add_metadata(REMEDIATED_METADATA, kind)
