"""What RegistryGatekeeper and its Lambda handler agree on, in one module.

This file ships inside the handler's Lambda asset (as a top-level module), so it imports only the standard library.
"""

from __future__ import annotations

from typing import Literal

# What the gatekeeper does with a pushed image that is not a single linux/arm64 image.
GatekeeperAction = Literal["quarantine", "delete"]
ACTIONS: tuple[GatekeeperAction, ...] = ("quarantine", "delete")
DEFAULT_ACTION: GatekeeperAction = "quarantine"

# The function's environment, set by the construct.
ENV_ACTION = "GATEKEEPER_ACTION"
ENV_TOPIC_ARN = "GATEKEEPER_TOPIC_ARN"

# The tag a quarantined image keeps. With the full digest it can never collide with another image's tag, which
# immutable tags would refuse, and the handler recognises the push event of its own re-tag exactly.
QUARANTINE_PREFIX = "quarantined-"


def quarantine_tag(digest: str) -> str:
    """`sha256:7f5b...` -> `quarantined-7f5b...` (76 characters; ECR allows 300, Docker 128)."""
    return QUARANTINE_PREFIX + digest.removeprefix("sha256:")
