"""The one reader of the app's context: cdk.json, cdk.context.json and `-c KEY=VALUE`, merged as the CDK CLI does.

`app.py` and every command read their settings here, so a `-c` override means the same everywhere. Standard library
only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_FILE = "cdk.json"
# CDK's cache of lookups (availability zones, ...), which the CLI merges into the context.
LOOKUPS_FILE = "cdk.context.json"
# Where the CDK CLI hands the app its merged context.
CLI_CONTEXT_VARIABLE = "CDK_CONTEXT_JSON"
# Where it puts the part that does not fit in an environment variable (128 KiB): a JSON file of the other keys.
CLI_OVERFLOW_VARIABLE = "CONTEXT_OVERFLOW_LOCATION_ENV"


class ContextError(ValueError):
    """The context cannot be read; the message is one line."""


@dataclass(frozen=True)
class Context:
    """The merged context, and what cdk.json alone holds (the pipeline synthesizes from the repository)."""

    values: Mapping[str, Any]
    committed: Mapping[str, Any]
    lookups: Mapping[str, Any] = field(default_factory=dict)

    def overridden(self) -> list[str]:
        """Keys whose value differs from cdk.json's: given with `-c` only."""
        return [
            key for key, value in self.values.items() if key not in self.lookups and value != self.committed.get(key)
        ]


def read_json(path: Path) -> Any:
    """The JSON value in `path`; ContextError with one line when it is missing, unreadable or not JSON."""
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as err:
        raise ContextError(f"cannot read {path} ({type(err).__name__}: {err})") from None
    except json.JSONDecodeError as err:
        raise ContextError(f"{path} is not JSON ({err.msg}, line {err.lineno})") from None


def parse_overrides(overrides: Sequence[str]) -> dict[str, str]:
    """`-c key=value` pairs, as the CDK CLI takes them: the value is a string, read later by the setting it sets."""
    parsed: dict[str, str] = {}
    for override in overrides:
        key, separator, value = override.partition("=")
        if not separator or not key:
            raise ContextError(f"-c {override!r} must be key=value")
        parsed[key] = value
    return parsed


def read_context(
    root: Path,
    overrides: Sequence[str] = (),
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Context:
    """The context `cdk synth` would give the app in `root` (whose cdk.json is `config_file`, by default
    `root/cdk.json`).

    Under the CDK CLI (`CDK_CONTEXT_JSON` set) that is the CLI's own merge, with the keys it moved to its overflow
    file when the context is large; otherwise cdk.json's `context`, then
    cdk.context.json, then `overrides`.
    """
    path = config_file or root / CONFIG_FILE
    document = read_json(path)
    committed = document.get("context") if isinstance(document, dict) else None
    if not isinstance(committed, dict):
        raise ContextError(f"{path} has no 'context' object; is it a cdk.json?")
    lookups_path = root / LOOKUPS_FILE
    lookups = read_json(lookups_path) if lookups_path.is_file() else {}
    if not isinstance(lookups, dict):
        raise ContextError(f"{lookups_path} must hold a JSON object")
    if CLI_CONTEXT_VARIABLE in environ:
        try:
            given = json.loads(environ[CLI_CONTEXT_VARIABLE])
        except json.JSONDecodeError as err:
            raise ContextError(f"{CLI_CONTEXT_VARIABLE}: not JSON ({err.msg})") from None
        overflow = read_json(Path(environ[CLI_OVERFLOW_VARIABLE])) if environ.get(CLI_OVERFLOW_VARIABLE) else {}
        if not isinstance(given, dict) or not isinstance(overflow, dict):
            raise ContextError(f"{CLI_CONTEXT_VARIABLE}: the CDK CLI's context must be a JSON object")
        values = {**given, **overflow, **parse_overrides(overrides)}
    else:
        values = {**committed, **lookups, **parse_overrides(overrides)}
    return Context(values=values, committed=committed, lookups=lookups)
