"""The price table (`prices.json`): its model and its loader.

The table is read as exact decimals and validated strictly (unknown keys refused, no negative price, Graviton
families mapped to x86 ones), so a typo or a bad edit is one line and exit 2 rather than a silently wrong figure.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from graviton.guardrails.instance_types import family, is_graviton
from graviton_commands.cli import failure
from graviton_commands.cost.errors import CostError

PRICES = Path(__file__).with_name("prices.json")


class _Prices(BaseModel):
    """Base of the price table's blocks: unknown keys are refused, so a typo is not a silent zero."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class PerArchitecture(_Prices):
    arm64: Decimal = Field(ge=0)
    x86_64: Decimal = Field(ge=0)


class LambdaPrices(_Prices):
    gb_second: PerArchitecture
    per_million_requests: PerArchitecture


class FargatePrices(_Prices):
    vcpu_hour: PerArchitecture
    gb_hour: PerArchitecture


class BuildRate(_Prices):
    instance: str = Field(description="CodeBuild's price-list name, e.g. arm1.small")
    per_minute: Decimal = Field(ge=0)


class CodeBuildPrices(_Prices):
    arm64: BuildRate
    x86_64: BuildRate


class PriceTable(_Prices):
    """`prices.json`: on-demand prices of one region, with where and when they were read."""

    source: str
    date: str
    region: str
    currency: str
    notes: str = ""
    lambda_: LambdaPrices = Field(alias="lambda")
    fargate: FargatePrices
    ec2_hourly: dict[str, Decimal] = Field(description="on-demand Linux price per hour, by instance type")
    x86_equivalent: dict[str, str] = Field(description="Graviton family -> the x86 family it replaces")
    codebuild: dict[str, CodeBuildPrices] = Field(description="per build minute, by CodeBuild compute type")

    @field_validator("ec2_hourly")
    @classmethod
    def _not_negative(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for instance_type, price in value.items():
            if price < 0:
                raise ValueError(f"the price of '{instance_type}' is negative")
        return value

    @field_validator("x86_equivalent")
    @classmethod
    def _graviton_to_x86(cls, value: dict[str, str]) -> dict[str, str]:
        for graviton, x86 in value.items():
            if not is_graviton(graviton) or is_graviton(x86):
                raise ValueError(f"'{graviton}' -> '{x86}' must map a Graviton family to an x86 one (t4g -> t3)")
        return value

    def instance_pair(self, instance_type: str) -> tuple[str | None, Decimal | None, Decimal | None]:
        """`t4g.medium` -> (`t3.medium`, its arm64 price, its x86 price); None where the table has no figure."""
        size = instance_type.split(".", 1)[1] if "." in instance_type else ""
        x86_family = self.x86_equivalent.get(family(instance_type))
        x86_type = f"{x86_family}.{size}" if x86_family and size else None
        return x86_type, self.ec2_hourly.get(instance_type), self.ec2_hourly.get(x86_type or "")


def load_prices(path: Path) -> PriceTable:
    """The price table, exact (decimal) and validated; CostError with one line when it cannot be used."""
    try:
        # Decimal, not float: $0.0000133334 x 1,000,000 must be $13.3334 exactly.
        data = json.loads(path.read_text(), parse_float=Decimal, parse_int=Decimal)
    except (OSError, UnicodeDecodeError) as err:
        raise CostError(f"cannot read the price table {path} ({failure(err)})") from None
    except json.JSONDecodeError as err:
        raise CostError(f"the price table {path} is not JSON ({err.msg}, line {err.lineno})") from None
    try:
        return PriceTable.model_validate(data)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        key = ".".join(str(part) for part in first["loc"]) or "top level"
        reason = first["msg"].removeprefix("Value error, ")
        raise CostError(f"the price table {path}: '{key}': {reason}") from None
