"""What verify prints: the table on stdout (or the rows as JSON with `--json`), and the one summary line a failed
run ends with on stderr.

The table has one block per check, each headed by what its rows are about, then why each failing row failed; the
summary names what is not arm64 first, since that outranks what could not be checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from graviton_commands.verify.endpoints import CHECK_ARCH
from graviton_commands.verify.model import CANNOT_CHECK, EXIT_OK, OK, PROG, WRONG, Row

# What each check's rows are about; the table's first column is named after it.
RESOURCE_HEADERS = {CHECK_ARCH: "service"}


def render_table(title: str, rows: Sequence[Row]) -> str:
    """One block per check (its own header, aligned with the others), then why each failing row failed."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.check, []).append(row)
    headers = {check: (RESOURCE_HEADERS.get(check, check), "expected", "found", "verdict") for check in groups}
    cells = [(row.resource, row.expected, row.found, row.verdict) for row in rows]
    lines = [title]
    if not rows:
        return "\n".join([*lines, "nothing to check"])
    widths = [max(len(cell[i]) for cell in [*headers.values(), *cells]) for i in range(4)]

    def line(cell: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip()

    for number, (check, group) in enumerate(groups.items()):
        if number:
            lines.append("")
        lines.append(line(headers[check]))
        lines += [line((row.resource, row.expected, row.found, row.verdict)) for row in group]
    problems = [row for row in rows if row.verdict != OK and row.detail]
    if problems:
        lines.append("")
        lines += [f"{row.verdict}: {_name(row)}: {row.detail}" for row in problems]
    return "\n".join(lines)


def render_json(report: Mapping[str, Any], code: int, rows: Sequence[Row]) -> str:
    """`report` (environment, aws, and with AWS the stack, account and region), `ok` (exit 0), the exit code and
    every row."""
    body = {**report, "ok": code == EXIT_OK, "exit_code": code, "rows": [asdict(row) for row in rows]}
    return json.dumps(body, indent=2)


def render_json_refusal(report: Mapping[str, Any], code: int, line: str) -> str:
    """A run refused before any row (bad argument or setting, no credentials, ...): the report's shape with no
    rows, `ok` false and `refused`, the one line it printed on stderr."""
    return json.dumps({**report, "ok": False, "refused": line, "exit_code": code, "rows": []}, indent=2)


def _name(row: Row) -> str:
    """`web/ecs` for a service's endpoint, `Lambda function DevStack-Api...` for anything else."""
    return row.resource if row.check == CHECK_ARCH else f"{row.check} {row.resource}"


def summary_line(environment: str, rows: Sequence[Row]) -> str:
    """The one line a failed run ends with, naming what is not arm64 (or the first thing not checked)."""
    wrong = [row for row in rows if row.verdict == WRONG]
    if wrong:
        names = ", ".join(f"{_name(row)} ({row.found})" for row in wrong[:5])
        more = f" and {len(wrong) - 5} more" if len(wrong) > 5 else ""
        expected = {row.expected for row in wrong}
        tail = f"; expected {expected.pop()}" if len(expected) == 1 else ""
        return f"{PROG}: {environment}: not on Graviton: {names}{more}{tail}"
    unchecked = [row for row in rows if row.verdict == CANNOT_CHECK]
    if unchecked:
        more = f" (and {len(unchecked) - 1} more)" if len(unchecked) > 1 else ""
        return f"{PROG}: {environment}: cannot check {_name(unchecked[0])}: {unchecked[0].detail}{more}"
    if not rows:
        return f"{PROG}: {environment}: nothing to check"
    return f"{PROG}: {environment}: every resource runs on arm64"
