"""verify's command line: the arguments (`parse_args`), then the run (`main`), for `python -m graviton_commands.verify`.

What it checks, its flags and its exit codes are in the package's docstring (`graviton_commands/verify/__init__.py`).
A bad argument is one line on stderr and exit 2, before anything is asked of AWS or an endpoint.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

import graviton_commands.verify as package
from graviton_app.naming import stack_name
from graviton_commands.cli import CommandParser
from graviton_commands.verify.checks import CHECKS, aws_checks, run_checks
from graviton_commands.verify.endpoints import http_arch_check, is_http_url, output_targets
from graviton_commands.verify.model import (
    DEFAULT_ATTEMPTS,
    DEFAULT_BACKOFF_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    EXIT_CANNOT_CHECK,
    EXIT_OK,
    PROG,
    Check,
    Fatal,
    Plan,
    Target,
    UsageError,
    exit_code,
)
from graviton_commands.verify.render import render_json, render_json_refusal, render_table, summary_line
from graviton_commands.verify.stack import connect


@dataclass(frozen=True)
class Options:
    """The parsed command line."""

    plan: Plan
    as_json: bool
    aws: bool
    deep: bool
    stack: str
    region: str | None
    root: Path
    overrides: Sequence[str]


class _Parser(CommandParser):
    """argparse's own errors (a missing --env, an unknown flag) as UsageError: `main` refuses them like the others,
    in JSON too with --json."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse_args(argv: Sequence[str]) -> Options:
    parser = _Parser(prog=PROG, description=package.__doc__.splitlines()[0], show_usage=False)
    parser.add_argument("--env", required=True, help="the environment being verified (dev, test, prod)")
    parser.add_argument(
        "--url", action="append", default=[], metavar="SERVICE=URL", help="a service's endpoint; repeatable"
    )
    parser.add_argument("--no-aws", action="store_true", help="only GET /arch on the --url endpoints, no credentials")
    parser.add_argument("--stack", help="the stack to read (default: <Env>Stack)")
    parser.add_argument("--region", help="default: cdk.json's region for the environment, else AWS_REGION/profile")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    parser.add_argument(
        "--deep", action="store_true", help="also download each image's layers and refuse ELF files not for aarch64"
    )
    parser.add_argument("--attempts", type=int, default=DEFAULT_ATTEMPTS, help="tries per endpoint (default 5)")
    parser.add_argument(
        "--backoff", type=float, default=DEFAULT_BACKOFF_SECONDS, help="first wait between tries, doubled each time"
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="seconds per request")
    parser.add_context_arguments()
    args = parser.parse_args(argv)
    if args.no_aws and not args.url:
        raise UsageError("give at least one --url SERVICE=URL: --no-aws checks only the endpoints you name")
    if args.no_aws and (args.stack or args.region):
        raise UsageError("--stack and --region are for the AWS checks; drop them or --no-aws")
    if args.no_aws and args.deep:
        raise UsageError("--deep scans the images in ECR, an AWS check; drop it or --no-aws")
    if args.attempts < 1 or args.backoff < 0 or args.timeout <= 0:
        raise UsageError("--attempts must be at least 1, --backoff at least 0 and --timeout above 0")
    targets = tuple(_target(value) for value in args.url)
    services = [t.service for t in targets]
    repeated = sorted({s for s in services if services.count(s) > 1})
    if repeated:
        raise UsageError(f"service '{repeated[0]}' is given more than once")
    plan = Plan(args.env, targets, args.attempts, args.backoff, args.timeout)
    return Options(
        plan,
        args.json,
        not args.no_aws,
        args.deep,
        args.stack or stack_name(args.env),
        args.region,
        args.root,
        args.context,
    )


def _target(value: str) -> Target:
    service, separator, url = value.partition("=")
    if not separator or not service.strip():
        raise UsageError(f"--url {value!r} must be SERVICE=URL, for example api=https://abc.execute-api.aws/")
    if not url.strip():
        raise UsageError(f"--url {value!r} has no URL (is the stack output set?)")
    if not is_http_url(url.strip()):
        raise UsageError(f"--url {value!r}: the URL must start with http:// or https:// and name a host")
    return Target(service.strip(), url.strip())


def _refuse(line: str, report: dict[str, Any], *, as_json: bool) -> int:
    """The one line on stderr; with --json also the report, refused, on stdout, so machines always get JSON."""
    if as_json:
        print(render_json_refusal(report, EXIT_CANNOT_CHECK, line))
    print(line, file=sys.stderr)
    return EXIT_CANNOT_CHECK


def _stderr_progress(environment: str) -> Callable[[str], None]:
    def progress(line: str) -> None:
        print(f"{PROG}: {environment}: {line}", file=sys.stderr, flush=True)

    return progress


def main(argv: Sequence[str] | None = None, *, checks: Sequence[Check] = CHECKS) -> int:
    """`checks` are what `--no-aws` runs (tests add their own)."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        options = parse_args(arguments)
    except UsageError as err:
        # The arguments did not parse: `--json` anywhere in them still asks for JSON.
        return _refuse(f"{PROG}: {err}", {"environment": None, "aws": None}, as_json="--json" in arguments)
    environment = options.plan.environment
    report: dict[str, Any] = {"environment": environment, "aws": options.aws}
    try:
        if options.aws:
            progress = _stderr_progress(environment)
            aws = connect(
                environment,
                stack=options.stack,
                region=options.region,
                root=options.root,
                overrides=options.overrides,
                progress=progress,
            )
            targets, rows = output_targets(aws.outputs, aws.endpoints, options.plan.targets)
            plan = replace(options.plan, targets=targets, progress=progress)
            aws.timeout_seconds, aws.deep = plan.timeout_seconds, options.deep
            rows = run_checks(plan, [*aws_checks(aws), http_arch_check]) + rows
            title = f"arm64 verification: {environment} (stack {aws.stack}, account {aws.account}, {aws.region})"
            report.update(stack=aws.stack, account=aws.account, region=aws.region)
        else:
            rows = run_checks(options.plan, checks)
            title = f"arm64 verification: {environment}"
    except Fatal as err:
        return _refuse(f"{PROG}: {environment}: {err}", report, as_json=options.as_json)
    except KeyboardInterrupt:
        print(f"{PROG}: {environment}: interrupted", file=sys.stderr)
        return 130
    code = exit_code(rows)
    if options.as_json:
        print(render_json(report, code, rows))
    else:
        print(render_table(title, rows))
    if code != EXIT_OK:
        print(summary_line(environment, rows), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
