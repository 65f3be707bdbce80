"""LogGroupEncryption: every log group under a scope, nested stacks' and CDK's own included, encrypted with one key
CloudWatch Logs may use."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from graviton import BuildArtifactsKey, LogGroupEncryption


def test_log_groups_of_the_stack_and_its_nested_stacks_get_the_key():
    app = cdk.App()
    stack = cdk.Stack(app, "Parent")
    key = BuildArtifactsKey(stack, "Key")
    LogGroupEncryption.apply(stack, key=key)
    logs.LogGroup(stack, "Own", removal_policy=cdk.RemovalPolicy.DESTROY)
    nested = cdk.NestedStack(stack, "Nested")
    logs.LogGroup(nested, "Nested", removal_policy=cdk.RemovalPolicy.DESTROY)
    logs.LogGroup(stack, "Chosen", encryption_key=BuildArtifactsKey(stack, "OtherKey"))
    parent = Template.from_stack(stack)
    key_arn = {"Fn::GetAtt": [stack.resolve(key.node.default_child.logical_id), "Arn"]}  # type: ignore[union-attr]
    groups = {
        name[: -len("00000000")]: r["Properties"] for name, r in parent.find_resources("AWS::Logs::LogGroup").items()
    }
    assert groups["Own"]["KmsKeyId"] == key_arn
    assert groups["Chosen"]["KmsKeyId"] != key_arn, "a log group's own key is kept"
    (nested_group,) = Template.from_stack(nested).find_resources("AWS::Logs::LogGroup").values()
    parameter = nested_group["Properties"]["KmsKeyId"]["Ref"]
    (nested_resource,) = parent.find_resources("AWS::CloudFormation::Stack").values()
    assert nested_resource["Properties"]["Parameters"][parameter] == key_arn
    parent.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "CloudWatchLogsOfThisAccount",
                                "Principal": {
                                    "Service": {
                                        "Fn::Join": [
                                            "",
                                            ["logs.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}],
                                        ]
                                    }
                                },
                                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": Match.any_value()}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_every_log_group_of_every_environment_is_encrypted_with_its_key(synthesized):
    for environment in synthesized.stacks:
        parent = synthesized.template(environment)
        keys = parent.find_resources("AWS::KMS::Key", {"Properties": {"Description": "build artifacts and logs"}})
        assert len(keys) == 1, environment
        (key_id,) = keys
        for name, group in parent.find_resources("AWS::Logs::LogGroup").items():
            assert group["Properties"].get("KmsKeyId") == {"Fn::GetAtt": [key_id, "Arn"]}, f"{environment} {name}"
        for service in synthesized.services(environment):
            for name, group in service.template.find_resources("AWS::Logs::LogGroup").items():
                given = service.from_parent(group["Properties"].get("KmsKeyId"))
                assert given == {"Fn::GetAtt": [key_id, "Arn"]}, f"{environment} {service.resource[0]} {name}"


def test_a_retained_log_group_is_left_unencrypted_rather_than_outlive_its_key():
    stack = cdk.Stack(cdk.App())
    LogGroupEncryption.apply(stack, key=BuildArtifactsKey(stack, "Key"))
    logs.LogGroup(stack, "Kept", removal_policy=cdk.RemovalPolicy.RETAIN)
    (kept,) = Template.from_stack(stack).find_resources("AWS::Logs::LogGroup").values()
    assert "KmsKeyId" not in kept["Properties"]
