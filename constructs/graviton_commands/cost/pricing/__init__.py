"""The price models, one module per kind of resource; each is one small function over a resource and its share.

Every model takes the resource, its share of the environment's usage (cdk.json's keys, already divided over the
resources of its kind) and the price table, and returns `(detail, arm64, x86_64)`: what the report shows about
the resource and its monthly cost on each architecture, both None when it cannot be priced (the detail says why).
This module holds what the models share: that signature and reading a literal number out of a template.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from graviton.guardrails.rules import Resource
from graviton_commands.cost.prices import PriceTable

Priced = tuple[str, Decimal | None, Decimal | None]
Pricer = Callable[[Resource, dict[str, Decimal], PriceTable], Priced]


def literal_number(value: Any) -> Decimal | None:
    """A synth-time number (CloudFormation often writes them as strings); None for a token."""
    try:
        return Decimal(str(value)) if isinstance(value, int | float | str) and not isinstance(value, bool) else None
    except ArithmeticError:
        return None
