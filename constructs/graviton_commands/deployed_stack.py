"""A deployed stack as the commands read it: its outputs and resources together with those of its nested stacks.

A stack whose services live in nested stacks (`AWS::CloudFormation::Stack` resources) lists only those in
`ListStackResources` and returns only its own outputs from `DescribeStacks`. `read_stack` also reads every nested
stack, recursively (`DescribeStacks` and `ListStackResources` each, by the stack ARN its parent lists), several at a
time, and merges them in one order whatever answers first: the stack's own, then each nested stack's in the order
its parent lists it, depth first. Today's stacks, without nested stacks, read as before: two calls.

The caller brings the CloudFormation client (from `graviton_commands.aws.connect`: standard retries); botocore is
imported on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from graviton_commands.aws import aws_error, client_errors
from graviton_commands.cli import Refusal

NESTED_STACK = "AWS::CloudFormation::Stack"
# Nested stacks read at once. Each takes two calls, so 200 take 50 rounds of 8 instead of 400 in a row; more would
# meet CloudFormation's throttling of DescribeStacks sooner (the standard retry mode backs off when it does).
READERS = 8


class StackNotDeployed(Exception):
    """The stack asked for does not exist; the caller says what to do about it."""

    def __init__(self, stack: str) -> None:
        super().__init__(f"stack {stack} does not exist")
        self.stack = stack


@dataclass(frozen=True)
class Resource:
    """A resource that exists, as the stack holding it lists it."""

    stack: str
    logical_id: str
    type: str
    physical_id: str


@dataclass(frozen=True)
class UnreadableStack:
    """A nested stack its parent lists as existing that could not be read: not created, deleted, missing, or
    refused to the caller; `reason` is one line."""

    parent: str
    logical_id: str
    physical_id: str
    reason: str

    @property
    def name(self) -> str:
        """The nested stack's name, else its logical id in the parent (a stack never created has no name)."""
        return stack_name_of(self.physical_id) or self.logical_id

    def describe(self) -> str:
        return f"nested stack {self.name} ({self.logical_id} in {self.parent}) could not be read: {self.reason}"


@dataclass(frozen=True)
class DeployedStack:
    """A stack and all its nested stacks, merged: every output and every existing resource."""

    name: str
    status: str
    outputs: dict[str, str]
    resources: tuple[Resource, ...]
    # The names of the nested stacks read, and those that could not be, in the order described above.
    nested: tuple[str, ...] = ()
    unreadable: tuple[UnreadableStack, ...] = ()

    def physical_ids(self, resource_type: str) -> list[str]:
        return [resource.physical_id for resource in self.resources if resource.type == resource_type]


@dataclass
class _Reading:
    """One stack as read, and what its nested stacks gave (a `_Reading` or an `UnreadableStack` each)."""

    name: str
    status: str
    outputs: list[tuple[str, str]]
    summaries: list[dict[str, Any]]
    nested: list[_Reading | UnreadableStack] = field(default_factory=list)

    def nested_summaries(self) -> list[dict[str, Any]]:
        return [s for s in self.summaries if s["ResourceType"] == NESTED_STACK and _exists(s)]

    def walk(self) -> Iterator[_Reading | UnreadableStack]:
        yield self
        for child in self.nested:
            yield from child.walk() if isinstance(child, _Reading) else [child]


def stack_name_of(stack_id: str) -> str:
    """`DevStack-ApiStack-1AB2` from `arn:aws:cloudformation:<region>:<account>:stack/DevStack-ApiStack-1AB2/<uuid>`;
    a name stays as it is."""
    if stack_id.startswith("arn:"):
        return stack_id.split(":", 5)[-1].split("/")[1]
    return stack_id


def read_stack(cloudformation: Any, stack: str, *, readers: int = READERS) -> DeployedStack:
    """`stack` and all its nested stacks, read with `cloudformation`, merged.

    Raises StackNotDeployed when `stack` does not exist, botocore's errors for any other failure to read it, and
    Refusal (one line) when two of the stacks have an output of the same key. A nested stack that cannot be read is
    in `unreadable`; the others are read all the same.
    """
    try:
        top = _read(cloudformation, stack)
    except client_errors() as err:
        if "does not exist" in aws_error(err):
            raise StackNotDeployed(stack) from None
        raise
    with ThreadPoolExecutor(max_workers=readers, thread_name_prefix="nested-stack") as pool:
        level = [top]
        while level:
            pending = [(reading, summary) for reading in level for summary in reading.nested_summaries()]
            # map keeps the order of `pending`, whatever answers first.
            found = list(pool.map(lambda item: _read_nested(cloudformation, *item), pending))
            for (parent, _), child in zip(pending, found, strict=True):
                parent.nested.append(child)
            level = [child for child in found if isinstance(child, _Reading)]
    readings = [item for item in top.walk() if isinstance(item, _Reading)]
    return DeployedStack(
        name=top.name,
        status=top.status,
        outputs=_merged_outputs(readings),
        resources=tuple(
            Resource(reading.name, s["LogicalResourceId"], s["ResourceType"], s["PhysicalResourceId"])
            for reading in readings
            for s in reading.summaries
            if s.get("PhysicalResourceId") and _exists(s)
        ),
        nested=tuple(reading.name for reading in readings[1:]),
        unreadable=tuple(item for item in top.walk() if isinstance(item, UnreadableStack)),
    )


def _exists(summary: dict[str, Any]) -> bool:
    # A replaced or removed resource is listed as deleted until the stack's cleanup: it runs nothing.
    return not summary.get("ResourceStatus", "").startswith("DELETE_")


def _read(cloudformation: Any, stack_id: str) -> _Reading:
    [found] = cloudformation.describe_stacks(StackName=stack_id)["Stacks"]
    summaries = [
        summary
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_id)
        for summary in page["StackResourceSummaries"]
    ]
    outputs = [(output["OutputKey"], output.get("OutputValue", "")) for output in found.get("Outputs", [])]
    return _Reading(found["StackName"], found["StackStatus"], outputs, summaries)


def _read_nested(cloudformation: Any, parent: _Reading, summary: dict[str, Any]) -> _Reading | UnreadableStack:
    logical_id, stack_id = summary["LogicalResourceId"], summary.get("PhysicalResourceId", "")

    def unreadable(reason: str) -> UnreadableStack:
        return UnreadableStack(parent.name, logical_id, stack_id, reason)

    if not stack_id:
        return unreadable(f"{summary.get('ResourceStatus', 'no status')}, no stack created")
    try:
        reading = _read(cloudformation, stack_id)
    except client_errors() as err:
        return unreadable(aws_error(err))
    if reading.status == "DELETE_COMPLETE":
        return unreadable("DELETE_COMPLETE: the stack and its resources are deleted")
    return reading


def _merged_outputs(readings: list[_Reading]) -> dict[str, str]:
    """Every stack's outputs in one mapping; a key two stacks share is refused, as neither value is the one."""
    outputs: dict[str, str] = {}
    holder: dict[str, str] = {}
    for reading in readings:
        for key, value in reading.outputs:
            if key in holder:
                raise Refusal(
                    f"output '{key}' is in both stack {holder[key]} and stack {reading.name}; an output key must be"
                    " in one stack of the environment: rename one of them in the app and deploy again"
                )
            holder[key], outputs[key] = reading.name, value
    return outputs
