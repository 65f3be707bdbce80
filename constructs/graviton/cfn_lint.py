"""cfn-lint exceptions: one rule on one resource at a time, each with its reason, in the resource's own Metadata."""

from __future__ import annotations

from aws_cdk import CfnResource

# The resource Metadata key cfn-lint reads its per-resource configuration from.
METADATA_KEY = "cfn-lint"


def skip_cfn_lint_rule(resource: CfnResource, rule: str, reason: str) -> None:
    """Have cfn-lint skip `rule` (an exact id, "E3703") on `resource` only, with `reason` written beside it.

    cfn-lint reads `config.ignore_checks` from the resource's Metadata and drops that rule's findings on this resource
    and no other; `reasons` (rule -> why) is there for whoever reads the template. Rules skipped earlier on the same
    resource are kept.
    """
    current = resource.get_metadata(METADATA_KEY) or {}
    config = current.get("config", {})
    checks = [c for c in config.get("ignore_checks", []) if c != rule]
    resource.add_metadata(
        METADATA_KEY,
        {
            **current,
            "config": {**config, "ignore_checks": [*checks, rule]},
            "reasons": {**current.get("reasons", {}), rule: reason},
        },
    )
