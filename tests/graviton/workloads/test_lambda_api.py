"""Every `lambda` service: arm64, HTTPS under its path on the environment's one HTTP API, Powertools settings, alarms
to SNS. A service's function, route and alarms are in its own nested stack; the HTTP API, its stage and the alarm topic
are its environment's, and reach the nested stack as parameters."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from support import ROOT, ServiceStackTemplates, function_of, lambda_route_key, nested_stacks, one, synthesized_services

from graviton import ArmImageBuild, ArmImageFunction, ImageRepository
from graviton.workloads.function_alarms import DURATION_ALARM_SHARE
from graviton_app import naming


@pytest.fixture(scope="module", params=synthesized_services("lambda"))
def service(request) -> str:
    """Each `lambda` service of the configuration the app was synthesized with."""
    return request.param


@pytest.fixture(scope="module")
def stacks(synthesized, service) -> ServiceStackTemplates:
    """The service's nested stack in dev, with dev's own template."""
    return synthesized.service("dev", service)


@pytest.fixture(scope="module")
def function(stacks, config, service):
    return function_of(stacks.template, config.service(service))


def test_every_lambda_service_of_the_configuration_is_tested(config):
    assert [s.name for s in config.services if "lambda" in s.targets] == synthesized_services("lambda")


def test_the_function_is_arm64_traced_and_sized_from_config(function, config, service):
    props = function[1]["Properties"]
    dev = config.environments["dev"]
    assert props["PackageType"] == "Image"
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert (props["MemorySize"], props["Timeout"]) == (dev.lambda_memory_mb, dev.lambda_timeout_seconds)
    assert props["Environment"]["Variables"] == {
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": config.project,
        "ENVIRONMENT": "dev",
        "BASE_PATH": config.service(service).route_path,
    }


def test_no_concurrency_is_reserved_unless_configured(synthesized, config, service):
    # A new account's quota is 10 and Lambda keeps 100 unreserved: reserving by default would fail deploys.
    for environment in ("dev", "prod"):
        _, function = function_of(synthesized.service(environment, service).template, config.service(service))
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


def test_log_retention_comes_from_each_environment(synthesized, config, service):
    for environment in ("dev", "prod"):
        template = synthesized.service(environment, service).template
        _, function = function_of(template, config.service(service))
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        retention = template.to_json()["Resources"][group]["Properties"]["RetentionInDays"]
        assert retention == config.environments[environment].log_retention_days
    assert config.environments["dev"].log_retention_days != config.environments["prod"].log_retention_days


def test_the_shared_http_api_sends_everything_under_the_services_path_to_the_function(
    stacks, function, config, service
):
    """The integration, route and permission are in the service's nested stack, on the environment's HTTP API."""
    dev, nested = stacks.parent, stacks.template
    integration, integration_props = one(
        nested, "AWS::ApiGatewayV2::Integration", {"IntegrationUri": {"Fn::GetAtt": [function[0], "Arn"]}}
    )
    (api,) = dev.find_resources("AWS::ApiGatewayV2::Api")
    assert dev.to_json()["Resources"][api]["Properties"]["ProtocolType"] == "HTTP"
    assert stacks.from_parent(integration_props["Properties"]["ApiId"]) == {"Ref": api}
    assert integration_props["Properties"]["IntegrationType"] == "AWS_PROXY"
    assert integration_props["Properties"]["PayloadFormatVersion"] == "2.0"
    _, route = one(
        nested, "AWS::ApiGatewayV2::Route", {"Target": {"Fn::Join": ["", ["integrations/", {"Ref": integration}]]}}
    )
    path = config.service(service).route_path
    assert route["Properties"]["RouteKey"] == f"ANY {path}/{{proxy+}}"
    assert stacks.from_parent(route["Properties"]["ApiId"]) == {"Ref": api}
    # The nested stack's only permission: API Gateway may invoke the function, from this API only.
    _, permission = one(nested, "AWS::Lambda::Permission")
    assert permission["Properties"]["FunctionName"] == {"Fn::GetAtt": [function[0], "Arn"]}
    assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    assert {"Ref": api} in [stacks.from_parent(part) for part in permission["Properties"]["SourceArn"]["Fn::Join"][1]]
    assert dev.to_json()["Outputs"][naming.base_url_output("lambda")]["Value"] == {"Fn::GetAtt": [api, "ApiEndpoint"]}
    (endpoint,) = [e for e in config.endpoints("dev") if e.label == naming.endpoint_label(service, "lambda")]
    assert (endpoint.base_output, endpoint.path) == (naming.base_url_output("lambda"), path)


def test_each_environment_has_one_http_api_with_one_route_per_lambda_service(synthesized, config):
    """One HTTP API in the environment's stack and none in a nested one; each `lambda` service's nested stack has its
    one route, on that API as its parameter."""
    lambda_services = [s for s in config.services if "lambda" in s.targets]
    for environment in ("dev", "prod"):
        template = synthesized.template(environment)
        (api,) = template.find_resources("AWS::ApiGatewayV2::Api")
        template.resource_count_is("AWS::ApiGatewayV2::Route", 0)
        route_keys = []
        for service, stacks in zip(config.services, nested_stacks(synthesized, environment), strict=True):
            stacks.template.resource_count_is("AWS::ApiGatewayV2::Api", 0)
            routes = stacks.template.find_resources("AWS::ApiGatewayV2::Route").values()
            assert len(routes) == (1 if "lambda" in service.targets else 0), (environment, service.name)
            assert all(stacks.from_parent(r["Properties"]["ApiId"]) == {"Ref": api} for r in routes)
            route_keys += [r["Properties"]["RouteKey"] for r in routes]
        assert sorted(route_keys) == sorted(lambda_route_key(s) for s in lambda_services)


def test_the_stage_logs_every_request_and_throttles_each_route(synthesized, dev, config):
    _, stage = one(dev, "AWS::ApiGatewayV2::Stage")
    props = stage["Properties"]
    assert props["StageName"] == "$default" and props["AutoDeploy"] is True
    group = props["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert dev.to_json()["Resources"][group]["Type"] == "AWS::Logs::LogGroup"
    assert {"requestId", "status", "latencyMs"} <= set(json.loads(props["AccessLogSettings"]["Format"]))
    assert props["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 50}
    # Each function's route has the same limits of its own, and exists before the stage names it: the stage waits
    # for the nested stack the route is in.
    lambda_services = [s for s in config.services if "lambda" in s.targets]
    assert props["RouteSettings"] == {
        lambda_route_key(s): {"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 50} for s in lambda_services
    }
    for service in lambda_services:
        stacks = synthesized.service("dev", service.name)
        one(stacks.template, "AWS::ApiGatewayV2::Route", {"RouteKey": lambda_route_key(service)})
        assert stacks.resource[0] in stage["DependsOn"], service.name


@pytest.mark.parametrize(
    ("metric", "statistic", "threshold"),
    [("Errors", "Sum", 1), ("Throttles", "Sum", 1), ("Duration", "p99", None)],
)
def test_errors_throttles_and_p99_duration_alarm_to_the_encrypted_topic(
    stacks, function, config, metric, statistic, threshold
):
    """The alarms are in the service's nested stack; the topic is the environment's, given as a parameter."""
    topic, topic_props = one(stacks.parent, "AWS::SNS::Topic")
    dimensions = [{"Name": "FunctionName", "Value": {"Ref": function[0]}}]
    _, alarm = one(stacks.template, "AWS::CloudWatch::Alarm", {"MetricName": metric, "Dimensions": dimensions})
    props = alarm["Properties"]
    expected = threshold or config.environments["dev"].lambda_timeout_seconds * 1000 * DURATION_ALARM_SHARE
    assert props["Namespace"] == "AWS/Lambda"
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function[0]}}]
    assert (props.get("Statistic") or props.get("ExtendedStatistic")) == statistic
    assert props["Threshold"] == expected
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert [stacks.from_parent(action) for action in props["AlarmActions"]] == [{"Ref": topic}]
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


@pytest.mark.parametrize(
    "environment, skipped",
    [
        ({"POWERTOOLS_SERVICE_NAME": "api", "BASE_PATH": "/api"}, True),
        # 40 characters of a secret key's alphabet: checkov's CKV_AWS_45 must see it, so it is not skipped
        ({"UPSTREAM_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, False),
    ],
    ids=["settings", "a-secret"],
)
def test_checkovs_secrets_check_is_skipped_only_while_no_variable_looks_like_a_secret(environment, skipped):
    stack = cdk.Stack(cdk.App(), "S")
    repository = ImageRepository(stack, "Repository", repository_name="gg-r")
    build = ArmImageBuild(
        stack, "Build", repository=repository, source_dir=ROOT / "docker" / "api", dockerfile="Dockerfile.lambda"
    )
    ArmImageFunction(stack, "Function", image=build, environment=environment)
    (function,) = (
        Template.from_stack(stack)
        .find_resources("AWS::Lambda::Function", {"Properties": {"PackageType": "Image"}})
        .values()
    )
    ids = [entry["id"] for entry in function["Metadata"]["checkov"]["skip"]]
    assert ("CKV_AWS_45" in ids) is skipped
    assert "CKV_AWS_116" in ids  # the others stay


def test_each_environments_http_api_is_named_after_its_stack(synthesized):
    names = {
        environment: one(synthesized.template(environment), "AWS::ApiGatewayV2::Api")[1]["Properties"]["Name"]
        for environment in synthesized.stacks
    }
    assert names == {environment: f"{stack.stack_name}-Api" for environment, stack in synthesized.stacks.items()}
