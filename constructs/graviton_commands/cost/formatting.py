"""How the report writes its figures: rounding half up, the saving, and dollars, percents and quantities as text.

Shared by the report's notes and the three renderings (text, SVG, JSON), so a figure reads the same everywhere.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FOUR_PLACES = Decimal("0.0001")
HUNDREDTHS = Decimal("0.01")
TENTHS = Decimal("0.1")


def rounded(value: Decimal, places: Decimal = FOUR_PLACES) -> Decimal:
    return value.quantize(places, rounding=ROUND_HALF_UP)


def saving_of(arm: Decimal, x86: Decimal) -> tuple[Decimal, Decimal | None]:
    """The saving in dollars, and in percent of the x86 cost (None when x86 costs nothing)."""
    return x86 - arm, (x86 - arm) / x86 * 100 if x86 else None


def quantity_text(value: Decimal) -> str:
    """50000 -> `50,000`; a split that does not come out even keeps two decimals."""
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{rounded(value, HUNDREDTHS):,}"


def dollars_text(value: Decimal | None) -> str:
    return "no price" if value is None else f"${rounded(value, HUNDREDTHS):,}"


def percent_text(value: Decimal | None) -> str:
    return "-" if value is None else f"{rounded(value, TENTHS)}%"
