"""The AWS limits one environment's services must fit, each with where AWS states it. Standard library only.

The settings check the services' limits while loading (`graviton_app.config`), so a configuration that could not
deploy is refused in one line before any construct is built; the templates' limits are checked on the synthesized
templates.
"""

from __future__ import annotations

from dataclasses import dataclass

_CLOUDFORMATION_QUOTAS = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html"
_ALB_QUOTAS = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html"
_HTTP_API_QUOTAS = "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html"
_LISTENER_RULES = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html"


@dataclass(frozen=True)
class Limit:
    """One AWS limit: its value, what it counts, whether a quota increase can raise it, and its source."""

    value: int
    counts: str
    adjustable: bool
    source: str

    @property
    def said(self) -> str:
        """`at most 100 target groups per Application Load Balancer (AWS limit, not adjustable)`."""
        kind = "AWS quota, adjustable" if self.adjustable else "AWS limit, not adjustable"
        return f"at most {self.value:,} {self.counts} ({kind})"


# One target group per ECS service on the environment's one load balancer: this caps its ECS services.
ALB_TARGET_GROUPS = Limit(100, "target groups per Application Load Balancer", False, _ALB_QUOTAS)
# One listener rule per ECS service (the default rules do not count).
ALB_RULES = Limit(100, "listener rules per Application Load Balancer", True, _ALB_QUOTAS)
# Every running ECS task is one registered target. The default of `alb_targets_quota`: an account with a raised quota
# sets its own.
ALB_TARGETS = Limit(1000, "targets per Application Load Balancer", True, _ALB_QUOTAS)
# A path-pattern condition value is at most 128 characters: `/<prefix>/*` must fit.
ALB_PATH_PATTERN_CHARS = Limit(128, "characters in a path-pattern condition value", False, _LISTENER_RULES)
# Listener rule priorities run from 1 to 50,000.
ALB_RULE_PRIORITY = Limit(50_000, "as a listener rule priority", False, _LISTENER_RULES)
# One route and one integration per Lambda service on the environment's one HTTP API; integrations are the fixed cap.
HTTP_API_INTEGRATIONS = Limit(300, "integrations per HTTP API", False, _HTTP_API_QUOTAS)
HTTP_API_ROUTES = Limit(300, "routes per HTTP API", True, _HTTP_API_QUOTAS)

# What one CloudFormation template may hold; each template counts alone, a nested stack's as its parent's.
# `make bench` (tests/bench/scale_growth.py) checks every template of the app, parent and nested, against them.
TEMPLATE_RESOURCES = Limit(500, "resources per CloudFormation template", False, _CLOUDFORMATION_QUOTAS)
TEMPLATE_OUTPUTS = Limit(200, "outputs per CloudFormation template", False, _CLOUDFORMATION_QUOTAS)
TEMPLATE_PARAMETERS = Limit(200, "parameters per CloudFormation template", False, _CLOUDFORMATION_QUOTAS)
# AWS states "1 MB" for a template body read from S3 (as CDK deploys every template); the smaller reading of it.
TEMPLATE_BYTES = Limit(1_000_000, "bytes in a CloudFormation template read from S3", False, _CLOUDFORMATION_QUOTAS)
# `{{resolve:secretsmanager:...}}`, `{{resolve:ssm:...}}` and the like, each occurrence one.
TEMPLATE_DYNAMIC_REFERENCES = Limit(
    60, "dynamic references ({{resolve:...}}) per CloudFormation template", False, _CLOUDFORMATION_QUOTAS
)

# Not an AWS limit: the most services one environment is built and measured with (one DevStack per environment).
SERVICES_PER_ENVIRONMENT = 200

# The longest path prefix a service may route under: `/<prefix>/*` within ALB_PATH_PATTERN_CHARS, with room to spare.
ROUTE_PATH_CHARS = 100

ECS_SERVICES_PER_ENVIRONMENT = min(ALB_TARGET_GROUPS.value, ALB_RULES.value)
LAMBDA_SERVICES_PER_ENVIRONMENT = min(HTTP_API_INTEGRATIONS.value, HTTP_API_ROUTES.value)

__all__ = [
    "ALB_PATH_PATTERN_CHARS",
    "ALB_RULES",
    "ALB_RULE_PRIORITY",
    "ALB_TARGETS",
    "ALB_TARGET_GROUPS",
    "ECS_SERVICES_PER_ENVIRONMENT",
    "HTTP_API_INTEGRATIONS",
    "HTTP_API_ROUTES",
    "LAMBDA_SERVICES_PER_ENVIRONMENT",
    "ROUTE_PATH_CHARS",
    "SERVICES_PER_ENVIRONMENT",
    "TEMPLATE_BYTES",
    "TEMPLATE_DYNAMIC_REFERENCES",
    "TEMPLATE_OUTPUTS",
    "TEMPLATE_PARAMETERS",
    "TEMPLATE_RESOURCES",
    "Limit",
]
