"""A Fargate task definition's month: its vCPU-hours and GB-hours at each architecture's price.

The task's size is only shown: cdk.json's hours are what is priced.
"""

from __future__ import annotations

from decimal import Decimal

from graviton.guardrails.rules import Resource
from graviton_commands.cost.prices import PriceTable
from graviton_commands.cost.pricing import literal_number


def price_fargate(resource: Resource, share: dict[str, Decimal], prices: PriceTable) -> tuple[str, Decimal, Decimal]:
    cpu, memory = literal_number(resource.properties.get("Cpu")), literal_number(resource.properties.get("Memory"))
    detail = "size unresolved"
    if cpu is not None and memory is not None:
        detail = f"{cpu / 1024:g} vCPU, {memory / 1024:g} GB"
    vcpu_h, gb_h = share["fargate_vcpu_hours"], share["fargate_gb_hours"]
    table = prices.fargate
    arm = vcpu_h * table.vcpu_hour.arm64 + gb_h * table.gb_hour.arm64
    x86 = vcpu_h * table.vcpu_hour.x86_64 + gb_h * table.gb_hour.x86_64
    return detail, arm, x86
