"""The one error the cost report refuses with: every input problem becomes one line on stderr and exit 2.

Its own module so the loaders (`prices`, `usage`, `report`) and the command line share it without importing
each other.
"""

from pathlib import Path

from graviton_commands.cli import has_assembly


class CostError(ValueError):
    """An input the report cannot be made from; the message is one line (exit 2)."""


def require_assembly(cdk_out: Path) -> None:
    """Refuse a folder that holds no cloud assembly, before anything else is read."""
    if not has_assembly(cdk_out):
        raise CostError(f"{cdk_out} has no manifest.json; run make synth first")
