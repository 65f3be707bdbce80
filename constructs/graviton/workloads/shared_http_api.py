"""SharedHttpApi: one public HTTPS endpoint, an API Gateway HTTP API, in front of many functions, each under a path."""

from __future__ import annotations

import json
from typing import cast

import jsii
from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from constructs import Construct
from graviton.arm64 import DEFAULT_LOG_RETENTION
from graviton.nag import acknowledge
from graviton.stack_paths import stack_path, stack_path_name

# Limits per function's route (and for requests no route takes): a public endpoint must not let a loop run the bill
# up, and one function's traffic must not use up the others'.
THROTTLE_RATE = 50
THROTTLE_BURST = 100
# One JSON line per request, in the fields HTTP APIs document for $context.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "method": "$context.httpMethod",
        "path": "$context.path",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "integrationError": "$context.integrationErrorMessage",
    }
)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._log_group = log_group

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return apigwv2.LogGroupLogDestination(self._log_group)

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return apigateway.AccessLogFormat.custom(ACCESS_LOG_FORMAT)


class SharedHttpApi(Construct):
    """One HTTP API whose routes each send a path prefix to one function (payload v2), with access logs and
    throttling per route.

    An HTTP API rather than Function URLs: clients call it with plain HTTPS (a Function URL with IAM auth needs
    SigV4 on every call), and it brings throttling, access logs and custom domains. One API for many functions: an
    account has 600 regional APIs, and one route and integration per function keeps within an API's 300 of each.

    :param log_retention: how long access logs are kept (default: one month).
    :param description: the API's description (default: ``HTTPS endpoint of the functions under`` the construct's
        stack and path, such as ``DevStack/Api``, the same in a pipeline's stage).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            # Named after its stack, so the environments' APIs tell apart in one account (CDK's default: the id).
            api_name=stack_path_name(self),
            description=description or f"HTTPS endpoint of the functions under {stack_path(self)}",
            create_default_stage=False,
        )
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        self.stage = apigwv2.HttpStage(
            self,
            "Stage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            access_log_settings=_AccessLogs(self.access_logs),
            throttle=apigwv2.ThrottleSettings(rate_limit=THROTTLE_RATE, burst_limit=THROTTLE_BURST),
        )
        self._route_settings: dict[str, dict[str, int]] = {}
        # The base URL: each function answers at <url><path>.
        self.url = self.api.api_endpoint

    def add_function(self, scope: Construct, id: str, *, path: str, function: lambda_.IFunction) -> apigwv2.HttpRoute:
        """Send every request under ``path`` to ``function``: one route, ``ANY <path>/{proxy+}``, its integration
        and invoke permission in ``scope``, throttled on its own. The function sees the full path, prefix
        included (it strips ``path`` itself, such as with Powertools' ``strip_prefixes``).

        :param id: the route's construct id in ``scope``.
        :param path: the prefix, such as ``/api``; ``<path>/arch`` reaches the function, ``<path>`` alone does not.
        :param function: the function that serves it.
        """
        route_key = apigwv2.HttpRouteKey.with_(f"{path}/{{proxy+}}", apigwv2.HttpMethod.ANY)
        route = apigwv2.HttpRoute(
            scope,
            id,
            http_api=self.api,
            route_key=route_key,
            integration=integrations.HttpLambdaIntegration("Function", function),
        )
        self._route_settings[route_key.key] = {
            "ThrottlingRateLimit": THROTTLE_RATE,
            "ThrottlingBurstLimit": THROTTLE_BURST,
        }
        stage = cast(apigwv2.CfnStage, self.stage.node.default_child)
        stage.route_settings = dict(self._route_settings)
        # A stage's route settings name existing routes only.
        stage.node.add_dependency(route)
        acknowledge(
            route,
            "APIG4",
            "public read-only routes (/health, /arch) that the verification calls; add an authorizer for others",
        )
        return route
