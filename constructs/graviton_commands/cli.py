"""What every command shares on its command line: one-line refusals with exit 2, `-c` and `--root`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, NoReturn

from graviton_app.messages import cut

EXIT_REFUSED = 2


def failure(err: Exception) -> str:
    """Why something could not be read or written, on one line and in its own words: the system's for a file
    (`No such file or directory`), the parser's for JSON, else the message alone, never the exception's class."""
    if isinstance(err, json.JSONDecodeError):
        return f"{err.msg} at line {err.lineno}"
    if isinstance(err, OSError):
        return err.strerror or "cannot be used"
    text = " ".join(str(err).split())
    return cut(text) if text else "not in the expected form"


def has_assembly(cdk_out: Path) -> bool:
    """Whether `cdk_out` holds a cloud assembly (its manifest.json); False for a path the file system cannot even
    look up (a name too long)."""
    try:
        return (cdk_out / "manifest.json").is_file()
    except OSError:
        return False


class Refusal(Exception):
    """What stops a command before it acts: one line naming the bad value and what is allowed (exit 2)."""


class CommandParser(argparse.ArgumentParser):
    """argparse whose usage errors are one `<prefix>: <message>; usage: ...` line on stderr and exit 2.

    :param prefix: what every line of the command starts with (default: `prog`).
    :param show_usage: end a usage error with the usage line (default: True).
    """

    def __init__(self, *args: Any, prefix: str | None = None, show_usage: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prefix = prefix or self.prog
        self.show_usage = show_usage

    def error(self, message: str) -> NoReturn:
        usage = " ".join(self.format_usage().split()).removeprefix("usage: ")
        self.exit(EXIT_REFUSED, f"{self.prefix}: {message}" + (f"; usage: {usage}" if self.show_usage else "") + "\n")

    def add_context_arguments(self) -> None:
        """`-c KEY=VALUE` (repeatable, as `cdk synth -c`) and `--root` (the folder holding cdk.json)."""
        self.add_argument(
            "-c", "--context", action="append", default=[], metavar="KEY=VALUE", help="override a cdk.json setting"
        )
        self.add_argument("--root", type=Path, default=Path.cwd(), help="the folder holding cdk.json (default: .)")
