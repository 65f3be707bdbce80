"""GG-LAYER: an arm64 function names the arm64 build of each per-architecture layer; a passing and failing case each."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from graviton.guardrails.rules import Compliance, Resource
from graviton.guardrails.rules.lambda_layer_arns import X86_LAYERS
from graviton.guardrails.rules.pack import PACK

R = "arn:aws:lambda:eu-west-1"
# publisher -> (x86 ARN, arm64 ARN), as each publisher lists them
ARNS = {
    "Lambda Insights": (f"{R}:580247275435:layer:LambdaInsightsExtension:53", f"{R}:580247275435:layer:LambdaInsightsExtension-Arm64:20"),
    "Powertools for AWS Lambda (Python) v2": (
        f"{R}:017000801446:layer:AWSLambdaPowertoolsPythonV2:79",
        f"{R}:017000801446:layer:AWSLambdaPowertoolsPythonV2-Arm64:79",
    ),
    "Powertools for AWS Lambda (Python) v3": (
        f"{R}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:7",
        f"{R}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:7",
    ),
    "AWS Distro for OpenTelemetry": (
        f"{R}:901920570463:layer:aws-otel-python-amd64-ver-1-25-0:1",
        f"{R}:901920570463:layer:aws-otel-python-arm64-ver-1-25-0:1",
    ),
    "Parameters and Secrets extension": (
        f"{R}:015030872274:layer:AWS-Parameters-and-Secrets-Lambda-Extension:12",
        f"{R}:015030872274:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:12",
    ),
    "Datadog extension": (f"{R}:464622532012:layer:Datadog-Extension:65", f"{R}:464622532012:layer:Datadog-Extension-ARM:65"),
}  # fmt: skip


def verdict(layers, architectures=("arm64",)):
    properties = {"Architectures": list(architectures), "Layers": layers}
    return PACK["GG-LAYER"].check(Resource("F", "AWS::Lambda::Function", properties))


def test_every_publisher_in_the_table_has_a_case():
    assert set(ARNS) == set(X86_LAYERS)


@pytest.mark.parametrize("publisher", sorted(ARNS))
def test_the_x86_build_fails_and_the_arm64_build_passes(publisher):
    x86, arm64 = ARNS[publisher]
    failing = verdict([arm64, x86])
    assert failing.compliance is Compliance.NON_COMPLIANT and publisher in failing.found
    assert X86_LAYERS[publisher][1] in (failing.fix or "")
    assert verdict([arm64]).compliance is Compliance.COMPLIANT


def test_a_layer_arn_built_with_join_or_sub_is_read_from_its_literal_parts():
    joined = {
        "Fn::Join": ["", ["arn:aws:lambda:", {"Ref": "AWS::Region"}, ":580247275435:layer:LambdaInsightsExtension:53"]]
    }
    sub = {"Fn::Sub": "arn:aws:lambda:${AWS::Region}:017000801446:layer:AWSLambdaPowertoolsPythonV2:79"}
    assert verdict([joined]).compliance is Compliance.NON_COMPLIANT
    assert verdict([sub]).compliance is Compliance.NON_COMPLIANT


def test_cdks_own_insights_layer_for_an_arm64_function_passes():
    """CDK picks the Lambda Insights build from the function's architecture; the guard agrees with what it wrote."""
    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    lambda_.Function(
        stack, "F", runtime=lambda_.Runtime.PYTHON_3_13, handler="index.handler", code=lambda_.Code.from_inline("x"),
        architecture=lambda_.Architecture.ARM_64, insights_version=lambda_.LambdaInsightsVersion.VERSION_1_0_229_0,
    )  # fmt: skip
    (function,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
    assert all(isinstance(layer, str) for layer in function["Properties"]["Layers"])  # a literal ARN was read
    assert verdict(function["Properties"]["Layers"]).compliance is Compliance.COMPLIANT
