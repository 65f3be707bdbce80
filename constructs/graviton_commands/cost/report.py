"""The report: every environment stack in the assembly, its usage split over its resources, each share priced.

How usage is split: each environment's figure is split evenly over its resources of that kind (GB-s and requests
over the workload Lambda functions, vCPU-hours and GB-hours over the Fargate task definitions, node-hours over
the EKS node groups, build minutes over the CodeBuild projects). Usage assumed for a kind the stack does not have
is noted, not priced; so is an environment stack without usage in cdk.json (its usage is taken as zero). The
report holds exact decimals: rounding is the renderings' business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from graviton.guardrails.assembly import StackContent, read_assembly
from graviton.guardrails.rules import Resource
from graviton_app.config import UsageConfig
from graviton_app.naming import ENVIRONMENT_NAMES, stack_name
from graviton_commands.cli import failure
from graviton_commands.cost.errors import CostError, require_assembly
from graviton_commands.cost.formatting import quantity_text
from graviton_commands.cost.prices import PriceTable, load_prices
from graviton_commands.cost.pricing import Pricer
from graviton_commands.cost.pricing.codebuild_price import price_codebuild
from graviton_commands.cost.pricing.eks_price import price_eks
from graviton_commands.cost.pricing.fargate_price import price_fargate
from graviton_commands.cost.pricing.lambda_price import price_lambda
from graviton_commands.cost.usage import USAGE_KEYS, load_usage
from graviton_commands.cost.workloads import KIND_NAMES, KINDS, Kind, workloads

PRICERS: dict[Kind, Pricer] = {
    "lambda": price_lambda,
    "fargate": price_fargate,
    "eks": price_eks,
    "codebuild": price_codebuild,
}


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
            assumed = [f"{key} {quantity_text(amount)}" for key, amount in totals.items() if amount]
            if assumed:
                result.notes.append(
                    f"{', '.join(assumed)} assumed, but the stack has no {KIND_NAMES[kind]}: not priced"
                )
            continue
        share = {key: amount / len(resources) for key, amount in totals.items()}
        for resource in resources:
            detail, arm, x86 = PRICERS[kind](resource, share, prices)
            result.lines.append(Line(kind, _name(resource, stack), resource.logical_id, detail, share, arm, x86))
    return result


def environment_stacks(cdk_out: Path) -> tuple[list[tuple[str, StackContent]], list[str]]:
    """Each environment's stack in the assembly (top-level first, a pipeline stage's copy counted once), and notes
    on the stacks left out."""
    require_assembly(cdk_out)
    try:
        stacks = list(read_assembly(cdk_out))
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as err:
        raise CostError(f"cannot read the cloud assembly {cdk_out} ({failure(err)})") from None
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


def build_report(cdk_out: Path, config_path: Path, prices_path: Path, overrides: Sequence[str] = ()) -> Report:
    """Read the three inputs (cdk.json with `-c` `overrides`) and price every environment; CostError with one line
    when one cannot be used."""
    prices = load_prices(prices_path)
    usage = load_usage(config_path, overrides)
    stacks, notes = environment_stacks(cdk_out)
    environments = []
    for environment, stack in stacks:
        if environment not in usage:
            notes.append(f"{environment}: not in {config_path.name}'s environments, usage taken as zero")
        environments.append(price_environment(environment, stack, usage.get(environment, UsageConfig()), prices))
    return Report(environments, prices, prices_path, notes)
