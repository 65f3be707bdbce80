"""The usage assumptions: each environment's monthly `usage` in cdk.json, and which figures each kind shares out.

cdk.json is read and validated exactly as `cdk synth` reads it (`graviton_app.context` and `graviton_app.config`),
so the report never prices figures the app itself would refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from graviton_app.config import UsageConfig
from graviton_commands.cli import Refusal
from graviton_commands.cost.errors import CostError
from graviton_commands.cost.workloads import Kind

# The cdk.json usage keys each kind of resource shares out, and how the report names their units.
USAGE_KEYS: dict[Kind, tuple[tuple[str, str], ...]] = {
    "lambda": (("lambda_gb_seconds", "GB-s"), ("lambda_requests", "requests")),
    "fargate": (("fargate_vcpu_hours", "vCPU-h"), ("fargate_gb_hours", "GB-h")),
    "eks": (("eks_node_hours", "node-h"),),
    "codebuild": (("codebuild_build_minutes", "build min"),),
}


def load_usage(config_path: Path, overrides: Sequence[str] = ()) -> dict[str, UsageConfig]:
    """Each configured environment's `usage` (with `-c` overrides), validated as `cdk synth` validates cdk.json."""
    root = config_path.resolve().parent  # the config's root holds docker/, which the services are checked against
    from graviton_commands.settings import read_settings

    try:
        config = read_settings(root, overrides, config_file=config_path).config
    except Refusal as err:
        raise CostError(str(err)) from None
    return {name: settings.usage for name, settings in config.environments.items()}
