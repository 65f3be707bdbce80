"""graviton.checkov.skip: one checkov check on one CloudFormation resource, with its reason, in the form checkov
reads (tests/test_checkov.py runs checkov itself)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from graviton import checkov

REASON = "holds nothing but test fixtures, read once"


def bucket_template(configure) -> dict:
    stack = cdk.Stack(cdk.App())
    configure(s3.Bucket(stack, "Bucket"))
    return next(iter(Template.from_stack(stack).find_resources("AWS::S3::Bucket").values()))


def test_a_skip_lands_in_the_l1_resources_metadata_beside_what_is_there():
    def configure(bucket: s3.Bucket) -> None:
        resource = bucket.node.default_child
        assert isinstance(resource, cdk.CfnResource)
        resource.add_metadata("other", {"kept": True})
        checkov.skip(bucket, "CKV_AWS_18", REASON)  # the L2: its L1 gets it
        checkov.skip(resource, "CKV_AWS_21", "versions would only keep fixtures that change with the code")

    metadata = bucket_template(configure)["Metadata"]
    assert metadata["other"] == {"kept": True}
    assert metadata["checkov"] == {
        "skip": [
            {"id": "CKV_AWS_18", "comment": REASON},
            {"id": "CKV_AWS_21", "comment": "versions would only keep fixtures that change with the code"},
        ]
    }


@pytest.mark.parametrize(
    ("check_id", "reason", "message"),
    [
        ("CKV_AWS_18,CKV_AWS_21", REASON, "is not one check"),
        ("*", REASON, "is not one check"),
        ("S1", REASON, "is not one check"),
        ("CKV_AWS_18", "not needed", "needs a specific reason"),
        ("CKV_AWS_18", "   ", "needs a specific reason"),
    ],
)
def test_a_skip_names_one_check_and_a_reason(check_id, reason, message):
    bucket = s3.Bucket(cdk.Stack(cdk.App()), "Bucket")
    with pytest.raises(ValueError, match=message):
        checkov.skip(bucket, check_id, reason)


def test_the_same_check_is_not_skipped_twice_on_one_resource():
    bucket = s3.Bucket(cdk.Stack(cdk.App()), "Bucket")
    checkov.skip(bucket, "CKV_AWS_18", REASON)
    with pytest.raises(ValueError, match="already skipped"):
        checkov.skip(bucket, "CKV_AWS_18", REASON)


def test_a_construct_without_an_l1_resource_is_refused():
    stack = cdk.Stack(cdk.App())
    with pytest.raises(ValueError, match="is not a CloudFormation resource"):
        checkov.skip(cdk.Stack(stack.node.scope, "Other"), "CKV_AWS_18", REASON)
