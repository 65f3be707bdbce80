"""The one reader of the app's context: cdk.json, cdk.context.json and `-c KEY=VALUE`, merged as the CDK CLI does.

`app.py` and every command read their settings here, so a `-c` override means the same everywhere. Standard library
only.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graviton_app.messages import name, shown

CONFIG_FILE = "cdk.json"
# CDK's cache of lookups (availability zones, ...), which the CLI merges into the context.
LOOKUPS_FILE = "cdk.context.json"
# Where the CDK CLI hands the app its merged context.
CLI_CONTEXT_VARIABLE = "CDK_CONTEXT_JSON"
# Where it puts the part that does not fit in an environment variable (128 KiB): a JSON file of the other keys.
CLI_OVERFLOW_VARIABLE = "CONTEXT_OVERFLOW_LOCATION_ENV"
# The app's own keys are plain lower-case; CDK's own carry '@', ':' or '/'.
OWN_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
# One setting inside one of the app's own keys: `environments.dev.region`.
DOTTED_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_-]+)+$")


class ContextError(ValueError):
    """The context cannot be read; the message is one line."""


@dataclass(frozen=True)
class Context:
    """The merged context, and what cdk.json alone holds (the pipeline synthesizes from the repository)."""

    values: Mapping[str, Any]
    committed: Mapping[str, Any]
    lookups: Mapping[str, Any] = field(default_factory=dict)
    # Keys given with `-c` whole (`environments`), and the dotted ones (`environments.dev.region`), as given.
    whole_overrides: tuple[str, ...] = ()
    dotted_overrides: tuple[str, ...] = ()

    def overridden(self) -> list[str]:
        """Keys whose value differs from cdk.json's: given with `-c` only."""
        return [
            key for key, value in self.values.items() if key not in self.lookups and value != self.committed.get(key)
        ]

    def origin(self, loc: Sequence[str | int]) -> str:
        """Where the value at `loc` (a settings error's location; an index picks an item of the merged values)
        came from: `-c <key>` when an override set it or the block holding it, else cdk.context.json or cdk.json."""
        path = self._named(loc)
        if not path:
            given = [*self.whole_overrides, *self.dotted_overrides]
            return f"{CONFIG_FILE} with -c {', '.join(map(name, given))}" if given else CONFIG_FILE
        dotted = ".".join(path)
        for key in self.dotted_overrides:  # the setting itself, a block holding it, or a setting of the block
            if dotted == key or dotted.startswith(f"{key}.") or key.startswith(f"{dotted}."):
                return f"-c {name(key)}"
        if path[0] in self.whole_overrides:
            return f"-c {name(path[0])}"
        if path[0] in self.lookups and self.values.get(path[0]) == self.lookups[path[0]]:
            return LOOKUPS_FILE
        return CONFIG_FILE

    def _named(self, loc: Sequence[str | int]) -> list[str]:
        """`('services', 1, 'targets')` -> `['services', 'web', 'targets']`: a listed block by its name."""
        path: list[str] = []
        node: Any = self.values
        for part in loc:
            if part == "[key]":
                continue
            if isinstance(part, int) and isinstance(node, list) and part < len(node):
                node = node[part]
                name = node.get("name") if isinstance(node, dict) else None
                path.append(str(name) if name is not None else str(part))
            else:
                node = node.get(part) if isinstance(node, dict) else None
                path.append(str(part))
        return path


def read_json(path: Path) -> Any:
    """The JSON value in `path`; ContextError with one line when it is missing, unreadable or not JSON."""
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else type(err).__name__
        raise ContextError(f"cannot read {path} ({reason})") from None
    except json.JSONDecodeError as err:
        raise ContextError(f"{path} is not JSON ({err.msg}, line {err.lineno})") from None


def _warn(line: str) -> None:
    print(line, file=sys.stderr)


def parse_overrides(overrides: Sequence[str]) -> dict[str, str]:
    """`-c key=value` pairs, as the CDK CLI takes them: the value is a string, read later by the setting it sets."""
    parsed: dict[str, str] = {}
    for override in overrides:
        key, separator, value = override.partition("=")
        if not separator or not key:
            raise ContextError(f"-c '{name(override)}' must be key=value")
        parsed[key] = value
    return parsed


def read_context(
    root: Path,
    overrides: Sequence[str] = (),
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    warn: Callable[[str], None] = _warn,
) -> Context:
    """The context `cdk synth` would give the app in `root` (whose cdk.json is `config_file`, by default
    `root/cdk.json`).

    Under the CDK CLI (`CDK_CONTEXT_JSON` set) that is the CLI's own merge, with the keys it moved to its overflow
    file when the context is large; otherwise cdk.json's `context`, then
    cdk.context.json, then `overrides`. Then dotted keys set one setting each (ContextError in one line for a
    path the settings do not have), and `warn` gets one line for each override that drops environments or services
    cdk.json has (default: stderr).
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
    _read_whole_values(values, committed)
    dotted = tuple(key for key in values if DOTTED_KEY.match(key))
    whole = tuple(
        key
        for key, value in values.items()
        if OWN_KEY.match(key) and value != committed.get(key) and (key not in lookups or value != lookups[key])
    )
    for key in dotted:
        _set_one(values, key, values.pop(key))
    for line in _dropped(values, committed):
        warn(line)
    return Context(values=values, committed=committed, lookups=lookups, whole_overrides=whole, dotted_overrides=dotted)


def _read_whole_values(values: dict[str, Any], committed: Mapping[str, Any]) -> None:
    """A whole object or list given with `-c` arrives as JSON text: read it, so a dotted key can change it and the
    names it drops can be told (text that is not JSON is left for the settings to refuse)."""
    for key, value in values.items():
        if isinstance(value, str) and isinstance(committed.get(key), dict | list):
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                continue
            if isinstance(parsed, type(committed[key])):
                values[key] = parsed


def _set_one(values: dict[str, Any], key: str, given: Any) -> None:
    """Set the one setting a dotted key names, copying what it changes (cdk.json's value stays as committed)."""
    from graviton_app.config import ConfigError, setting_at  # pydantic: only for a dotted key

    parts = key.split(".")

    def refuse(reason: str) -> ContextError:
        return ContextError(f"-c {name(key)}={name(given)}: {reason}")

    try:
        leaf = setting_at(parts)
    except ConfigError as err:
        raise refuse(str(err)) from None
    holder: Any = values  # the object or list that holds the next part, at `slot`
    slot: str | int = parts[0]
    for depth, part in enumerate(parts[1:], start=1):
        present = slot < len(holder) if isinstance(slot, int) else slot in holder
        container = copy.copy(holder[slot]) if present and holder[slot] is not None else {}
        holder[slot] = container
        where = ".".join(parts[:depth])
        if isinstance(container, list):
            names = [item.get("name") for item in container if isinstance(item, dict)]
            if part not in names:
                named = ", ".join(name(n) for n in names) or "none"
                raise refuse(f"{name(where)} has no item named '{name(part)}'; named: {named}")
            holder, slot = container, names.index(part)
        elif isinstance(container, dict):
            if part not in container and setting_at(parts[:depth]).kind == "named":
                has = ", ".join(name(k) for k in container) or "none"
                raise refuse(f"{name(where)} has no '{name(part)}'; it has: {has}")
            holder, slot = container, part
        else:
            raise refuse(f"'{name(where)}' = {shown(container)} holds no settings; give {name(where)} whole")
    holder[slot] = leaf.parse(given)


def _dropped(values: Mapping[str, Any], committed: Mapping[str, Any]) -> list[str]:
    """A warning line for each key whose override leaves out environments or services cdk.json has."""
    lines = []
    for key, value in values.items():
        kept, had = _names(value), _names(committed.get(key))
        if had is None or kept is None or value == committed.get(key):
            continue
        dropped = [name for name in had if name not in kept]
        if dropped:
            example = f"{key}.{name(kept[0] if kept else had[0])}.<key>=VALUE"
            lines.append(
                f"warning: -c {key} drops {', '.join(map(name, dropped))} from {CONFIG_FILE}; use -c {example} to"
                " change one setting"
            )
    return lines


def _names(value: Any) -> list[str] | None:
    """The names of a block of named blocks: an object's keys (environments), or its items' `name`s (services)."""
    if isinstance(value, dict) and value and all(isinstance(item, dict) for item in value.values()):
        return list(value)
    if isinstance(value, list) and value and all(isinstance(item, dict) and "name" in item for item in value):
        return [str(item["name"]) for item in value]
    return None
