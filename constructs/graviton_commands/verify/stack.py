"""The environment as deployed: its settings, its stack's outputs and resources, and clients in its account.

`connect` reads the app's settings (cdk.json with `-c` overrides, validated as `cdk synth` validates them) for the
environment's account and region and its services' endpoint outputs, checks the credentials are for that account, and
reads the stack with its nested stacks (`DevStack`: `describe_stacks` outputs and `list_stack_resources` of each,
`graviton_commands.deployed_stack`). Every AWS check then works from the `Aws` it returns, so each resource is found
one way: as the stack that holds it lists it.

The settings loader (pydantic) and boto3 are imported only here, inside `connect`: `--no-aws` never loads them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from graviton_app import naming
from graviton_commands import aws as aws_session
from graviton_commands.aws import aws_error
from graviton_commands.cli import Refusal
from graviton_commands.deployed_stack import StackNotDeployed, UnreadableStack, read_stack
from graviton_commands.settings import read_settings
from graviton_commands.verify.model import DEFAULT_TIMEOUT_SECONDS, Fatal, ImageRef


@dataclass
class Aws:
    """The environment as deployed: its stack's outputs and resources (its nested stacks' included), and clients in
    its account."""

    environment: str
    stack: str
    account: str
    region: str
    status: str
    outputs: dict[str, str]
    resources: dict[str, list[str]]
    session: Any
    config: Any
    progress: Callable[[str], None]
    # Nested stacks the stack lists that could not be read: their resources are not checked.
    unreadable: list[UnreadableStack] = field(default_factory=list)
    # Every HTTP target of the settings' services, and where its URL is (`naming.Endpoint`).
    endpoints: list[naming.Endpoint] = field(default_factory=list)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    # --deep: the image check downloads every arm64 image's layers and scans their ELF headers.
    deep: bool = False
    # Images the workloads run -> who runs them; filled by the Lambda and ECS checks, read by the image check.
    references: dict[ImageRef, list[str]] = field(default_factory=dict)
    foreign: dict[str, list[str]] = field(default_factory=dict)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, service: str, region: str | None = None) -> Any:
        """One client per service and region; creating clients is not thread-safe, using them is."""
        key = (service, region or self.region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self.session.client(service, region_name=key[1], config=self.config)
            return self._clients[key]

    def physical_ids(self, resource_type: str) -> list[str]:
        return self.resources.get(resource_type, [])

    def outputs_ending(self, suffix: str) -> dict[str, str]:
        return {key: value for key, value in self.outputs.items() if key.endswith(suffix) and value}

    def refer(self, uri: str, who: str, *, resolved: str | None = None) -> None:
        """Record that `who` runs `uri` (`resolved`: the same image by digest, as Lambda reports it)."""
        ref = ImageRef.parse(uri)
        if ref is None:
            self.foreign.setdefault(uri, []).append(who)
            return
        pinned = ImageRef.parse(resolved) if resolved else None
        if pinned and pinned.repo == ref.repo and not ref.digest:
            ref = replace(ref, digest=pinned.digest)
        self.references.setdefault(ref, []).append(who)


def environment_settings(root: Path, overrides: Sequence[str], environment: str) -> tuple[Any, list[naming.Endpoint]]:
    """The environment's settings from cdk.json (with `-c` overrides) and its endpoints (`naming.Endpoint`: each
    service's path under its target's base URL output, or its host URL).

    Loaded only for the AWS checks: `--no-aws` needs nothing but the standard library.
    """
    try:
        config = read_settings(root, overrides).config
    except Refusal as err:
        raise Fatal(str(err)) from None
    if environment not in config.environments:
        configured = ", ".join(config.environments)
        raise Fatal(f"environment '{environment}' is not configured in cdk.json; configured: {configured}")
    return config.environments[environment], config.endpoints(environment)


def connect(
    environment: str,
    *,
    stack: str,
    region: str | None,
    root: Path,
    overrides: Sequence[str] = (),
    progress: Callable[[str], None],
) -> Aws:
    """The deployed stack's outputs and resources, its nested stacks' included, read with the caller's credentials;
    Fatal when the stack cannot be read."""
    settings, endpoints = environment_settings(root, overrides, environment)
    try:
        connection = aws_session.connect(
            environment,
            region=region or settings.region,
            account=settings.account,
            region_sources=f"--region, {aws_session.REGION_SOURCES}",
            credentials_hint=", or check endpoints only with --no-aws --url SERVICE=URL",
            purpose="the AWS checks need",
            connect_timeout=10,
            read_timeout=30,
        )
    except Refusal as err:
        raise Fatal(str(err)) from None
    session, config, account = connection.session, connection.config, connection.account
    try:
        deployed = read_stack(connection.client("cloudformation"), stack)
    except StackNotDeployed:
        raise Fatal(
            f"stack {stack} is not deployed in account {account}, {session.region_name};"
            f" run make deploy ENV={environment} first"
        ) from None
    except Refusal as err:
        raise Fatal(str(err)) from None
    except aws_session.client_errors() as err:
        raise Fatal(aws_error(err)) from None
    resources: dict[str, list[str]] = {}
    for resource in deployed.resources:
        resources.setdefault(resource.type, []).append(resource.physical_id)
    nested = f" in {len(deployed.nested) + 1} stacks" if deployed.nested else ""
    progress(
        f"stack {stack} ({deployed.status}) in account {account}, {session.region_name}:"
        f" {len(deployed.resources)} resources, {len(deployed.outputs)} outputs{nested}"
    )
    return Aws(
        endpoints=endpoints,
        environment=environment,
        stack=stack,
        account=account,
        region=session.region_name,
        status=deployed.status,
        outputs=deployed.outputs,
        resources=resources,
        unreadable=list(deployed.unreadable),
        session=session,
        config=config,
        progress=progress,
    )
