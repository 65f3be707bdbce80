"""FunctionHttpApi: a function's public HTTPS endpoint, an API Gateway HTTP API."""

from __future__ import annotations

import json

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
from graviton.stack_paths import stack_path

# Stage-wide limits: a public endpoint must not let a loop run the bill up.
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


class FunctionHttpApi(Construct):
    """Every route of an HTTP API to one function (payload v2), with access logs and stage throttling.

    An HTTP API rather than a Function URL: clients call it with plain HTTPS (a Function URL with IAM auth
    needs SigV4 on every call), and it brings throttling, access logs and custom domains.

    :param function: the function that serves every route.
    :param log_retention: how long access logs are kept (default: one month).
    :param description: the API's description (default: ``HTTPS endpoint of`` the function's stack and path, such as
        ``DevStack/ApiFunction/Function``, the same in a pipeline's stage).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        function: lambda_.IFunction,
        log_retention: logs.RetentionDays = DEFAULT_LOG_RETENTION,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            description=description or f"HTTPS endpoint of {stack_path(function)}",
            default_integration=integrations.HttpLambdaIntegration("Function", function),
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
        self.url = self.api.api_endpoint
        acknowledge(
            self.api,
            "APIG4",
            "public read-only routes (/health, /arch) that the verification calls; add an authorizer for others",
        )
