"""The report as a chart (`CDK_OUT/cost.svg`): per environment an arm64 and an x86 bar on one scale, with the
saving beneath; the bars carry their environment, architecture and cost as attributes so tests can read them.

Written by hand, not by a plotting library: the command must start fast and the output is small and stable
(docs/cost.svg is committed and compared byte for byte).
"""

from __future__ import annotations

from decimal import Decimal
from xml.sax.saxutils import escape

from graviton_commands.cost.formatting import dollars_text, percent_text, rounded, saving_of
from graviton_commands.cost.report import Report

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
    return f"${value:,.0f}" if value == value.to_integral_value() else dollars_text(value)


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
                f'<rect class="bar {arch}" data-environment="{escape(env.environment)}" data-cost="{rounded(cost)}"'
                f' x="{x:.2f}" y="{baseline - height:.2f}" width="{bar:.2f}" height="{height:.2f}" fill="{colour}">'
                f"<title>{escape(env.environment)} {arch}: {dollars_text(cost)} a month</title></rect>"
            )
            parts.append(
                f'<text x="{x + bar / 2:.2f}" y="{baseline - height - 4:.2f}" text-anchor="middle">'
                f"{dollars_text(cost)}</text>"
            )
        saving, percent = saving_of(env.arm64, env.x86_64)
        parts.append(
            f'<text x="{centre:.2f}" y="{baseline + 18}" text-anchor="middle" font-weight="bold">'
            f"{escape(env.environment)}</text>"
        )
        parts.append(
            f'<text x="{centre:.2f}" y="{baseline + 34}" text-anchor="middle" fill="{_ARM_COLOUR}">'
            f"saves {dollars_text(saving)} ({percent_text(percent)})</text>"
        )
    parts.append(f'<line x1="{_LEFT}" y1="{baseline}" x2="{_WIDTH - _RIGHT}" y2="{baseline}" stroke="#333333"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
