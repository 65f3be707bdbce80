"""PortableNestedStack: the same nested template from the app's top level and from inside a Stage."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from graviton import PortableNestedStack
from graviton.nag import attribute


def nested_and_parent(nested_class: type[cdk.NestedStack], *, in_stage: bool, outdir: Path) -> tuple[dict, dict]:
    """A parent with a topic a nested stack reads, and a queue in the nested stack the parent reads back."""
    app = cdk.App(outdir=str(outdir))
    scope: cdk.App | cdk.Stage = cdk.Stage(app, "Dev") if in_stage else app
    parent = cdk.Stack(scope, "DevStack")
    topic = sns.Topic(parent, "Topic")
    nested = nested_class(parent, "Web")
    queue = sqs.Queue(nested, "Queue")
    cdk.CfnOutput(nested, "TopicSeen", value=topic.topic_arn)
    cdk.CfnOutput(parent, "QueueSeen", value=queue.queue_url)
    assembly = (scope if in_stage else app).synth()
    artifact = assembly.get_stack_artifact(parent.artifact_id)
    folder = Path(artifact.assembly.directory)
    return (
        json.loads((folder / nested.template_file).read_text()),
        json.loads((folder / parent.template_file).read_text()),
    )


@pytest.mark.parametrize("nested_class, same", [(PortableNestedStack, True), (cdk.NestedStack, False)])
def test_parameters_and_outputs_are_named_the_same_in_a_stage(tmp_path, nested_class, same):
    top_nested, top_parent = nested_and_parent(nested_class, in_stage=False, outdir=tmp_path / "top")
    stage_nested, stage_parent = nested_and_parent(nested_class, in_stage=True, outdir=tmp_path / "stage")
    assert len(top_nested["Parameters"]) == len(top_nested["Outputs"]) - 1 == 1
    # CDK's own names differ (they come from the full construct path); a portable nested stack's do not.
    assert (set(top_nested["Parameters"]) == set(stage_nested["Parameters"])) is same
    assert (set(top_nested["Outputs"]) == set(stage_nested["Outputs"])) is same
    assert (json.dumps(top_parent["Outputs"]) == json.dumps(stage_parent["Outputs"])) is same


def test_names_come_from_the_referenced_resources_logical_ids(tmp_path):
    nested, parent = nested_and_parent(PortableNestedStack, in_stage=True, outdir=tmp_path)
    (topic,) = [k for k, v in parent["Resources"].items() if v["Type"] == "AWS::SNS::Topic"]
    (queue,) = [k for k, v in nested["Resources"].items() if v["Type"] == "AWS::SQS::Queue"]
    assert set(nested["Parameters"]) == {f"referenceto{topic}Ref"}
    assert f"Web{queue}Ref" in nested["Outputs"]  # the nested stack's id first: its siblings may share the logical id
    (stack,) = [v for v in parent["Resources"].values() if v["Type"] == "AWS::CloudFormation::Stack"]
    assert stack["Properties"]["Parameters"] == {f"referenceto{topic}Ref": {"Ref": topic}}


def test_nag_names_a_parent_attribute_as_the_nested_stack_receives_it(tmp_path):
    app = cdk.App(outdir=str(tmp_path))
    parent = cdk.Stack(cdk.Stage(app, "Dev"), "DevStack")
    topic = sns.Topic(parent, "Topic")
    nested = PortableNestedStack(parent, "Web")
    cdk.CfnOutput(nested, "TopicSeen", value=topic.topic_arn)
    resource = topic.node.default_child
    assert isinstance(resource, cdk.CfnResource)
    parameter = attribute(nested, resource, "Ref")
    assert attribute(parent, resource, "Ref") == f"<{parent.resolve(resource.logical_id)}.Ref>"
    app.synth()
    template = json.loads((Path(cdk.Stage.of(parent).outdir) / nested.template_file).read_text())
    assert parameter == f"<{next(iter(template['Parameters']))}>"


def sibling_and_parameter_references(*, in_stage: bool, outdir: Path) -> dict:
    """Two nested stacks, one reading a topic of the other (through the parent), and the parent's own parameter."""
    from aws_cdk import aws_ssm as ssm

    app = cdk.App(outdir=str(outdir))
    scope: cdk.App | cdk.Stage = cdk.Stage(app, "Dev") if in_stage else app
    parent = cdk.Stack(scope, "DevStack")
    setting = ssm.StringParameter.value_for_string_parameter(parent, "/team/setting")  # a CfnParameter of the parent
    producer = PortableNestedStack(parent, "Producer")
    topic = sns.Topic(producer, "Topic")
    consumer = PortableNestedStack(parent, "Consumer")
    cdk.CfnOutput(consumer, "TopicSeen", value=topic.topic_name)
    cdk.CfnOutput(consumer, "SettingSeen", value=setting)
    (scope if in_stage else app).synth()
    folder = Path(cdk.Stage.of(parent).outdir)
    return {
        name: json.loads((folder / stack.template_file).read_text())
        for name, stack in (("producer", producer), ("consumer", consumer))
    }


def test_a_sibling_stacks_value_and_a_parent_parameter_pass_with_portable_names(tmp_path):
    top = sibling_and_parameter_references(in_stage=False, outdir=tmp_path / "top")
    stage = sibling_and_parameter_references(in_stage=True, outdir=tmp_path / "stage")
    names = sorted(top["consumer"]["Parameters"])
    assert len(names) == 2 and all(name.isalnum() and len(name) <= 255 for name in names)
    assert names == sorted(stage["consumer"]["Parameters"])
    assert sorted(top["producer"]["Outputs"]) == sorted(stage["producer"]["Outputs"])
