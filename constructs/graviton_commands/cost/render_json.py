"""The report for machines (`--json`): dollars per month rounded to 4 places, percent to 1; null where no price.

The keys are a contract with whatever reads them (the tests, CI), so the shape changes only on purpose.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from graviton_commands.cost.formatting import TENTHS, rounded, saving_of
from graviton_commands.cost.report import Report


def _cost_json(arm: Decimal | None, x86: Decimal | None) -> dict[str, float | None]:
    if arm is None or x86 is None:
        return {"arm64": None, "x86_64": None, "saving": None, "saving_percent": None}
    saving, percent = saving_of(arm, x86)
    return {
        "arm64": float(rounded(arm)),
        "x86_64": float(rounded(x86)),
        "saving": float(rounded(saving)),
        "saving_percent": None if percent is None else float(rounded(percent, TENTHS)),
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
                        "usage": {key: float(rounded(amount)) for key, amount in line.usage.items()},
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


def render_json(report: Report) -> str:
    """`report_json` as the command prints it: indented by two."""
    return json.dumps(report_json(report), indent=2)
