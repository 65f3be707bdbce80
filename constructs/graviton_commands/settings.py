"""The one way a command reads the app's settings: cdk.json, cdk.context.json and `-c`, merged by the one context
reader and validated as `cdk synth` validates them; a bad value is a Refusal with the settings' own line.

pydantic loads only when a command reads settings, so `--help` and argument refusals stay fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from graviton_commands.cli import Refusal

if TYPE_CHECKING:
    from graviton_app.config import AppConfig
    from graviton_app.context import Context


class Settings(NamedTuple):
    context: Context  # where each value came from (cdk.json, cdk.context.json or -c)
    config: AppConfig


def read_settings(root: Path, overrides: Sequence[str] = (), *, config_file: Path | None = None) -> Settings:
    """The settings of the app in `root` (whose cdk.json is `config_file`, by default `root/cdk.json`)."""
    from graviton_app.config import ConfigError, load_config
    from graviton_app.context import ContextError, read_context

    try:
        context = read_context(root, overrides, config_file=config_file)
        return Settings(context, load_config(context.values, root=root, origin=context.origin))
    except (ConfigError, ContextError) as err:
        raise Refusal(str(err)) from None


def configured(config: AppConfig, *, environment: str | None = None, service: str | None = None) -> tuple[Any, Any]:
    """(the environment's settings or None, the named service or else the first), refused in the settings' own
    line when either is not configured."""
    from graviton_app.config import ConfigError

    try:
        settings = config.environment(environment) if environment is not None else None
        return settings, config.service(service) if service else config.services[0]
    except ConfigError as err:
        raise Refusal(str(err)) from None
