"""The api service on Lambda: arm64, HTTPS through an HTTP API, Powertools settings, alarms to SNS."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from support import ROOT, one, repo_context

from graviton import ArmImageBuild, ArmImageFunction, ImageRepository
from graviton.workloads.function_alarms import DURATION_ALARM_SHARE
from graviton_app.config import load_config


@pytest.fixture(scope="module")
def config():
    return load_config(repo_context(), root=ROOT)


@pytest.fixture(scope="module")
def function(dev):
    return one(dev, "AWS::Lambda::Function", {"PackageType": "Image"})


def test_the_function_is_arm64_traced_and_sized_from_config(function, config):
    props = function[1]["Properties"]
    dev = config.environments["dev"]
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert (props["MemorySize"], props["Timeout"]) == (dev.lambda_memory_mb, dev.lambda_timeout_seconds)
    assert props["Environment"]["Variables"] == {
        "POWERTOOLS_SERVICE_NAME": "api",
        "POWERTOOLS_METRICS_NAMESPACE": config.project,
        "ENVIRONMENT": "dev",
    }


def test_no_concurrency_is_reserved_unless_configured(synthesized, config):
    # A new account's quota is 10 and Lambda keeps 100 unreserved: reserving by default would fail deploys.
    for environment in ("dev", "prod"):
        _, function = one(synthesized.template(environment), "AWS::Lambda::Function", {"PackageType": "Image"})
        assert config.environments[environment].lambda_reserved_concurrency is None
        assert "ReservedConcurrentExecutions" not in function["Properties"]


def test_configured_reserved_concurrency_reaches_the_function():
    stack = cdk.Stack(cdk.App(), "S")
    repository = ImageRepository(stack, "Repository", repository_name="gg-r")
    build = ArmImageBuild(
        stack, "Build", repository=repository, source_dir=ROOT / "docker" / "api", dockerfile="Dockerfile.lambda"
    )
    ArmImageFunction(stack, "Function", image=build, reserved_concurrency=25)
    (function,) = (
        Template.from_stack(stack)
        .find_resources("AWS::Lambda::Function", {"Properties": {"PackageType": "Image"}})
        .values()
    )
    assert function["Properties"]["ReservedConcurrentExecutions"] == 25


def test_log_retention_comes_from_each_environment(synthesized, config):
    for environment in ("dev", "prod"):
        template = synthesized.template(environment)
        _, function = one(template, "AWS::Lambda::Function", {"PackageType": "Image"})
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        retention = template.to_json()["Resources"][group]["Properties"]["RetentionInDays"]
        assert retention == config.environments[environment].log_retention_days
    assert config.environments["dev"].log_retention_days != config.environments["prod"].log_retention_days


def test_an_http_api_sends_every_route_to_the_function(dev, function):
    api, props = one(dev, "AWS::ApiGatewayV2::Api")
    assert props["Properties"]["ProtocolType"] == "HTTP"
    integration, integration_props = one(dev, "AWS::ApiGatewayV2::Integration")
    assert integration_props["Properties"]["IntegrationType"] == "AWS_PROXY"
    assert integration_props["Properties"]["IntegrationUri"] == {"Fn::GetAtt": [function[0], "Arn"]}
    assert integration_props["Properties"]["PayloadFormatVersion"] == "2.0"
    _, route = one(dev, "AWS::ApiGatewayV2::Route")
    assert route["Properties"]["RouteKey"] == "$default"
    assert route["Properties"]["Target"] == {"Fn::Join": ["", ["integrations/", {"Ref": integration}]]}
    # The function's only permission (the stack's other one lets EventBridge invoke the registry gatekeeper).
    _, permission = one(dev, "AWS::Lambda::Permission", {"FunctionName": {"Fn::GetAtt": [function[0], "Arn"]}})
    assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    assert dev.to_json()["Outputs"]["ApiLambdaUrl"]["Value"] == {"Fn::GetAtt": [api, "ApiEndpoint"]}


def test_the_stage_logs_every_request_and_throttles(dev):
    _, stage = one(dev, "AWS::ApiGatewayV2::Stage")
    props = stage["Properties"]
    assert props["StageName"] == "$default" and props["AutoDeploy"] is True
    group = props["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert dev.to_json()["Resources"][group]["Type"] == "AWS::Logs::LogGroup"
    assert {"requestId", "status", "latencyMs"} <= set(json.loads(props["AccessLogSettings"]["Format"]))
    assert props["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 50}


@pytest.mark.parametrize(
    ("metric", "statistic", "threshold"),
    [("Errors", "Sum", 1), ("Throttles", "Sum", 1), ("Duration", "p99", None)],
)
def test_errors_throttles_and_p99_duration_alarm_to_the_encrypted_topic(
    dev, function, config, metric, statistic, threshold
):
    topic, topic_props = one(dev, "AWS::SNS::Topic")
    _, alarm = one(dev, "AWS::CloudWatch::Alarm", {"MetricName": metric})
    props = alarm["Properties"]
    expected = threshold or config.environments["dev"].lambda_timeout_seconds * 1000 * DURATION_ALARM_SHARE
    assert props["Namespace"] == "AWS/Lambda"
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function[0]}}]
    assert (props.get("Statistic") or props.get("ExtendedStatistic")) == statistic
    assert props["Threshold"] == expected
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["AlarmActions"] == [{"Ref": topic}]
    assert "KmsMasterKeyId" in topic_props["Properties"]


def test_cloudwatch_alarms_of_this_account_may_publish_to_the_topic(dev):
    topic, _ = one(dev, "AWS::SNS::Topic")
    (policy,) = dev.find_resources("AWS::SNS::TopicPolicy", {"Properties": {"Topics": [{"Ref": topic}]}}).values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish" and allow["Resource"] == {"Ref": topic}
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert ":alarm:*" in json.dumps(allow["Condition"]["ArnLike"]["aws:SourceArn"])


def test_cloudwatch_may_use_the_topics_key(dev):
    _, topic = one(dev, "AWS::SNS::Topic")
    key = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    statements = dev.to_json()["Resources"][key]["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch and set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
