"""GG-LAYER: an arm64 function uses the arm64 build of a layer that its publisher ships once per architecture.

Layers given by ARN carry no architecture the template shows: the name does. A copied ARN of the x86 build
deploys, and its native extension or agent fails (or silently does nothing) on Graviton.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graviton.guardrails.rules import NOT_APPLICABLE, Resource, Rule, Verdict, compliant, violation

# Publisher -> (x86 layer name, the arm64 name to use). Layer names as each publisher documents them:
# Lambda Insights: docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Lambda-Insights-extension-versionsARM.html
# Powertools for AWS Lambda (Python): docs.powertools.aws.dev/lambda/python/latest/#lambda-layer
# ADOT: aws-otel.github.io/docs/getting-started/lambda (one layer per language and architecture)
# Parameters and Secrets extension: docs.aws.amazon.com/systems-manager/latest/userguide/
#   ps-integration-lambda-extensions.html
# Datadog extension: docs.datadoghq.com/serverless/libraries_integrations/extension/
X86_LAYERS: dict[str, tuple[re.Pattern[str], str]] = {
    "Lambda Insights": (re.compile(r"LambdaInsightsExtension"), "LambdaInsightsExtension-Arm64"),
    "Powertools for AWS Lambda (Python) v2": (
        re.compile(r"AWSLambdaPowertoolsPythonV2"),
        "AWSLambdaPowertoolsPythonV2-Arm64",
    ),
    "Powertools for AWS Lambda (Python) v3": (
        re.compile(r"AWSLambdaPowertoolsPythonV3-python3\d+-x86_64"),
        "AWSLambdaPowertoolsPythonV3-python3XX-arm64",
    ),
    "AWS Distro for OpenTelemetry": (
        re.compile(r"aws-otel-[a-z-]+-amd64-ver-[\w-]+"),
        "aws-otel-<language>-arm64-ver-...",
    ),
    "Parameters and Secrets extension": (
        re.compile(r"AWS-Parameters-and-Secrets-Lambda-Extension"),
        "AWS-Parameters-and-Secrets-Lambda-Extension-Arm64",
    ),
    "Datadog extension": (re.compile(r"Datadog-Extension"), "Datadog-Extension-ARM"),
}
_LAYER_NAME = re.compile(r":layer:([A-Za-z0-9_-]+)")


def literal_text(value: Any) -> str:
    """A layer ARN's literal text: a string, or the strings inside Fn::Join / Fn::Sub (tokens left out)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value and isinstance(value["Fn::Join"], list):
        separator, parts = (value["Fn::Join"] + ["", []])[:2]
        return str(separator).join(literal_text(part) for part in parts) if isinstance(parts, list) else ""
    if isinstance(value, dict) and "Fn::Sub" in value:
        template = value["Fn::Sub"]
        return literal_text(template[0] if isinstance(template, list) and template else template)
    return ""


def x86_layers(layers: Any) -> Iterator[tuple[str, str, str]]:
    """(layer name, publisher, arm64 name) for each x86 build of a per-architecture layer in `layers`."""
    for layer in layers if isinstance(layers, list) else []:
        match = _LAYER_NAME.search(literal_text(layer))
        if not match:
            continue
        for publisher, (x86, arm64) in X86_LAYERS.items():
            if x86.fullmatch(match.group(1)):
                yield match.group(1), publisher, arm64


def check(resource: Resource) -> Verdict:
    if resource.type not in ("AWS::Lambda::Function", "AWS::Serverless::Function"):
        return NOT_APPLICABLE
    if resource.properties.get("Architectures") != ["arm64"] or not resource.properties.get("Layers"):
        return NOT_APPLICABLE  # an x86 function is GG-LAMBDA's; no layers, nothing to read
    found = list(x86_layers(resource.properties["Layers"]))
    if not found:
        return compliant("no x86 build of a per-architecture layer")
    name, publisher, arm64 = found[0]
    return violation(f"{name} ({publisher}'s x86 build)", f"use the arm64 build: {arm64}")


RULE = Rule(
    id="GG-LAYER",
    title="Per-architecture layers are their arm64 builds",
    explanation="Lambda Insights, Powertools (Python), ADOT, the Parameters and Secrets extension and the Datadog "
    "extension publish one layer per architecture; an arm64 function must use the arm64 one.",
    fix="use the publisher's arm64 layer (CDK: lambda_.LambdaInsightsVersion and ParamsAndSecretsLayerVersion "
    "pick it from the function's architecture)",
    applies_to=("AWS::Lambda::Function", "AWS::Serverless::Function"),
    check=check,
)
