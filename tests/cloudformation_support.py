"""A CloudFormation client whose answers come from a table of stacks, for code that reads deployed stacks.

A real botocore client, answered as botocore's Stubber answers (a `before-call` handler, each answer validated against
the operation's output shape), but by `StackName` and in whatever order threads ask: the Stubber answers in a fixed
order only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

from graviton_commands.deployed_stack import NESTED_STACK

REGION = "eu-west-1"
ACCOUNT = "123456789012"


def arn(name: str) -> str:
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


@dataclass
class FakeStack:
    """One stack's answers: its status, outputs, and resources as `(logical id, type, physical id, status)`, listed
    `page_size` to a page."""

    status: str = "CREATE_COMPLETE"
    outputs: dict[str, str] = field(default_factory=dict)
    resources: list[tuple[str, str, str, str]] = field(default_factory=list)
    page_size: int = 100
    # Called before DescribeStacks answers (in the thread that asked).
    before_describe: Callable[[], None] = lambda: None


def resource(logical_id: str, resource_type: str, physical_id: str, status: str = "CREATE_COMPLETE") -> Any:
    return (logical_id, resource_type, physical_id, status)


def nested(logical_id: str, name: str, status: str = "CREATE_COMPLETE") -> Any:
    """A nested stack as its parent lists it: its ARN is the physical id."""
    return resource(logical_id, NESTED_STACK, arn(name), status)


class FakeCloudFormation:
    """`stacks` by name; a call for another name gets CloudFormation's "does not exist"; `refuse` names the stacks
    whose reads are denied."""

    def __init__(self, stacks: dict[str, FakeStack], *, refuse: tuple[str, ...] = ()) -> None:
        self.stacks, self.refuse = stacks, refuse
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.client = boto3.client(
            "cloudformation", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        self.client.meta.events.register("before-parameter-build.cloudformation.*", self._remember_params)
        self.client.meta.events.register("before-call.cloudformation.*", self._answer)

    @staticmethod
    def _remember_params(params: dict[str, Any], context: dict[str, Any], **kwargs: Any) -> None:
        context["fake_params"] = dict(params)

    def _answer(self, model: Any, context: dict[str, Any], **kwargs: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params = context["fake_params"]
        stack_id = params["StackName"]
        name = stack_id.split("/")[1] if stack_id.startswith("arn:") else stack_id
        with self._lock:
            self.calls.append((model.name, name))
        if name in self.refuse:
            return self._error("AccessDenied", f"not authorized to perform: cloudformation:{model.name} on {name}")
        if name not in self.stacks:
            return self._error("ValidationError", f"Stack with id {stack_id} does not exist")
        stack = self.stacks[name]
        if model.name == "DescribeStacks":
            stack.before_describe()
            body = {
                "Stacks": [
                    {
                        "StackId": arn(name),
                        "StackName": name,
                        "CreationTime": "2026-01-01T00:00:00Z",
                        "StackStatus": stack.status,
                        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in stack.outputs.items()],
                    }
                ]
            }
        else:
            start = int(params.get("NextToken") or 0)
            page = stack.resources[start : start + stack.page_size]
            body = {
                "StackResourceSummaries": [
                    {
                        "LogicalResourceId": logical_id,
                        "ResourceType": resource_type,
                        **({"PhysicalResourceId": physical_id} if physical_id else {}),
                        "ResourceStatus": status,
                        "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
                    }
                    for logical_id, resource_type, physical_id, status in page
                ]
            }
            if start + stack.page_size < len(stack.resources):
                body["NextToken"] = str(start + stack.page_size)
        validate_parameters(body, model.output_shape)  # the answer is one CloudFormation could give
        return AWSResponse(None, 200, {}, None), body

    @staticmethod
    def _error(code: str, message: str) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse(None, 400, {}, None), {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
