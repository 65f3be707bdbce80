"""Where PipelineStack lives and what it can check in each environment, decided from the settings alone."""

from __future__ import annotations

from dataclasses import dataclass

from graviton_app.config import AppConfig


@dataclass(frozen=True)
class Placement:
    """An account and a region; None for either means environment-agnostic there."""

    account: str | None = None
    region: str | None = None

    @property
    def pinned(self) -> bool:
        return bool(self.account or self.region)


def pipeline_placement(config: AppConfig) -> Placement:
    """`pipeline_account`/`pipeline_region`, else dev's, else environment-agnostic."""
    dev = config.environments.get("dev")
    return Placement(
        account=config.pipeline_account or (dev.account if dev else None),
        region=config.pipeline_region or (dev.region if dev else None),
    )


def environment_placement(config: AppConfig, environment: str) -> Placement:
    settings = config.environment(environment)
    return Placement(account=settings.account, region=settings.region)


def placement_problem(config: AppConfig) -> str | None:
    """One line when CDK Pipelines could not place the pipeline: a stage pinned to an account or region needs
    the pipeline's own account and region (CDK refuses cross-environment actions from an agnostic pipeline)."""
    placement = pipeline_placement(config)
    if placement.account and placement.region:
        return None
    pinned = [name for name, s in config.environments.items() if s.account or s.region]
    if not pinned:
        return None
    return (
        f"cdk.json: PipelineStack needs an account and a region because environments.{pinned[0]} sets one;"
        " set 'pipeline_account' and 'pipeline_region' (or dev's 'account' and 'region')"
    )


def needs_cross_account_keys(config: AppConfig) -> bool:
    """True when an environment deploys to an account other than the pipeline's (an unset account is the
    pipeline's own: CDK Pipelines deploys environment-agnostic stages there)."""
    pipeline_account = pipeline_placement(config).account
    return any(s.account and s.account != pipeline_account for s in config.environments.values())


def verifies_in_aws(config: AppConfig, environment: str) -> bool:
    """True when the environment deploys into the pipeline's account (an unset account is the pipeline's own), so
    the verify step's role can read its stack and resources."""
    account = config.environment(environment).account
    return not account or account == pipeline_placement(config).account
