"""A workload Lambda function's month: its GB-seconds and requests at each architecture's price.

The memory size is only shown (the GB-seconds already carry it); requests cost the same on both architectures.
"""

from __future__ import annotations

from decimal import Decimal

from graviton.guardrails.rules import Resource
from graviton_commands.cost.prices import PriceTable
from graviton_commands.cost.pricing import literal_number

MILLION = Decimal(1_000_000)


def price_lambda(resource: Resource, share: dict[str, Decimal], prices: PriceTable) -> tuple[str, Decimal, Decimal]:
    memory = literal_number(resource.properties.get("MemorySize", 128))
    detail = f"{memory} MB" if memory is not None else "memory unresolved"
    gb_s, requests = share["lambda_gb_seconds"], share["lambda_requests"]
    table = prices.lambda_
    arm = gb_s * table.gb_second.arm64 + requests * table.per_million_requests.arm64 / MILLION
    x86 = gb_s * table.gb_second.x86_64 + requests * table.per_million_requests.x86_64 / MILLION
    return detail, arm, x86
