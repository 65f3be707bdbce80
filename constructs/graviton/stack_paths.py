"""Names for a construct that read the same wherever its stack sits: at the app's top level (`cdk deploy`) or
inside a Stage (a CDK Pipelines stage), and inside a nested stack of either.

CDK's own defaults for security-group descriptions, task families, scaling-policy names, Name tags and the like
come from the construct's full path, which a Stage lengthens (`PipelineStack/Dev/DevStack/...`), so the same stack
deployed both ways would differ, and replace resources, on every switch. These start at the stack's name instead:
the top-level stack's, as a nested stack's own name is a token only CloudFormation resolves.
"""

from __future__ import annotations

import re

from aws_cdk import Stack

from constructs import IConstruct

_NOT_IN_A_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def root_stack(scope: IConstruct) -> Stack:
    """The deployed (top-level) stack `scope` is in: its own, or the parent its nested stack sits in, and so on."""
    stack = Stack.of(scope)
    while stack.nested_stack_parent is not None:
        stack = stack.nested_stack_parent
    return stack


def stack_path(scope: IConstruct) -> str:
    """`scope`'s path from its top-level stack's name down, `DevStack/WebService` for instance (or
    `DevStack/Web/Service` in the nested stack `Web`), in a Stage or not."""
    stack = root_stack(scope)
    below = scope.node.path[len(stack.node.path) :].lstrip("/")
    return f"{stack.stack_name}/{below}" if below else stack.stack_name


def stack_path_name(scope: IConstruct) -> str:
    """`stack_path` for names that allow only letters, digits, `-` and `_`: `DevStack-WebService`."""
    return _NOT_IN_A_NAME.sub("-", stack_path(scope)).strip("-")
