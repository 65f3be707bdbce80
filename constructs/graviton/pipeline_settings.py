"""`python -m graviton.pipeline_settings [-c key=value ...]`: can PipelineStack be synthesized? One line either way.

`make deploy-pipeline` and `make diff-pipeline` run it first: without its settings the app leaves PipelineStack
out, and the CDK CLI would only say that no stack matches. Exit 0 when the settings are there, 2 when a key is
missing, a value is not allowed, the pipeline has no account and region while an environment pins one, a key
is given only with `-c` (the pipeline synthesizes from the repository, so its first self-mutation would drop it),
or a pinned environment's availability zones are not in the committed cdk.context.json (the pipeline's synth
has no credentials to look them up).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graviton.config import AppConfig, ConfigError, load_config
from graviton.pipeline import placement_problem

PROG = "graviton.pipeline_settings"


def context_of(root: Path, overrides: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """cdk.json's context and the same with `-c key=value` overrides applied, as the CDK CLI merges them."""
    committed = json.loads((root / "cdk.json").read_text()).get("context", {})
    merged = dict(committed)
    for override in overrides:
        key, separator, value = override.partition("=")
        if not separator or not key:
            raise ConfigError(f"-c {override!r} must be key=value")
        merged[key] = value
    return committed, merged


def check(root: Path, overrides: Sequence[str] = ()) -> tuple[int, str, list[str]]:
    """(exit code, the line to print, warnings)."""
    try:
        committed, merged = context_of(root, overrides)
        config = load_config(merged, root=root)
    except (OSError, json.JSONDecodeError) as err:
        return 2, f"cdk.json: cannot be read ({err})", []
    except ConfigError as err:
        return 2, str(err), []
    missing = config.pipeline_missing
    if missing:
        keys = ", ".join(f"'{key}'" for key in missing)
        return 2, f"cdk.json: PipelineStack needs {keys}; set them in cdk.json or with -c key=value", []
    problem = placement_problem(config)
    if problem:
        return 2, problem, []
    uncommitted = [key for key in merged if merged[key] != committed.get(key)]
    if uncommitted:
        keys = ", ".join(f"'{key}'" for key in uncommitted)
        return (
            2,
            (
                f"cdk.json: {keys} set with -c only; commit to cdk.json: the pipeline synthesizes from the repository"
                " and its first self-mutation would drop them"
            ),
            [],
        )
    missing_zones = _missing_zone_lookups(root, config)
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


def _missing_zone_lookups(root: Path, config: AppConfig) -> list[str]:
    """Pinned environments whose VPC zones CDK would have to look up: `account=...:region=...` each."""
    path = root / "cdk.context.json"
    cached = json.loads(path.read_text()) if path.is_file() else {}
    pinned = {(s.account, s.region) for s in config.environments.values() if s.account and s.region}
    needed = [f"account={account}:region={region}" for account, region in sorted(pinned)]
    return [key for key in needed if f"availability-zones:{key}" not in cached]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {PROG}", description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE", help="as cdk's -c")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the folder holding cdk.json (default: .)")
    args = parser.parse_args(argv)
    code, line, warnings = check(args.root, args.context)
    for warning in warnings:
        print(warning, file=sys.stderr)
    print(line, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
