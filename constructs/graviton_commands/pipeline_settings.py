"""`make deploy-pipeline` checks first: can PipelineStack be synthesized from these settings? One line either way.

`make deploy-pipeline` and `make diff-pipeline` run it first: without its settings the app leaves PipelineStack
out, and the CDK CLI would only say that no stack matches. Exit 0 when the settings are there, 2 when a key is
missing, a value is not allowed, the pipeline has no account and region while an environment pins one, a key
is given only with `-c` (the pipeline synthesizes from the repository, so its first self-mutation would drop it),
or a pinned environment's availability zones are not in the committed cdk.context.json (the pipeline's synth
has no credentials to look them up).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graviton_commands.cli import CommandParser, Refusal

if TYPE_CHECKING:
    from graviton_app.config import AppConfig

PROG = "python -m graviton_commands.pipeline_settings"
# The one place the pipeline's settings can come from, said the same way whether they are missing or given with -c.
COMMIT_THEM = (
    "commit them to cdk.json: the pipeline synthesizes from the repository, and its first self-mutation would drop"
    " a setting given with -c"
)


def check(root: Path, overrides: Sequence[str] = ()) -> tuple[int, str, list[str]]:
    """(exit code, the line to print, warnings)."""
    from graviton_app.placement import placement_problem
    from graviton_commands.settings import read_settings

    try:
        context, config = read_settings(root, overrides)
    except Refusal as err:
        return 2, str(err), []
    missing = config.pipeline_missing
    if missing:
        keys = ", ".join(f"'{key}'" for key in missing)
        return 2, f"cdk.json: PipelineStack needs {keys}; {COMMIT_THEM}", []
    problem = placement_problem(config)
    if problem:
        return 2, problem, []
    uncommitted = context.overridden()
    if uncommitted:
        keys = ", ".join(f"'{key}'" for key in uncommitted)
        return 2, f"cdk.json: {keys} set with -c only; {COMMIT_THEM}", []
    missing_zones = _missing_zone_lookups(context.lookups, config)
    if missing_zones:
        return (
            2,
            (
                f"cdk.context.json: no availability zones for {missing_zones[0]}; run make synth once with credentials"
                " for that account and commit cdk.context.json (the pipeline's synth cannot look them up)"
            ),
            [],
        )
    line = f"PipelineStack: {config.pipeline_repository}@{config.pipeline_branch} via {config.pipeline_connection_arn}"
    return 0, line, []


def _missing_zone_lookups(cached: Mapping[str, Any], config: AppConfig) -> list[str]:
    """Pinned environments whose VPC zones CDK would have to look up: `account=...:region=...` each."""
    pinned = {(s.account, s.region) for s in config.environments.values() if s.account and s.region}
    needed = [f"account={account}:region={region}" for account, region in sorted(pinned)]
    return [key for key in needed if f"availability-zones:{key}" not in cached]


def main(argv: Sequence[str] | None = None) -> int:
    parser = CommandParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_context_arguments()
    args = parser.parse_args(argv)
    code, line, warnings = check(args.root, args.context)
    for warning in warnings:
        print(warning, file=sys.stderr)
    print(line, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
