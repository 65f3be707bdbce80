"""`python -m graviton.pipeline_settings [-c key=value ...]`: can PipelineStack be synthesized? One line either way.

`make deploy-pipeline` and `make diff-pipeline` run it first: without its settings the app leaves PipelineStack
out, and the CDK CLI would only say that no stack matches. Exit 0 when the settings are there, 2 when a key is
missing, a value is not allowed or the pipeline has no account and region while an environment pins one.
A key given only with `-c` gets a warning: the pipeline synthesizes from the repository, so a setting that is
not committed to cdk.json is gone after its first self-mutation.
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
PIPELINE_KEYS = tuple(key for key in AppConfig.model_fields if key.startswith("pipeline_"))


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
    uncommitted = [key for key in PIPELINE_KEYS if key in merged and merged[key] != committed.get(key)]
    warnings = [
        f"{PROG}: warning: '{key}' is set with -c only; commit it to cdk.json, or the pipeline's own synth"
        " (which reads the repository's cdk.json) will not see it"
        for key in uncommitted
    ]
    line = f"PipelineStack: {config.pipeline_repository}@{config.pipeline_branch} via {config.pipeline_connection_arn}"
    return 0, line, warnings


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
