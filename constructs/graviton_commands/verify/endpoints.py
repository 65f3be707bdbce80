"""GET /arch: each service's own view of its CPU, asked over HTTP like any client would.

Every service answers `GET /arch` with `{"machine": platform.machine()}` from inside its running container, so
`aarch64` there proves the code really runs on Graviton, whatever its function or task definition says. This is the
only check `--no-aws` runs (the pipeline's step for an environment in another account), so this module is standard
library only.

The endpoints: `--url LABEL=URL`, and with AWS each service's path under the stack's `LambdaBaseUrl` / `EcsBaseUrl`
output (or its host URL on the environment's domain), labelled `service/target` (`api/lambda`, `web/ecs`); a `--url`
replaces the endpoint with the same label. A fresh endpoint is
waited for (429 and 5xx are retried, with a doubling backoff); any other answer is final.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Protocol

from graviton_commands.verify.model import (
    CANNOT_CHECK,
    NETWORK_ERRORS,
    OK,
    WRONG,
    CannotCheck,
    Plan,
    Row,
    Target,
    network_reason,
)


class Endpoint(Protocol):
    """What verify needs of `graviton_app.naming.Endpoint` (this module stays standard library only)."""

    @property
    def label(self) -> str: ...

    def url(self, outputs: Mapping[str, str]) -> str | None: ...


CHECK_ARCH = "GET /arch"
EXPECTED_MACHINE = "aarch64"
ARCH_PATH = "/arch"
# Statuses worth waiting for; any other error status is an answer, and retrying would not change it.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BODY_BYTES = 64 * 1024


def fetch_machine(url: str, *, plan: Plan) -> str:
    """`GET <url>/arch` and return its `machine`, waiting out a freshly deployed endpoint; else CannotCheck."""
    arch_url = url.rstrip("/") + ARCH_PATH
    request = urllib.request.Request(arch_url, headers={"Accept": "application/json", "User-Agent": "graviton-verify"})
    last_error = ""
    for attempt in range(1, plan.attempts + 1):
        try:
            with urllib.request.urlopen(request, timeout=plan.timeout_seconds) as response:
                return _machine_of(response.read(MAX_BODY_BYTES), arch_url)
        except urllib.error.HTTPError as err:
            last_error = f"HTTP {err.code}"
            if err.code not in RETRY_STATUSES:
                raise CannotCheck(f"{arch_url} answered {last_error}") from None
        except NETWORK_ERRORS as err:
            last_error = f"unreachable ({network_reason(err)})"
        if attempt < plan.attempts:
            plan.sleep(plan.backoff_seconds * 2 ** (attempt - 1))
    raise CannotCheck(f"{arch_url}: {last_error} after {plan.attempts} attempt(s)")


def _machine_of(body: bytes, url: str) -> str:
    try:
        answer = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CannotCheck(f"{url} did not answer JSON: {body[:60]!r}") from None
    machine = answer.get("machine") if isinstance(answer, dict) else None
    if not isinstance(machine, str) or not machine:
        raise CannotCheck(f'{url} answered JSON without a "machine" string: {json.dumps(answer)[:60]}')
    return machine


def http_arch_check(plan: Plan) -> list[Row]:
    """Each service's own view of its CPU: what `platform.machine()` says inside the running container."""
    rows = []
    for target in plan.targets:
        plan.progress(f"GET {target.url.rstrip('/')}{ARCH_PATH}")
        try:
            machine = fetch_machine(target.url, plan=plan)
        except CannotCheck as err:
            rows.append(Row(CHECK_ARCH, target.service, EXPECTED_MACHINE, "-", CANNOT_CHECK, str(err)))
            continue
        verdict = OK if machine == EXPECTED_MACHINE else WRONG
        rows.append(Row(CHECK_ARCH, target.service, EXPECTED_MACHINE, machine, verdict, target.url))
    return rows


def is_http_url(url: str) -> bool:
    """An http(s) URL that names a host: all GET /arch can ask."""
    parsed = urllib.parse.urlsplit(url)
    return parsed.scheme in {"http", "https"} and bool(parsed.netloc)


def url_targets(outputs: Mapping[str, str], endpoints: Sequence[Endpoint]) -> dict[str, str]:
    """The settings' endpoints at the stack's base URL outputs: label (`api/lambda`) -> URL (`<base><path>`), for
    those whose URL is known."""
    urls = {endpoint.label: endpoint.url(outputs) for endpoint in endpoints}
    return {label: url for label, url in urls.items() if url}


def output_targets(
    outputs: Mapping[str, str], endpoints: Sequence[Endpoint], given: Sequence[Target]
) -> tuple[tuple[Target, ...], list[Row]]:
    """The stack's endpoint outputs, each replaced by a --url with the same label; an output that is no http(s)
    URL is a row that cannot be checked."""
    urls = {**url_targets(outputs, endpoints), **{target.service: target.url for target in given}}
    targets, rows = [], []
    for service, url in urls.items():
        if is_http_url(url):
            targets.append(Target(service, url))
        else:
            why = f"the stack's URL {url!r} is not http(s)"
            rows.append(Row(CHECK_ARCH, service, EXPECTED_MACHINE, "-", CANNOT_CHECK, why))
    return tuple(targets), rows
