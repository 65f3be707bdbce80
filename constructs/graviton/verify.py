"""Verify that an environment's endpoints run on Graviton: `GET <url>/arch` must answer `{"machine": "aarch64"}`.

    python3 constructs/graviton/verify.py --env dev --url api=https://... --url web=http://... [--json]
    python -m graviton.verify --env dev --url api=https://...

Standard library only: the pipeline runs it in a bare ARM CodeBuild container without installing anything.
Each check turns the targets into rows (service, expected, found, verdict); later checks (AWS API reads of
function and task architectures) add rows the same way. Exit 0 when every row is aarch64, 1 when any service
runs on another machine, 2 when something could not be checked (bad argument, unreachable after retries).
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import NoReturn

PROG = "verify"
EXPECTED_MACHINE = "aarch64"
ARCH_PATH = "/arch"
EXIT_OK, EXIT_WRONG_MACHINE, EXIT_CANNOT_CHECK = 0, 1, 2
# A freshly deployed ALB answers 502/503 until its targets pass health checks: 2, 4, 8, 16 s covers that.
DEFAULT_ATTEMPTS = 5
DEFAULT_BACKOFF_SECONDS = 2.0
DEFAULT_TIMEOUT_SECONDS = 10.0
# Statuses worth waiting for; any other error status is an answer, and retrying would not change it.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BODY_BYTES = 64 * 1024

OK, WRONG, CANNOT_CHECK = "ok", "WRONG", "cannot check"


@dataclass(frozen=True)
class Target:
    """One service endpoint to check."""

    service: str
    url: str


@dataclass(frozen=True)
class Plan:
    """What to verify, and how patiently."""

    environment: str
    targets: tuple[Target, ...]
    attempts: int = DEFAULT_ATTEMPTS
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)


@dataclass(frozen=True)
class Row:
    """One verdict: what a check expected for a service and what it found."""

    check: str
    service: str
    expected: str
    found: str
    verdict: str
    detail: str = ""


class CannotCheck(Exception):
    """The endpoint gave no machine to compare; the message is one line."""


class UsageError(Exception):
    """A bad command-line argument; the message is one line."""


Check = Callable[[Plan], list[Row]]


def fetch_machine(url: str, *, plan: Plan) -> str:
    """`GET <url>/arch` and return its `machine`, waiting out a freshly deployed endpoint; else CannotCheck."""
    arch_url = url.rstrip("/") + ARCH_PATH
    request = urllib.request.Request(arch_url, headers={"Accept": "application/json", "User-Agent": "graviton-verify"})
    last_error = ""
    for attempt in range(1, plan.attempts + 1):
        try:
            with urllib.request.urlopen(request, timeout=plan.timeout_seconds) as response:
                return _machine_of(response.read(MAX_BODY_BYTES), arch_url)
        except urllib.error.HTTPError as err:
            last_error = f"HTTP {err.code}"
            if err.code not in RETRY_STATUSES:
                raise CannotCheck(f"{arch_url} answered {last_error}") from None
        except (OSError, http.client.HTTPException) as err:  # refused, reset, DNS, TLS, timeout, bad status line
            reason = getattr(err, "reason", err)
            last_error = f"unreachable ({str(reason) or type(reason).__name__})"
        if attempt < plan.attempts:
            plan.sleep(plan.backoff_seconds * 2 ** (attempt - 1))
    raise CannotCheck(f"{arch_url}: {last_error} after {plan.attempts} attempt(s)")


def _machine_of(body: bytes, url: str) -> str:
    try:
        answer = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CannotCheck(f"{url} did not answer JSON: {body[:60]!r}") from None
    machine = answer.get("machine") if isinstance(answer, dict) else None
    if not isinstance(machine, str) or not machine:
        raise CannotCheck(f'{url} answered JSON without a "machine" string: {json.dumps(answer)[:60]}')
    return machine


def http_arch_check(plan: Plan) -> list[Row]:
    """Each service's own view of its CPU: what `platform.machine()` says inside the running container."""
    rows = []
    for target in plan.targets:
        try:
            machine = fetch_machine(target.url, plan=plan)
        except CannotCheck as err:
            rows.append(Row("GET /arch", target.service, EXPECTED_MACHINE, "-", CANNOT_CHECK, str(err)))
            continue
        verdict = OK if machine == EXPECTED_MACHINE else WRONG
        rows.append(Row("GET /arch", target.service, EXPECTED_MACHINE, machine, verdict, target.url))
    return rows


CHECKS: tuple[Check, ...] = (http_arch_check,)


def run_checks(plan: Plan, checks: Sequence[Check] = CHECKS) -> list[Row]:
    return [row for check in checks for row in check(plan)]


def exit_code(rows: Sequence[Row]) -> int:
    """Another machine is a definite failure and outranks a row that could not be checked."""
    if any(row.verdict == WRONG for row in rows):
        return EXIT_WRONG_MACHINE
    if not rows or any(row.verdict == CANNOT_CHECK for row in rows):
        return EXIT_CANNOT_CHECK
    return EXIT_OK


def render_table(environment: str, rows: Sequence[Row]) -> str:
    headers = ("service", "expected", "found", "verdict")
    cells = [(row.service, row.expected, row.found, row.verdict) for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = [f"arm64 verification: {environment}"]
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip() for cell in cells]
    return "\n".join(lines)


def summary_line(environment: str, rows: Sequence[Row]) -> str:
    """The one line a failed run ends with, naming the first problem."""
    wrong = [row for row in rows if row.verdict == WRONG]
    if wrong:
        names = ", ".join(f"{row.service} ({row.found})" for row in wrong)
        return f"{PROG}: {environment}: not on Graviton: {names}; expected {EXPECTED_MACHINE}"
    unchecked = [row for row in rows if row.verdict == CANNOT_CHECK]
    if unchecked:
        more = f" (and {len(unchecked) - 1} more)" if len(unchecked) > 1 else ""
        return f"{PROG}: {environment}: cannot check {unchecked[0].service}: {unchecked[0].detail}{more}"
    return f"{PROG}: {environment}: every service runs on {EXPECTED_MACHINE}"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse_args(argv: Sequence[str]) -> tuple[Plan, bool]:
    parser = _Parser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="the environment being verified (dev, test, prod)")
    parser.add_argument(
        "--url", action="append", default=[], metavar="SERVICE=URL", help="a service's endpoint; repeatable"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    parser.add_argument("--attempts", type=int, default=DEFAULT_ATTEMPTS, help="tries per endpoint (default 5)")
    parser.add_argument(
        "--backoff", type=float, default=DEFAULT_BACKOFF_SECONDS, help="first wait between tries, doubled each time"
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds per request")
    args = parser.parse_args(argv)
    if not args.url:
        raise UsageError("give at least one --url SERVICE=URL")
    if args.attempts < 1 or args.backoff < 0 or args.timeout <= 0:
        raise UsageError("--attempts must be at least 1, --backoff at least 0 and --timeout above 0")
    targets = tuple(_target(value) for value in args.url)
    services = [t.service for t in targets]
    repeated = sorted({s for s in services if services.count(s) > 1})
    if repeated:
        raise UsageError(f"service '{repeated[0]}' is given more than once")
    plan = Plan(args.env, targets, args.attempts, args.backoff, args.timeout)
    return plan, args.json


def _target(value: str) -> Target:
    service, separator, url = value.partition("=")
    if not separator or not service.strip():
        raise UsageError(f"--url {value!r} must be SERVICE=URL, for example api=https://abc.execute-api.aws/")
    if not url.strip():
        raise UsageError(f"--url {value!r} has no URL (is the stack output set?)")
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise UsageError(f"--url {value!r}: the URL must start with http:// or https:// and name a host")
    return Target(service.strip(), url.strip())


def main(argv: Sequence[str] | None = None, *, checks: Sequence[Check] = CHECKS) -> int:
    try:
        plan, as_json = parse_args(sys.argv[1:] if argv is None else argv)
    except UsageError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return EXIT_CANNOT_CHECK
    rows = run_checks(plan, checks)
    code = exit_code(rows)
    if as_json:
        report = {"environment": plan.environment, "exit_code": code, "rows": [asdict(row) for row in rows]}
        print(json.dumps(report, indent=2))
    else:
        print(render_table(plan.environment, rows))
    if code != EXIT_OK:
        print(summary_line(plan.environment, rows), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
