"""Switch CDK's own Lambda functions to arm64: their code is plain Node.js/Python and takes no architecture option.

arm64 is safe for them because CDK ships them as architecture-neutral Node.js or Python source (with the Python
AWS CLI layer at most); the x86-only one (EKS kubectl, whose layer holds amd64 binaries) is refused instead, see
cdk_handlers.HANDLERS. Only CDK's functions are changed, recognised by what CDK controls (construct classes and
the ids CDK reserves); a user's own x86 function is never touched, it fails the guard instead.

This runs as a validation of the guarded App or Stage, which CDK calls once per synth of that scope, after
aspects and before templates are written. An aspect would cost a Node-to-Python call per construct; here a walk
that skips the subtrees of CDK classes known to hold none of CDK's functions, with Python-side type checks, finds
the few candidates (a thousand-function app costs tens of milliseconds, not the 0.2 s of `find_all()`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import cache

import jsii
from aws_cdk import CfnElement, CfnResource, CustomResourceProvider, CustomResourceProviderBase, Stack, Stage
from aws_cdk import custom_resources as cr

from constructs import IConstruct, IValidation
from graviton.guardrails.assembly import REMEDIATED_METADATA
from graviton.guardrails.cdk_handlers import ChildOf, NestedProvider, ProviderFramework, StackSingleton, recognitions

Plan = tuple[
    dict[str, str], dict[str, tuple[tuple[str, ...], str]], list[tuple[str, str, ChildOf, str]], tuple[str, ...]
]


# CDK classes whose subtrees hold none of CDK's functions and nothing that creates one there (read from their
# JavaScript: a function's log retention, a project's policies and an asset's staging all live elsewhere or make no
# function), matched by exact class, so a user's subclass is still entered. A class listed here wrongly could only
# hide a CDK function, which then stays x86 and fails the guard: a refusal, never x86 let through.
LEAF_CLASSES = (
    "aws_cdk.aws_lambda:Function",
    "aws_cdk.aws_lambda:DockerImageFunction",
    "aws_cdk.aws_codebuild:Project",
    "aws_cdk.aws_iam:Role",
    "aws_cdk.aws_iam:Policy",
)


@cache
def _plan() -> Plan:
    """The recognitions of cdk_handlers, indexed for one pass over the tree: stack-level singleton id -> label,
    reserved provider id -> (function ids, label), (module, class name, ChildOf, label), the Provider framework's
    ids."""
    singletons: dict[str, str] = {}
    providers: dict[str, tuple[tuple[str, ...], str]] = {}
    children: list[tuple[str, str, ChildOf, str]] = []
    framework_ids: tuple[str, ...] = ()
    for recognition, key in recognitions():
        label = f"CDK {key}"
        if isinstance(recognition, StackSingleton):
            singletons.update(dict.fromkeys(recognition.ids, recognition.label or label))
        elif isinstance(recognition, NestedProvider):
            # constructs stores ids with "/" as "--", and CDK's reserved provider ids contain one
            providers[recognition.id.replace("/", "--")] = (recognition.functions, label)
        elif isinstance(recognition, ChildOf):
            module, name = recognition.construct.split(":")
            children.append((module, name, recognition, label))
        elif isinstance(recognition, ProviderFramework):
            framework_ids = recognition.ids
        # a ProviderBase recognition needs no data: it is the class check in cdk_functions
    return singletons, providers, children, framework_ids


def _loaded(names: tuple[str, ...]) -> tuple[type, ...]:
    """The classes (`module:Class`) whose module the app has loaded; an app without the module has no instance."""
    found = []
    for module, name in (qualified.split(":") for qualified in names):
        if module in sys.modules:
            found.append(getattr(sys.modules[module], name))
    return tuple(found)


def _walk(scope: Stage) -> Iterator[IConstruct]:
    """Every construct in `scope` except inside nested Stages (they have their own guard) and inside LEAF_CLASSES
    instances (their roots are still yielded)."""
    leaves = _loaded(LEAF_CLASSES)
    pending = list(scope.node.children)
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, (CfnElement, Stage)) and type(node) not in leaves:
            pending.extend(node.node.children)


def _loaded_classes(children: list[tuple[str, str, ChildOf, str]]) -> list[tuple[type, ChildOf, str]]:
    """The ChildOf classes whose aws_cdk module the app has loaded. An instance of a class reaches Python as that
    class only once its module is loaded, so importing the others would find nothing and cost a tenth of a second
    at synth; and a function missed here stays x86 and fails the guard, so this can never let x86 through."""
    loaded = []
    for module, name, recognition, label in children:
        if module in sys.modules:
            loaded.append((getattr(sys.modules[module], name), recognition, label))
    return loaded


def _function_resource(node: IConstruct | None) -> CfnResource | None:
    """The CfnResource of a function construct (an L2's default child, or the raw resource itself)."""
    if node is None or isinstance(node, CfnResource):
        return node
    child = node.node.default_child
    return child if isinstance(child, CfnResource) else None


def _find(node: IConstruct, path: tuple[str, ...]) -> IConstruct | None:
    for child_id in path:
        found = node.node.try_find_child(child_id)
        if found is None:
            return None
        node = found
    return node


def cdk_functions(scope: Stage) -> Iterator[tuple[CfnResource, str]]:
    """(function resource, what it is) for each of CDK's own functions in `scope`, not in nested Stages."""
    singletons, providers, child_modules, framework_ids = _plan()
    children = _loaded_classes(child_modules)
    for node in _walk(scope):
        if isinstance(node, cr.Provider):
            for framework_id in framework_ids:
                function = _function_resource(node.node.try_find_child(framework_id))
                if function is not None:
                    yield function, f"custom resource Provider {framework_id}"
        elif isinstance(node, CustomResourceProviderBase) and not isinstance(node, CustomResourceProvider):
            # core providers: S3 autoDeleteObjects, VPC restrictDefaultSecurityGroup, ...; a user's own
            # CustomResourceProvider runs the user's code and is left to fail.
            yield node.node.find_child("Handler"), f"CDK {node.node.id}"
        elif isinstance(node, Stack):  # NestedStacks too: CDK's singletons go into the stack that needs them
            # one lookup per reserved id, not one per child: a stack of 500 functions costs the same as an empty one
            tree = node.node  # each attribute read is a call into Node: read it once
            for singleton_id, label in singletons.items():
                function = _function_resource(tree.try_find_child(singleton_id))
                if function is not None:
                    yield function, label
            for provider_id, (function_ids, label) in providers.items():
                provider = tree.try_find_child(provider_id)
                for function_id in function_ids if provider is not None else ():
                    function = _function_resource(provider.node.try_find_child(function_id))
                    if function is not None:
                        yield function, label
        for cls, recognition, label in children:
            if isinstance(node, cls):
                function = _function_resource(_find(node, recognition.path))
                if function is not None:
                    yield function, label


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
