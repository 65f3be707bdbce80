"""Switch CDK's own Lambda functions to arm64: their code is plain Node.js/Python and takes no architecture option.

Only these are changed; a user's own x86 function is never touched, it fails the guard instead.

This runs as a validation of the guarded App or Stage, which CDK calls once per synth of that scope, after
aspects and before templates are written. An aspect would cost a Node-to-Python call per construct; here one
`find_all()` and Python-side type checks find the few candidates.
"""

from __future__ import annotations

from collections.abc import Iterator

import jsii
from aws_cdk import CfnResource, CustomResourceProvider, CustomResourceProviderBase, Stack, Stage
from aws_cdk import custom_resources as cr

from constructs import IValidation
from graviton.guardrails.assembly import REMEDIATED_METADATA

PROVIDER_FRAMEWORK_IDS = ("framework-onEvent", "framework-isComplete", "framework-onTimeout")
# CDK's reserved construct ids of its stack-level singleton functions (derived from fixed UUIDs).
SINGLETONS = {
    "AWS679f53fac002430cb0da5b7982bd2287": "AwsCustomResource singleton",
    "LogRetentionaae0aa3c5b4d4f87b02d85b201efdd8a": "LogRetention",
}


def cdk_functions(scope: Stage) -> Iterator[tuple[CfnResource, str]]:
    """(function resource, what it is) for each of CDK's own functions in `scope`, not in nested Stages."""
    for node in scope.node.find_all():
        if isinstance(node, cr.Provider):
            for framework_id in PROVIDER_FRAMEWORK_IDS:
                function = node.node.try_find_child(framework_id)
                if function is not None:
                    yield function.node.default_child, f"custom resource Provider {framework_id}"
        elif isinstance(node, CustomResourceProviderBase) and not isinstance(node, CustomResourceProvider):
            # core providers: S3 autoDeleteObjects, VPC restrictDefaultSecurityGroup, ...; a user's own
            # CustomResourceProvider runs the user's code and is left to fail.
            yield node.node.find_child("Handler"), f"CDK {node.node.id}"
        elif isinstance(node, Stack):
            for singleton_id, kind in SINGLETONS.items():
                function = node.node.try_find_child(singleton_id)
                if function is not None:
                    yield function.node.default_child, kind


@jsii.implements(IValidation)
class RemediateCdkFunctions:
    """Sets Architectures [arm64] on CDK's own functions in one guarded scope and marks them in Metadata."""

    def __init__(self, scope: Stage) -> None:
        self._scope = scope

    def validate(self) -> list[str]:
        scope_path = self._scope.node.path
        for resource, kind in cdk_functions(self._scope):
            if Stage.of(resource).node.path == scope_path:  # a nested Stage has its own guard, or fails
                resource.add_property_override("Architectures", ["arm64"])
                resource.add_metadata(REMEDIATED_METADATA, kind)
        return []
