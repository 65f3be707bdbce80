"""The one way a command reaches AWS: a boto3 session in the environment's region, for the environment's account.

boto3 is imported on first use, so `--help` and refusals never pay for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from graviton_commands.cli import Refusal

# Connection errors, 5xx and throttling are botocore's to retry.
RETRIES = {"mode": "standard", "max_attempts": 5}
# The region variable the AWS CLI v2 and the other SDKs read first; boto3 reads only AWS_DEFAULT_REGION.
REGION_VARIABLE = "AWS_REGION"
# Where a region comes from after cdk.json, in that order: REGION_VARIABLE, then boto3's own sources.
REGION_SOURCES = f"{REGION_VARIABLE}, AWS_DEFAULT_REGION nor the profile"


@dataclass(frozen=True)
class Connection:
    """A session and the account its credentials belong to."""

    session: Any
    account: str
    config: Any

    @property
    def region(self) -> str:
        return self.session.region_name

    def client(self, service: str, region: str | None = None) -> Any:
        return self.session.client(service, region_name=region or self.region, config=self.config)


def client_errors() -> tuple[type[Exception], ...]:
    """botocore's two error bases, for `except` clauses in code that imports boto3 lazily."""
    from botocore.exceptions import BotoCoreError, ClientError

    return BotoCoreError, ClientError


def aws_error(err: Exception) -> str:
    """One line for a botocore error: `AWS refused <Operation>: <Code>: <Message>`."""
    response = getattr(err, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        text = (
            f"AWS refused {getattr(err, 'operation_name', '?')}: {error.get('Code', '?')}: {error.get('Message', '')}"
        )
    else:
        text = f"AWS call failed: {err}"
    return " ".join(text.split())


def _botocore_session() -> Any:
    """A fresh botocore session that shares one loader of service models with the others of this process: a
    session per connection reads credentials and the profile anew, and parsing EC2's model again each time costs
    about half a second."""
    import botocore.session

    session = botocore.session.get_session()
    session.register_component("data_loader", _shared_loader())
    return session


@cache
def _shared_loader() -> Any:
    import botocore.session

    return botocore.session.get_session().get_component("data_loader")


def connect(
    environment: str,
    *,
    region: str | None,
    account: str | None,
    region_sources: str = REGION_SOURCES,
    credentials_hint: str = "",
    purpose: str = "this command needs",
    **config: Any,
) -> Connection:
    """A session in `region` (cdk.json's), else AWS_REGION's, else boto3's default (AWS_DEFAULT_REGION, the
    profile), whose credentials are for `account` (when given).

    Refuses in one line when boto3 is missing, no region is known, there are no credentials, or they belong to
    another account. `region_sources` names where else a region could have come from; `credentials_hint` ends the
    no-credentials and the no-boto3 lines; `purpose` starts the no-boto3 line; `config` adds botocore Config
    settings (timeouts).
    """
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import NoCredentialsError
    except ImportError:
        raise Refusal(f"{purpose} boto3: run make setup (or pip install boto3){credentials_hint}") from None
    region = region or os.environ.get(REGION_VARIABLE) or None
    session = boto3.Session(botocore_session=_botocore_session(), region_name=region)
    if not session.region_name:
        raise Refusal(
            f"no AWS region: environment '{environment}' sets no 'region' in cdk.json and neither {region_sources}"
            " names one"
        )
    client_config = Config(retries=RETRIES, **config)
    try:
        found = session.client("sts", config=client_config).get_caller_identity()["Account"]
    except NoCredentialsError:
        raise Refusal(
            "no AWS credentials found; set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or run aws sso"
            f" login{credentials_hint}"
        ) from None
    except client_errors() as err:
        raise Refusal(aws_error(err)) from None
    if account and found != account:
        raise Refusal(
            f"environment '{environment}' is account {account} (cdk.json) but the credentials are for account"
            f" {found}; use credentials for {account}"
        )
    return Connection(session=session, account=found, config=client_config)
