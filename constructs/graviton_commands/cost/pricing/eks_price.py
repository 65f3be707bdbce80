"""An EKS node group's month: its node-hours at its first instance type's price and at its x86 equivalent's.

A node group is priced at its first instance type, the one an On-Demand node group launches first. Spot capacity,
unresolved instance types and a type (or x86 equivalent) missing from the price table have no price, never a guess.
"""

from __future__ import annotations

from decimal import Decimal

from graviton.guardrails.instance_types import family
from graviton.guardrails.rules import Resource
from graviton_commands.cost.prices import PriceTable
from graviton_commands.cost.pricing import Priced


def price_eks(resource: Resource, share: dict[str, Decimal], prices: PriceTable) -> Priced:
    instance_types = resource.properties.get("InstanceTypes")
    if not isinstance(instance_types, list) or not instance_types or not isinstance(instance_types[0], str):
        return "instance types unresolved: no price", None, None
    if resource.properties.get("CapacityType", "ON_DEMAND") != "ON_DEMAND":
        return "Spot capacity: no price", None, None
    # On-Demand node groups launch the first listed type first (EKS's `prioritized` allocation strategy).
    arm_type = instance_types[0]
    x86_type, arm_hourly, x86_hourly = prices.instance_pair(arm_type)
    if arm_hourly is None or x86_hourly is None:
        missing = arm_type if arm_hourly is None else x86_type or f"an x86 equivalent of {family(arm_type)}"
        return f"{arm_type}: no price for {missing} in the price table", None, None
    hours = share["eks_node_hours"]
    return f"{arm_type} vs {x86_type}", hours * arm_hourly, hours * x86_hourly
