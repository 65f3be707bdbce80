"""GG-BEANSTALK: Elastic Beanstalk environments and configuration templates launch Graviton instances.

Beanstalk names its instances in `OptionSettings`, not in a property of their own: `aws:ec2:instances`
`InstanceTypes` (a comma-separated list), the older `aws:autoscaling:launchconfiguration` `InstanceType`, and
`aws:ec2:instances` `SupportedArchitectures`. With none of them, Beanstalk launches its x86 defaults (t3.micro,
t3.small). An environment built on a configuration template (`TemplateName`) takes its settings from there, which
this rule cannot read: it must name its instances itself.
"""

from __future__ import annotations

from typing import Any

from graviton.guardrails.instance_types import ARM64_ARCHITECTURE, is_graviton
from graviton.guardrails.rules import (
    Resource,
    Rule,
    Verdict,
    compliant,
    is_token,
    unresolved,
    violation,
)

INSTANCES = "aws:ec2:instances"
LAUNCH_CONFIGURATION = "aws:autoscaling:launchconfiguration"
# (namespace, option) -> how its value lists instance types
INSTANCE_TYPE_OPTIONS = {(INSTANCES, "InstanceTypes"), (LAUNCH_CONFIGURATION, "InstanceType")}
ARCHITECTURES_OPTION = (INSTANCES, "SupportedArchitectures")
FIX = "set OptionSettings aws:ec2:instances InstanceTypes to Graviton types (t4g.small,m7g.large) on the resource"


def _options(properties: Any) -> dict[tuple[str, str], Any] | None:
    """(namespace, option name) -> value, or None when the settings are a token the guard cannot read."""
    settings = properties.get("OptionSettings") or []
    if is_token(settings) or not isinstance(settings, list):
        return None
    options: dict[tuple[str, str], Any] = {}
    for setting in settings:
        if isinstance(setting, dict):
            options[(str(setting.get("Namespace")), str(setting.get("OptionName")))] = setting.get("Value")
    return options


def check(resource: Resource) -> Verdict:
    options = _options(resource.properties)
    if options is None:
        return violation(unresolved(resource.properties.get("OptionSettings")), FIX)
    named = {key: options[key] for key in INSTANCE_TYPE_OPTIONS | {ARCHITECTURES_OPTION} if key in options}
    if not named:
        if resource.type == "AWS::ElasticBeanstalk::Environment" and resource.properties.get("TemplateName"):
            return violation("instance types from a configuration template the guard cannot read", FIX)
        return violation("x86_64 (no InstanceTypes: Beanstalk launches t3.micro, t3.small)", FIX)
    for (namespace, option), value in sorted(named.items()):
        if is_token(value) or not isinstance(value, str):
            return violation(f"{namespace} {option}: {unresolved(value)}", FIX)
        values = [v.strip() for v in value.split(",") if v.strip()]
        if (namespace, option) == ARCHITECTURES_OPTION:
            if values != [ARM64_ARCHITECTURE]:
                return violation(f"{namespace} {option} {value}", FIX)
        elif not values or not all(is_graviton(v) for v in values):
            return violation(f"{namespace} {option} {value}", FIX)
    return compliant(", ".join(str(named[key]) for key in sorted(named)))


RULE = Rule(
    id="GG-BEANSTALK",
    title="Elastic Beanstalk launches Graviton",
    explanation="Beanstalk environments name their EC2 instances in OptionSettings and launch x86 t3 instances "
    "when none are named; a configuration template's settings are checked on the template.",
    fix=FIX,
    applies_to=("AWS::ElasticBeanstalk::Environment", "AWS::ElasticBeanstalk::ConfigurationTemplate"),
    check=check,
    cfn_fix="OptionSettings: [{Namespace: aws:ec2:instances, OptionName: InstanceTypes, Value: 't4g.small,m7g.large'}]",
)
