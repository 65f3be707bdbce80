"""Every customer KMS key goes when, and only when, what it encrypts goes: a key protecting only what its stack
deletes (a topic's messages, a build's artifacts) is deleted with the stack after KMS's 7-day waiting period; one
protecting something the stack retains would have to be retained too. Keys are found by what they encrypt."""

from __future__ import annotations

import json

import pytest
from support import repo_context

ENVIRONMENTS = sorted(repo_context()["environments"])
# What refers to a key without being encrypted by it: grants, aliases.
NOT_ENCRYPTED = {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role", "AWS::KMS::Alias"}
KEPT = {"Retain", "RetainExceptOnCreate", "Snapshot"}
PENDING_WINDOW_DAYS = 7


def encrypted_by(template: dict) -> dict[str, list[dict]]:
    """Every KMS key's logical id -> the resources that name it in their properties (grants left out)."""
    resources = template["Resources"]
    return {
        key: [
            resource
            for other, resource in resources.items()
            if other != key
            and resource["Type"] not in NOT_ENCRYPTED
            and (
                f'"Ref": "{key}"' in (text := json.dumps(resource.get("Properties", {}))) or f'["{key}", "Arn"]' in text
            )
        ]
        for key, resource in resources.items()
        if resource["Type"] == "AWS::KMS::Key"
    }


def key_of(template: dict, resource_type: str) -> dict:
    """The one key the resources of `resource_type` are encrypted with."""
    keys = {
        key for key, encrypted in encrypted_by(template).items() if any(r["Type"] == resource_type for r in encrypted)
    }
    assert len(keys) == 1, f"expected one key encrypting {resource_type}, found {len(keys)}"
    return template["Resources"][keys.pop()]


def assert_deleted_with_its_stack(key: dict) -> None:
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("Delete", "Delete")
    assert key["Properties"]["PendingWindowInDays"] == PENDING_WINDOW_DAYS


@pytest.fixture(scope="module")
def pipeline_template(pipeline_synth) -> dict:
    return pipeline_synth.stack_template(pipeline_synth.app.node.find_child("PipelineStack"))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_alarm_topics_key_is_deleted_with_the_topic(synthesized, environment):
    assert_deleted_with_its_stack(key_of(synthesized.template_dict(environment), "AWS::SNS::Topic"))


def test_the_build_artifacts_key_is_deleted_with_the_builds(synthesized):
    building = [e for e in ENVIRONMENTS if synthesized.template(e).find_resources("AWS::CodeBuild::Project")]
    assert building, "no environment builds images"
    for environment in building:
        assert_deleted_with_its_stack(key_of(synthesized.template_dict(environment), "AWS::CodeBuild::Project"))


def test_the_pipeline_notifications_key_is_deleted_with_the_topic(pipeline_template):
    assert_deleted_with_its_stack(key_of(pipeline_template, "AWS::SNS::Topic"))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_key_in_an_environment_goes_exactly_when_what_it_encrypts_goes(synthesized, environment):
    check_every_key(synthesized.template_dict(environment))


def test_every_key_in_the_pipeline_goes_exactly_when_what_it_encrypts_goes(pipeline_template):
    check_every_key(pipeline_template)


def check_every_key(template: dict) -> None:
    keys = encrypted_by(template)
    assert keys, "no customer KMS key found"
    for key_id, encrypted in keys.items():
        key = template["Resources"][key_id]
        assert encrypted, f"a key encrypts nothing: {key['Properties'].get('Description')}"
        if any(r.get("DeletionPolicy") in KEPT for r in encrypted):
            assert key.get("DeletionPolicy") in KEPT, "a key is deleted while what it encrypts is kept"
        else:
            assert_deleted_with_its_stack(key)


def test_a_key_encrypting_something_kept_must_be_kept_too():
    key = {"Type": "AWS::KMS::Key", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}
    key["Properties"] = {"PendingWindowInDays": PENDING_WINDOW_DAYS}
    bucket = {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "Properties": {"Key": {"Fn::GetAtt": ["K", "Arn"]}},
    }
    with pytest.raises(AssertionError, match="is kept"):
        check_every_key({"Resources": {"K": key, "B": bucket}})
    check_every_key({"Resources": {"K": {**key, "DeletionPolicy": "Retain"}, "B": bucket}})
