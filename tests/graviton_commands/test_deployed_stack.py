"""`read_stack`: a stack and its nested stacks, recursively, read concurrently and merged in one order.

The client answers from a table of stacks (`cloudformation_support.FakeCloudFormation`: botocore's Stubber mechanism,
but by stack name, in whatever order the threads ask).
"""

from __future__ import annotations

import threading

import pytest
from cloudformation_support import FakeCloudFormation, FakeStack, arn, nested, resource

from graviton_commands.cli import Refusal
from graviton_commands.deployed_stack import NESTED_STACK, StackNotDeployed, UnreadableStack, read_stack

API, WEB, WORKERS = "DevStack-ApiNestedStack-1AB2CD3EF4GH", "DevStack-WebNestedStack-5IJ6KL7MN8OP", "Workers-9QR"


def environment() -> dict[str, FakeStack]:
    """DevStack with two nested stacks (the api's holds a third, two deep), as a deploy leaves them."""
    return {
        "DevStack": FakeStack(
            outputs={"BuildSourcesBucket": "devstack-sources", "LambdaBaseUrl": "https://abc.example/"},
            resources=[
                resource("BuildSources", "AWS::S3::Bucket", "devstack-sources"),
                nested("ApiNestedStackResource", API),
                # Replaced on the last update, not yet cleaned up: nothing of it runs, and it is not read.
                nested("OldNestedStackResource", "DevStack-OldNestedStack-GONE", "DELETE_COMPLETE"),
                nested("WebNestedStackResource", WEB),
            ],
        ),
        API: FakeStack(
            outputs={"ApiBuildProject": "ApiBuildProject-Xy9", "ApiRepositoryUri": "repo/api"},
            resources=[
                resource("ApiFunction", "AWS::Lambda::Function", f"{API}-ApiFunction-AbC"),
                resource("ApiBuildProject", "AWS::CodeBuild::Project", "ApiBuildProject-Xy9"),
                nested("WorkersNestedStackResource", WORKERS),
            ],
        ),
        WORKERS: FakeStack(
            outputs={"WorkersQueue": "https://sqs/workers"},
            resources=[resource("WorkerFunction", "AWS::Lambda::Function", "DevStack-Worker-DeF")],
        ),
        WEB: FakeStack(
            status="UPDATE_COMPLETE",
            outputs={"WebBuildProject": "WebBuildProject-Zw8"},
            resources=[
                resource("WebBuildProject", "AWS::CodeBuild::Project", "WebBuildProject-Zw8"),
                resource("WebTaskDef", "AWS::ECS::TaskDefinition", "arn:aws:ecs:task-definition/web:1"),
                resource(
                    "WebOldTaskDef", "AWS::ECS::TaskDefinition", "arn:aws:ecs:task-definition/web:0", "DELETE_SKIPPED"
                ),
                resource("WebService", "AWS::ECS::Service", "arn:aws:ecs:service/web"),
            ],
            page_size=2,  # two pages
        ),
    }


def test_nested_stacks_are_read_recursively_and_merged_in_the_order_their_parents_list_them():
    fake = FakeCloudFormation(environment())
    deployed = read_stack(fake.client, "DevStack")

    assert (deployed.name, deployed.status) == ("DevStack", "CREATE_COMPLETE")
    assert deployed.outputs == {
        "BuildSourcesBucket": "devstack-sources",
        "LambdaBaseUrl": "https://abc.example/",
        "ApiBuildProject": "ApiBuildProject-Xy9",
        "ApiRepositoryUri": "repo/api",
        "WorkersQueue": "https://sqs/workers",
        "WebBuildProject": "WebBuildProject-Zw8",
    }
    assert list(deployed.outputs) == [
        "BuildSourcesBucket",
        "LambdaBaseUrl",
        "ApiBuildProject",
        "ApiRepositoryUri",
        "WorkersQueue",
        "WebBuildProject",
    ]
    assert deployed.nested == (API, WORKERS, WEB)
    assert [(r.stack, r.logical_id) for r in deployed.resources] == [
        ("DevStack", "BuildSources"),
        ("DevStack", "ApiNestedStackResource"),
        ("DevStack", "WebNestedStackResource"),
        (API, "ApiFunction"),
        (API, "ApiBuildProject"),
        (API, "WorkersNestedStackResource"),
        (WORKERS, "WorkerFunction"),
        (WEB, "WebBuildProject"),
        (WEB, "WebTaskDef"),
        (WEB, "WebService"),  # from the second page
    ]
    assert deployed.physical_ids("AWS::Lambda::Function") == [f"{API}-ApiFunction-AbC", "DevStack-Worker-DeF"]
    assert deployed.physical_ids("AWS::CodeBuild::Project") == ["ApiBuildProject-Xy9", "WebBuildProject-Zw8"]
    assert deployed.unreadable == ()
    assert ("DescribeStacks", "DevStack-OldNestedStack-GONE") not in fake.calls
    assert fake.calls.count(("ListStackResources", WEB)) == 2


def test_the_order_is_the_listing_order_whichever_nested_stack_answers_first():
    stacks = environment()
    web_asked = threading.Event()
    # The web stack answers first: the api's DescribeStacks waits until the web's has been asked.
    stacks[WEB].before_describe = web_asked.set
    stacks[API].before_describe = lambda: web_asked.wait(5)
    deployed = read_stack(FakeCloudFormation(stacks).client, "DevStack")
    assert deployed.nested == (API, WORKERS, WEB)
    assert list(deployed.outputs)[2:] == ["ApiBuildProject", "ApiRepositoryUri", "WorkersQueue", "WebBuildProject"]


def test_a_stack_without_nested_stacks_is_read_with_two_calls_as_before():
    stacks = {
        "DevStack": FakeStack(
            outputs={"ApiBuildProject": "p"}, resources=[resource("Fn", "AWS::Lambda::Function", "f")]
        )
    }
    fake = FakeCloudFormation(stacks)
    deployed = read_stack(fake.client, "DevStack")
    assert fake.calls == [("DescribeStacks", "DevStack"), ("ListStackResources", "DevStack")]
    assert deployed.outputs == {"ApiBuildProject": "p"}
    assert deployed.physical_ids("AWS::Lambda::Function") == ["f"]
    assert (deployed.nested, deployed.unreadable) == ((), ())


def test_nested_stacks_are_read_concurrently():
    """Each nested stack's DescribeStacks waits until all 6 are being asked at once: read one after the other, the
    first would wait in vain."""
    count = 6
    everyone = threading.Barrier(count, timeout=10)
    names = [f"DevStack-Service{n}NestedStack-{n:04d}" for n in range(count)]
    stacks = {
        "DevStack": FakeStack(
            resources=[nested(f"Service{n}NestedStackResource", name) for n, name in enumerate(names)]
        ),
        **{
            name: FakeStack(outputs={f"Service{n}BuildProject": name}, before_describe=everyone.wait)
            for n, name in enumerate(names)
        },
    }
    deployed = read_stack(FakeCloudFormation(stacks).client, "DevStack")
    assert deployed.nested == tuple(names)
    assert list(deployed.outputs) == [f"Service{n}BuildProject" for n in range(count)]


def test_a_nested_stack_that_cannot_be_read_is_named_with_why_and_the_others_are_read():
    stacks = environment()
    stacks["DevStack"].resources += [
        nested("MissingNestedStackResource", "DevStack-MissingNestedStack-ZZ"),  # deleted outside CloudFormation
        resource("FailedNestedStackResource", NESTED_STACK, "", "CREATE_FAILED"),  # never created
        nested("DeletedNestedStackResource", "DevStack-DeletedNestedStack-YY"),
    ]
    stacks["DevStack-DeletedNestedStack-YY"] = FakeStack(status="DELETE_COMPLETE", outputs={"Gone": "x"})
    deployed = read_stack(FakeCloudFormation(stacks, refuse=(WORKERS,)).client, "DevStack")

    assert [(u.parent, u.logical_id, u.name) for u in deployed.unreadable] == [
        (API, "WorkersNestedStackResource", WORKERS),
        ("DevStack", "MissingNestedStackResource", "DevStack-MissingNestedStack-ZZ"),
        ("DevStack", "FailedNestedStackResource", "FailedNestedStackResource"),
        ("DevStack", "DeletedNestedStackResource", "DevStack-DeletedNestedStack-YY"),
    ]
    reasons = [u.reason for u in deployed.unreadable]
    assert reasons[0].startswith("AWS refused DescribeStacks: AccessDenied: not authorized")
    assert reasons[1] == (
        "AWS refused DescribeStacks: ValidationError: Stack with id"
        f" {arn('DevStack-MissingNestedStack-ZZ')} does not exist"
    )
    assert reasons[2] == "CREATE_FAILED, no stack created"
    assert reasons[3] == "DELETE_COMPLETE: the stack and its resources are deleted"
    assert deployed.unreadable[1].describe() == (
        "nested stack DevStack-MissingNestedStack-ZZ (MissingNestedStackResource in DevStack) could not be read: "
        + reasons[1]
    )
    # Everything else is read all the same; nothing of the deleted stack counts.
    assert deployed.nested == (API, WEB)
    assert "WorkersQueue" not in deployed.outputs and "Gone" not in deployed.outputs
    assert deployed.physical_ids("AWS::CodeBuild::Project") == ["ApiBuildProject-Xy9", "WebBuildProject-Zw8"]


def test_an_output_key_in_two_stacks_is_refused_in_one_line():
    stacks = environment()
    stacks[WORKERS].outputs["ApiBuildProject"] = "WorkersBuild-1"
    with pytest.raises(Refusal) as refused:
        read_stack(FakeCloudFormation(stacks).client, "DevStack")
    assert str(refused.value) == (
        f"output 'ApiBuildProject' is in both stack {API} and stack {WORKERS}; an output key must be in one stack of"
        " the environment: rename one of them in the app and deploy again"
    )


def test_the_stack_itself_missing_or_refused_is_the_callers_to_phrase():
    with pytest.raises(StackNotDeployed) as missing:
        read_stack(FakeCloudFormation({}).client, "DevStack")
    assert missing.value.stack == "DevStack"
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="AccessDenied"):
        read_stack(FakeCloudFormation(environment(), refuse=("DevStack",)).client, "DevStack")


def test_an_unreadable_stack_without_a_name_is_called_by_its_logical_id():
    stack = UnreadableStack("DevStack", "ApiNestedStackResource", "", "CREATE_FAILED, no stack created")
    assert stack.name == "ApiNestedStackResource"
    assert UnreadableStack("DevStack", "A", arn("DevStack-A-1"), "x").name == "DevStack-A-1"
