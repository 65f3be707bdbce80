"""`python -m graviton.cost [CDK_OUT] [--json]`: what Graviton saves, per environment and per resource.

Reads the environment stacks `make synth` wrote (`cdk.out`, stage assemblies included), the monthly `usage`
assumptions of each environment in cdk.json and the price table `prices.json`, and prints the monthly cost of
every priced resource on arm64 beside the same on x86, the saving, and totals per environment and overall. It
also writes a bar chart of both per environment (`CDK_OUT/cost.svg`).

How usage is split: each environment's figure is split evenly over its resources of that kind (GB-s and requests
over the workload Lambda functions, vCPU-hours and GB-hours over the Fargate task definitions, node-hours over
the EKS node groups, build minutes over the CodeBuild projects). The workload functions are the container-image
functions, which run the services' traffic that `lambda_*` describes. Lambda functions that only serve deploys (CDK's
own helpers and custom-resource handlers) and other zip functions (event handlers) are not priced: they are listed
as negligible. A node group is priced at its first instance type, the one an On-Demand node group launches first.

Exit 0 with the report, 2 with one line on stderr when an input cannot be read (no cdk.out, a bad price table,
a malformed cdk.json).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal, NoReturn
from xml.sax.saxutils import escape

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from graviton.config import ConfigError, UsageConfig, load_config
from graviton.constants import ENVIRONMENT_NAMES, stack_name
from graviton.guard.assembly import StackContent, read_assembly
from graviton.guard.instance_types import family, is_graviton
from graviton.guard.rules import Resource

PRICES = Path(__file__).with_name("prices.json")
PROG = "graviton.cost"
Kind = Literal["lambda", "fargate", "eks", "codebuild"]
KINDS: tuple[Kind, ...] = ("lambda", "fargate", "eks", "codebuild")
# The cdk.json usage keys each kind of resource shares out, and how the report names their units.
USAGE_KEYS: dict[Kind, tuple[tuple[str, str], ...]] = {
    "lambda": (("lambda_gb_seconds", "GB-s"), ("lambda_requests", "requests")),
    "fargate": (("fargate_vcpu_hours", "vCPU-h"), ("fargate_gb_hours", "GB-h")),
    "eks": (("eks_node_hours", "node-h"),),
    "codebuild": (("codebuild_build_minutes", "build min"),),
}
LAMBDA = "AWS::Lambda::Function"
STATE_MACHINE = "AWS::StepFunctions::StateMachine"
MILLION = Decimal(1_000_000)
FOUR_PLACES = Decimal("0.0001")
HUNDREDTHS = Decimal("0.01")
TENTHS = Decimal("0.1")


class CostError(ValueError):
    """An input the report cannot be made from; the message is one line (exit 2)."""


# ---------------------------------------------------------------------------------------------------------------
# The price table


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
        raise CostError(f"cannot read the price table {path} ({type(err).__name__}: {err})") from None
    except json.JSONDecodeError as err:
        raise CostError(f"the price table {path} is not JSON ({err.msg}, line {err.lineno})") from None
    try:
        return PriceTable.model_validate(data)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        key = ".".join(str(part) for part in first["loc"]) or "top level"
        reason = first["msg"].removeprefix("Value error, ")
        raise CostError(f"the price table {path}: '{key}': {reason}") from None


# ---------------------------------------------------------------------------------------------------------------
# The usage assumptions


def load_usage(config_path: Path) -> dict[str, UsageConfig]:
    """Each configured environment's `usage`, validated as `cdk synth` validates cdk.json."""
    try:
        document = json.loads(config_path.read_text())
    except (OSError, UnicodeDecodeError) as err:
        raise CostError(f"cannot read {config_path} ({type(err).__name__}: {err})") from None
    except json.JSONDecodeError as err:
        raise CostError(f"{config_path} is not JSON ({err.msg}, line {err.lineno})") from None
    context = document.get("context") if isinstance(document, dict) else None
    if not isinstance(context, dict):
        raise CostError(f"{config_path} has no 'context' object; is it a cdk.json?")
    try:
        # The config's root holds docker/, which the services' settings are checked against.
        config = load_config(context, root=config_path.resolve().parent)
    except ConfigError as err:
        raise CostError(str(err)) from None
    return {name: settings.usage for name, settings in config.environments.items()}


# ---------------------------------------------------------------------------------------------------------------
# The resources that cost


def _references(value: Any) -> Iterator[str]:
    """Logical ids a template value points at through Ref or Fn::GetAtt."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt" and isinstance(inner, list) and inner:
                yield str(inner[0])
            elif key == "Fn::GetAtt" and isinstance(inner, str):
                yield inner.split(".", 1)[0]
            else:
                yield from _references(inner)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def helper_functions(resources: Iterable[Resource]) -> set[str]:
    """Logical ids of the Lambda functions that only serve deploys, not workloads.

    Those are CDK's own functions (the guard marks them `graviton:remediated`), every function that backs a
    custom resource (its ServiceToken), and what those call: the Provider framework names the user's handlers in
    its environment and its waiter state machine.
    """
    by_id = {resource.logical_id: resource for resource in resources}
    queue = [r.logical_id for r in by_id.values() if r.type == LAMBDA and r.remediated]
    for resource in by_id.values():
        if resource.type.startswith("Custom::") or resource.type == "AWS::CloudFormation::CustomResource":
            queue += list(_references(resource.properties.get("ServiceToken")))
    seen: set[str] = set()
    while queue:
        logical_id = queue.pop()
        resource = by_id.get(logical_id)
        # Only functions and the framework's state machine are followed: roles and policies name everything.
        if logical_id in seen or resource is None or resource.type not in (LAMBDA, STATE_MACHINE):
            continue
        seen.add(logical_id)
        queue += list(_references(resource.properties))
    return {logical_id for logical_id in seen if by_id[logical_id].type == LAMBDA}


def _is_fargate(resource: Resource) -> bool:
    compatibilities = resource.properties.get("RequiresCompatibilities") or []
    return isinstance(compatibilities, list) and "FARGATE" in compatibilities


@dataclass
class Workloads:
    """A stack's resources that cost, by kind, and the functions that are listed but not priced."""

    kinds: dict[Kind, list[Resource]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    helpers: list[Resource] = field(default_factory=list)  # deploy-time: CDK's and custom-resource handlers
    other_functions: list[Resource] = field(default_factory=list)  # zip functions run by events, not by traffic


def workloads(resources: list[Resource]) -> Workloads:
    """Sort the stack's resources: priced by kind, or a function that is listed and not priced."""
    helpers = helper_functions(resources)
    found = Workloads()
    kinds = found.kinds
    for resource in resources:
        if resource.type == LAMBDA and resource.logical_id in helpers:
            found.helpers.append(resource)
        elif resource.type == LAMBDA and resource.properties.get("PackageType") == "Image":
            # The services run as container images; their traffic is what cdk.json's lambda_* figures describe.
            kinds["lambda"].append(resource)
        elif resource.type == LAMBDA:
            found.other_functions.append(resource)
        elif resource.type == "AWS::ECS::TaskDefinition" and _is_fargate(resource):
            kinds["fargate"].append(resource)
        elif resource.type == "AWS::EKS::Nodegroup":
            kinds["eks"].append(resource)
        elif resource.type == "AWS::CodeBuild::Project":
            kinds["codebuild"].append(resource)
    return found


# ---------------------------------------------------------------------------------------------------------------
# Pricing


@dataclass(frozen=True)
class Line:
    """One resource's month: its share of the usage and what that costs on each architecture."""

    kind: Kind
    name: str
    logical_id: str
    detail: str
    usage: dict[str, Decimal]
    arm64: Decimal | None
    x86_64: Decimal | None

    @property
    def priced(self) -> bool:
        return self.arm64 is not None and self.x86_64 is not None


@dataclass
class EnvironmentCost:
    """One environment stack's lines, with what was left out and why."""

    environment: str
    stack: str
    usage: UsageConfig
    lines: list[Line] = field(default_factory=list)
    helpers: list[str] = field(default_factory=list)
    other_functions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def arm64(self) -> Decimal:
        return sum((line.arm64 for line in self.lines if line.arm64 is not None and line.priced), Decimal(0))

    @property
    def x86_64(self) -> Decimal:
        return sum((line.x86_64 for line in self.lines if line.x86_64 is not None and line.priced), Decimal(0))

    @property
    def unpriced(self) -> int:
        return sum(not line.priced for line in self.lines)


def _name(resource: Resource, stack: StackContent) -> str:
    """`DevStack/ApiFunction/Function/Resource` -> `ApiFunction/Function`; the logical id without a path."""
    if not resource.path:
        return resource.logical_id
    return resource.path.removeprefix(f"{stack.name}/").removesuffix("/Resource")


def _literal_number(value: Any) -> Decimal | None:
    """A synth-time number (CloudFormation often writes them as strings); None for a token."""
    try:
        return Decimal(str(value)) if isinstance(value, int | float | str) and not isinstance(value, bool) else None
    except ArithmeticError:
        return None


def _lambda(resource: Resource, share: dict[str, Decimal], prices: PriceTable) -> tuple[str, Decimal, Decimal]:
    memory = _literal_number(resource.properties.get("MemorySize", 128))
    detail = f"{memory} MB" if memory is not None else "memory unresolved"
    gb_s, requests = share["lambda_gb_seconds"], share["lambda_requests"]
    table = prices.lambda_
    arm = gb_s * table.gb_second.arm64 + requests * table.per_million_requests.arm64 / MILLION
    x86 = gb_s * table.gb_second.x86_64 + requests * table.per_million_requests.x86_64 / MILLION
    return detail, arm, x86


def _fargate(resource: Resource, share: dict[str, Decimal], prices: PriceTable) -> tuple[str, Decimal, Decimal]:
    cpu, memory = _literal_number(resource.properties.get("Cpu")), _literal_number(resource.properties.get("Memory"))
    detail = "size unresolved"
    if cpu is not None and memory is not None:
        detail = f"{cpu / 1024:g} vCPU, {memory / 1024:g} GB"
    vcpu_h, gb_h = share["fargate_vcpu_hours"], share["fargate_gb_hours"]
    table = prices.fargate
    arm = vcpu_h * table.vcpu_hour.arm64 + gb_h * table.gb_hour.arm64
    x86 = vcpu_h * table.vcpu_hour.x86_64 + gb_h * table.gb_hour.x86_64
    return detail, arm, x86


def _eks(
    resource: Resource, share: dict[str, Decimal], prices: PriceTable
) -> tuple[str, Decimal | None, Decimal | None]:
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


def _codebuild(
    resource: Resource, share: dict[str, Decimal], prices: PriceTable
) -> tuple[str, Decimal | None, Decimal | None]:
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


_PRICERS = {"lambda": _lambda, "fargate": _fargate, "eks": _eks, "codebuild": _codebuild}
_WHAT = {
    "lambda": "workload Lambda function",
    "fargate": "Fargate task definition",
    "eks": "EKS node group",
    "codebuild": "CodeBuild project",
}


def price_environment(environment: str, stack: StackContent, usage: UsageConfig, prices: PriceTable) -> EnvironmentCost:
    """One environment: its usage split evenly over its resources of each kind, each share priced twice."""
    result = EnvironmentCost(environment, stack.name.rsplit("/", 1)[-1], usage)
    found = workloads(stack.resources)
    kinds = found.kinds
    result.helpers = [_name(helper, stack) for helper in found.helpers]
    result.other_functions = [_name(function, stack) for function in found.other_functions]
    for kind in KINDS:
        resources, keys = kinds[kind], USAGE_KEYS[kind]
        totals = {key: Decimal(str(getattr(usage, key))) for key, _ in keys}
        if not resources:
            assumed = [f"{key} {_quantity(amount)}" for key, amount in totals.items() if amount]
            if assumed:
                result.notes.append(f"{', '.join(assumed)} assumed, but the stack has no {_WHAT[kind]}: not priced")
            continue
        share = {key: amount / len(resources) for key, amount in totals.items()}
        for resource in resources:
            detail, arm, x86 = _PRICERS[kind](resource, share, prices)
            result.lines.append(Line(kind, _name(resource, stack), resource.logical_id, detail, share, arm, x86))
    return result


def environment_stacks(cdk_out: Path) -> tuple[list[tuple[str, StackContent]], list[str]]:
    """Each environment's stack in the assembly (top-level first, a pipeline stage's copy counted once), and notes
    on the stacks left out."""
    if not (cdk_out / "manifest.json").is_file():
        raise CostError(f"{cdk_out} has no manifest.json; run make synth first")
    try:
        stacks = list(read_assembly(cdk_out))
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as err:
        raise CostError(f"cannot read the cloud assembly {cdk_out} ({type(err).__name__}: {err})") from None
    by_name = {stack_name(environment): environment for environment in ENVIRONMENT_NAMES}
    found: dict[str, StackContent] = {}
    notes: list[str] = []
    # A stage's stack (`PipelineStack/Dev/DevStack`) is the same CloudFormation stack as `DevStack`.
    for stack in sorted(stacks, key=lambda s: s.name.count("/")):
        environment = by_name.get(stack.name.rsplit("/", 1)[-1])
        if environment is None:
            notes.append(f"{stack.name}: not an environment stack, not priced")
        elif environment in found:
            notes.append(f"{stack.name}: the same stack as {found[environment].name}, counted once")
        else:
            found[environment] = stack
    ordered = [(environment, found[environment]) for environment in ENVIRONMENT_NAMES if environment in found]
    if not ordered:
        expected = ", ".join(by_name)
        raise CostError(f"{cdk_out} has no environment stack ({expected}); run make synth first")
    return ordered, notes


@dataclass
class Report:
    """The whole month: every environment, the price table it used and what was left out."""

    environments: list[EnvironmentCost]
    prices: PriceTable
    price_table: Path
    notes: list[str]

    @property
    def arm64(self) -> Decimal:
        return sum((env.arm64 for env in self.environments), Decimal(0))

    @property
    def x86_64(self) -> Decimal:
        return sum((env.x86_64 for env in self.environments), Decimal(0))


def build_report(cdk_out: Path, config_path: Path, prices_path: Path) -> Report:
    """Read the three inputs and price every environment; CostError with one line when one cannot be used."""
    prices = load_prices(prices_path)
    usage = load_usage(config_path)
    stacks, notes = environment_stacks(cdk_out)
    environments = []
    for environment, stack in stacks:
        if environment not in usage:
            notes.append(f"{environment}: not in {config_path.name}'s environments, usage taken as zero")
        environments.append(price_environment(environment, stack, usage.get(environment, UsageConfig()), prices))
    return Report(environments, prices, prices_path, notes)


# ---------------------------------------------------------------------------------------------------------------
# Output


def _round(value: Decimal, places: Decimal = FOUR_PLACES) -> Decimal:
    return value.quantize(places, rounding=ROUND_HALF_UP)


def _saving(arm: Decimal, x86: Decimal) -> tuple[Decimal, Decimal | None]:
    """The saving in dollars, and in percent of the x86 cost (None when x86 costs nothing)."""
    return x86 - arm, (x86 - arm) / x86 * 100 if x86 else None


def _quantity(value: Decimal) -> str:
    """50000 -> `50,000`; a split that does not come out even keeps two decimals."""
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{_round(value, HUNDREDTHS):,}"


def _dollars(value: Decimal | None) -> str:
    return "no price" if value is None else f"${_round(value, HUNDREDTHS):,}"


def _percent(value: Decimal | None) -> str:
    return "-" if value is None else f"{_round(value, TENTHS)}%"


def _cost_json(arm: Decimal | None, x86: Decimal | None) -> dict[str, float | None]:
    if arm is None or x86 is None:
        return {"arm64": None, "x86_64": None, "saving": None, "saving_percent": None}
    saving, percent = _saving(arm, x86)
    return {
        "arm64": float(_round(arm)),
        "x86_64": float(_round(x86)),
        "saving": float(_round(saving)),
        "saving_percent": None if percent is None else float(_round(percent, TENTHS)),
    }


def report_json(report: Report) -> dict[str, Any]:
    """The report for machines: dollars per month rounded to 4 places, percent to 1; null where no price."""
    return {
        "prices": {
            "table": str(report.price_table),
            "source": report.prices.source,
            "date": report.prices.date,
            "region": report.prices.region,
            "currency": report.prices.currency,
        },
        "split": "each usage figure is split evenly over the environment's resources of that kind",
        "environments": [
            {
                "environment": env.environment,
                "stack": env.stack,
                "usage": env.usage.model_dump(),
                "resources": [
                    {
                        "kind": line.kind,
                        "name": line.name,
                        "logical_id": line.logical_id,
                        "detail": line.detail,
                        "usage": {key: float(_round(amount)) for key, amount in line.usage.items()},
                        "priced": line.priced,
                        **_cost_json(line.arm64, line.x86_64),
                    }
                    for line in env.lines
                ],
                "not_priced": {"helpers": env.helpers, "other_functions": env.other_functions},
                "notes": env.notes,
                "total": {**_cost_json(env.arm64, env.x86_64), "unpriced_resources": env.unpriced},
            }
            for env in report.environments
        ],
        "total": _cost_json(report.arm64, report.x86_64),
        "notes": report.notes,
    }


def _usage_text(line: Line) -> str:
    units = dict(USAGE_KEYS[line.kind])
    return ", ".join(f"{_quantity(amount)} {units[key]}" for key, amount in line.usage.items())


def _row(name: str, kind: str, detail: str, usage: str, arm: Decimal | None, x86: Decimal | None) -> tuple[str, ...]:
    saving, percent = _saving(arm, x86) if arm is not None and x86 is not None else (None, None)
    return (name, kind, detail, usage, _dollars(arm), _dollars(x86), _dollars(saving), _percent(percent))


def render_text(report: Report) -> str:
    """Per environment a table of resources, its total, and what was not priced; then the overall total."""
    header = ("resource", "kind", "detail", "usage", "arm64", "x86", "saving", "%")
    # Per environment: its rows (title, resources, total) and the lines on what it left out.
    blocks: list[tuple[list[tuple[str, ...]], list[str]]] = []
    for env in report.environments:
        rows = [(f"{env.environment} ({env.stack})", "", "", "", "", "", "", "")]
        rows += [
            _row(f"  {line.name}", line.kind, line.detail, _usage_text(line), line.arm64, line.x86_64)
            for line in env.lines
        ]
        rows.append(
            _row("  total", "", f"{env.unpriced} not priced" if env.unpriced else "", "", env.arm64, env.x86_64)
        )
        left_out = []
        if env.helpers:
            left_out.append(
                f"  not priced: {len(env.helpers)} helper function(s), CDK's own and custom-resource handlers that"
                " run only during deploys (negligible)"
            )
        if env.other_functions:
            left_out.append(
                f"  not priced: {', '.join(env.other_functions)}: zip function(s) run by events, not by the services'"
                " traffic (negligible)"
            )
        left_out += [f"  not priced: {note}" for note in env.notes]
        blocks.append((rows, left_out))
    overall = _row("all environments", "", "", "", report.arm64, report.x86_64)
    every_row = [header, overall, *(row for rows, _ in blocks for row in rows)]
    widths = [max(len(row[i]) for row in every_row) for i in range(len(header))]

    def fmt(row: tuple[str, ...]) -> str:
        left = "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths[:4], strict=True))
        right = "  ".join(cell.rjust(width) for cell, width in zip(row[4:], widths[4:], strict=True))
        return f"{left}  {right}".rstrip()

    prices = report.prices
    out = [
        "What Graviton saves: monthly cost on arm64 beside the same on x86",
        f"prices: {prices.region} on-demand, {prices.currency}, {prices.date}, from {report.price_table.name}"
        f" ({prices.source})",
        "usage: cdk.json's `usage` per environment, split evenly over the environment's resources of each kind",
        "",
        fmt(header),
        "-" * len(fmt(header)),
    ]
    for rows, left_out in blocks:
        out += [fmt(row) for row in rows] + left_out + [""]
    out.append(fmt(overall))
    out += [f"note: {note}" for note in report.notes]
    return "\n".join(out)


# Chart geometry, in SVG user units.
_WIDTH, _HEIGHT = 640, 360
_LEFT, _RIGHT, _TOP, _BOTTOM = 72, 24, 72, 64
_ARM_COLOUR, _X86_COLOUR = "#1b7f5f", "#9aa0a6"
# Axis tops per power of ten; each divides into four round ticks.
_AXIS_FACTORS = ("1", "1.2", "1.6", "2", "2.4", "3.2", "4", "6", "8", "10")


def _nice_top(value: Decimal) -> Decimal:
    """The axis top: the smallest round figure at or above `value` whose quarters are round too (120 for 110.8)."""
    if value <= 0:
        return Decimal(1)
    step = Decimal(10) ** value.adjusted()
    return next(step * Decimal(factor) for factor in _AXIS_FACTORS if step * Decimal(factor) >= value)


def _axis_dollars(value: Decimal) -> str:
    return f"${value:,.0f}" if value == value.to_integral_value() else _dollars(value)


def render_svg(report: Report) -> str:
    """A grouped bar chart: per environment an arm64 and an x86 bar, heights proportional to monthly cost."""
    plot_height = _HEIGHT - _TOP - _BOTTOM
    plot_width = _WIDTH - _LEFT - _RIGHT
    top = _nice_top(max([env.x86_64 for env in report.environments] + [env.arm64 for env in report.environments]))
    scale = Decimal(plot_height) / top
    baseline = _TOP + plot_height
    prices = report.prices
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" viewBox="0 0 {_WIDTH} {_HEIGHT}"'
        ' font-family="Helvetica, Arial, sans-serif" font-size="12">',
        "<title>Monthly compute cost per environment: arm64 (Graviton) vs x86</title>",
        f'<rect width="{_WIDTH}" height="{_HEIGHT}" fill="#ffffff"/>',
        f'<text x="{_LEFT}" y="24" font-size="15" font-weight="bold">'
        "Monthly compute cost: arm64 (Graviton) vs x86</text>",
        f'<text x="{_LEFT}" y="42" fill="#555555">'
        f"{escape(prices.region)} on-demand prices ({escape(prices.date)}), usage from cdk.json</text>",
        f'<rect x="{_WIDTH - _RIGHT - 150}" y="31" width="10" height="10" fill="{_ARM_COLOUR}"/>',
        f'<text x="{_WIDTH - _RIGHT - 136}" y="40">arm64</text>',
        f'<rect x="{_WIDTH - _RIGHT - 80}" y="31" width="10" height="10" fill="{_X86_COLOUR}"/>',
        f'<text x="{_WIDTH - _RIGHT - 66}" y="40">x86</text>',
    ]
    for tick in range(5):
        value = top * tick / 4
        y = baseline - float(value * scale)
        parts.append(f'<line x1="{_LEFT}" y1="{y:.2f}" x2="{_WIDTH - _RIGHT}" y2="{y:.2f}" stroke="#e3e3e3"/>')
        label = _axis_dollars(value)
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.2f}" text-anchor="end" fill="#555555">{label}</text>')
    group = plot_width / len(report.environments)
    bar = min(48.0, group / 3)
    for index, env in enumerate(report.environments):
        centre = _LEFT + group * (index + 0.5)
        for offset, arch, cost, colour in (
            (-bar, "arm64", env.arm64, _ARM_COLOUR),
            (0.0, "x86_64", env.x86_64, _X86_COLOUR),
        ):
            height = float(cost * scale)
            x = centre + offset
            parts.append(
                f'<rect class="bar {arch}" data-environment="{escape(env.environment)}" data-cost="{_round(cost)}"'
                f' x="{x:.2f}" y="{baseline - height:.2f}" width="{bar:.2f}" height="{height:.2f}" fill="{colour}">'
                f"<title>{escape(env.environment)} {arch}: {_dollars(cost)} a month</title></rect>"
            )
            parts.append(
                f'<text x="{x + bar / 2:.2f}" y="{baseline - height - 4:.2f}" text-anchor="middle">'
                f"{_dollars(cost)}</text>"
            )
        saving, percent = _saving(env.arm64, env.x86_64)
        parts.append(
            f'<text x="{centre:.2f}" y="{baseline + 18}" text-anchor="middle" font-weight="bold">'
            f"{escape(env.environment)}</text>"
        )
        parts.append(
            f'<text x="{centre:.2f}" y="{baseline + 34}" text-anchor="middle" fill="{_ARM_COLOUR}">'
            f"saves {_dollars(saving)} ({_percent(percent)})</text>"
        )
    parts.append(f'<line x1="{_LEFT}" y1="{baseline}" x2="{_WIDTH - _RIGHT}" y2="{baseline}" stroke="#333333"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


class _OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one `graviton.cost: ...` line and exit 2."""

    def error(self, message: str) -> NoReturn:
        usage = " ".join(self.format_usage().split()).removeprefix("usage: ")
        self.exit(2, f"{PROG}: {message}; usage: {usage}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _OneLineParser(prog="python -m graviton.cost", description=__doc__.splitlines()[0])
    parser.add_argument("cdk_out", nargs="?", type=Path, default=Path("cdk.out"), help="the cloud assembly (cdk.out)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--config", type=Path, default=Path("cdk.json"), help="the cdk.json with the usage assumptions")
    parser.add_argument("--prices", type=Path, default=PRICES, help="the price table (default: graviton/prices.json)")
    parser.add_argument("--svg", type=Path, help="where the chart goes (default: CDK_OUT/cost.svg)")
    args = parser.parse_args(argv)
    svg_path: Path = args.svg or args.cdk_out / "cost.svg"
    try:
        report = build_report(args.cdk_out, args.config, args.prices)
        try:
            svg_path.write_text(render_svg(report))
        except OSError as err:
            raise CostError(f"cannot write the chart {svg_path} ({type(err).__name__}: {err})") from None
    except CostError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report_json(report), indent=2))
    else:
        print(render_text(report))
        print(f"chart: {svg_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
