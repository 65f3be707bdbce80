"""The commands of graviton_commands, found rather than listed: what the start-up tests, `make bench` and the
commands' property-based tests follow, so a new command is held to their rules without being named anywhere.
Standard library only (no aws-cdk-lib)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path

import graviton_commands


def runnable_commands() -> tuple[str, ...]:
    """Every module or package of graviton_commands that runs with `python -m`."""
    found = []
    for module in pkgutil.iter_modules(graviton_commands.__path__):
        path = Path(module.module_finder.path, module.name)  # type: ignore[union-attr]
        if module.ispkg:
            runnable = (path / "__main__.py").is_file()
        else:
            runnable = 'if __name__ == "__main__":' in path.with_suffix(".py").read_text()
        if runnable:
            found.append(module.name)
    return tuple(sorted(found))


def entry_point(command: str) -> Callable[..., int]:
    """The `main(argv)` that `python -m graviton_commands.<command>` runs: a package's `__main__` imports it, a
    module defines it."""
    module = importlib.import_module(f"graviton_commands.{command}")
    if hasattr(module, "__path__"):
        module = importlib.import_module(f"graviton_commands.{command}.__main__")
    return module.main
