"""A CodeBuild project's month: its build minutes at the arm and the x86 rate of its compute type.

A project on a reserved fleet is billed per fleet hour, not per minute, and a compute type missing from the price
table has no price.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from graviton.guardrails.rules import Resource
from graviton_commands.cost.prices import PriceTable
from graviton_commands.cost.pricing import Priced


def price_codebuild(resource: Resource, share: dict[str, Decimal], prices: PriceTable) -> Priced:
    environment = resource.properties.get("Environment")
    environment = environment if isinstance(environment, Mapping) else {}
    compute_type = environment.get("ComputeType")
    if environment.get("Fleet"):
        return "reserved fleet: billed per fleet hour, no price", None, None
    rates = prices.codebuild.get(compute_type) if isinstance(compute_type, str) else None
    if rates is None:
        return f"{compute_type}: no price in the price table", None, None
    minutes = share["codebuild_build_minutes"]
    detail = f"{rates.arm64.instance} vs {rates.x86_64.instance}"
    return detail, minutes * rates.arm64.per_minute, minutes * rates.x86_64.per_minute
