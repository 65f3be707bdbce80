"""The report for people: per environment a table of resources, its total and what was not priced, then the
overall total, in columns wide enough for every cell."""

from __future__ import annotations

from decimal import Decimal

from graviton_commands.cost.formatting import dollars_text, percent_text, quantity_text, saving_of
from graviton_commands.cost.report import Line, Report
from graviton_commands.cost.usage import USAGE_KEYS


def _usage_text(line: Line) -> str:
    units = dict(USAGE_KEYS[line.kind])
    return ", ".join(f"{quantity_text(amount)} {units[key]}" for key, amount in line.usage.items())


def _row(name: str, kind: str, detail: str, usage: str, arm: Decimal | None, x86: Decimal | None) -> tuple[str, ...]:
    saving, percent = saving_of(arm, x86) if arm is not None and x86 is not None else (None, None)
    return (
        name,
        kind,
        detail,
        usage,
        dollars_text(arm),
        dollars_text(x86),
        dollars_text(saving),
        percent_text(percent),
    )


def render_text(report: Report) -> str:
    """Per environment a table of resources, its total, and what was not priced; then the overall total."""
    header = ("resource", "kind", "detail", "usage", "arm64", "x86", "saving", "%")
    # Per environment: its rows (title, resources, total) and the lines on what it left out.
    blocks: list[tuple[list[tuple[str, ...]], list[str]]] = []
    for env in report.environments:
        rows: list[tuple[str, ...]] = [(f"{env.environment} ({env.stack})", "", "", "", "", "", "", "")]
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
    every_row: list[tuple[str, ...]] = [header, overall, *(row for rows, _ in blocks for row in rows)]
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
