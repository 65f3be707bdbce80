"""Names from the top-level stack's name down, for constructs in a Stage, a nested stack, or both."""

from __future__ import annotations

import aws_cdk as cdk

from constructs import Construct
from graviton.stack_paths import root_stack, stack_path, stack_path_name


def _stacks(scope: Construct) -> tuple[cdk.Stack, cdk.NestedStack, cdk.NestedStack]:
    stack = cdk.Stack(scope, "DevStack", stack_name="DevStack")
    nested = cdk.NestedStack(stack, "Web")
    inner = cdk.NestedStack(nested, "Inner")
    return stack, nested, inner


def test_a_nested_stack_s_constructs_are_named_from_the_top_level_stack() -> None:
    stack, nested, inner = _stacks(cdk.App())
    service = Construct(nested, "Service")
    assert root_stack(service) is stack
    assert root_stack(Construct(inner, "Service")) is stack
    assert stack_path(service) == "DevStack/Web/Service"
    assert stack_path_name(Construct(inner, "Task")) == "DevStack-Web-Inner-Task"
    assert stack_path(nested) == "DevStack/Web"


def test_the_same_nested_construct_has_the_same_name_in_a_stage() -> None:
    app = cdk.App()
    _, top_nested, _ = _stacks(app)
    _, staged_nested, _ = _stacks(cdk.Stage(app, "Dev"))
    staged = stack_path_name(Construct(staged_nested, "Service"))
    assert staged == stack_path_name(Construct(top_nested, "Service"))
    assert staged == "DevStack-Web-Service"


def test_a_construct_in_a_top_level_stack_keeps_its_name() -> None:
    stack, _, _ = _stacks(cdk.App())
    assert root_stack(stack) is stack
    assert stack_path(stack) == "DevStack"
    assert stack_path_name(Construct(stack, "WebService")) == "DevStack-WebService"
