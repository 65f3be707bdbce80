"""What every part of verify shares: the rows it reports, the plan it follows, the verdicts and exit codes, and the
names of ECR images.

A check turns resources into `Row`s (what it expected, what it found, a verdict); `exit_code` turns the rows into
the command's exit code. Standard library only: `--no-aws` loads this module too.
"""

from __future__ import annotations

import http.client
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

PROG = "verify"

EXIT_OK, EXIT_WRONG_MACHINE, EXIT_CANNOT_CHECK = 0, 1, 2
OK, WRONG, CANNOT_CHECK = "ok", "WRONG", "cannot check"

# A freshly deployed ALB answers 502/503 until its targets pass health checks: 2, 4, 8, 16 s covers that.
DEFAULT_ATTEMPTS = 5
DEFAULT_BACKOFF_SECONDS = 2.0
DEFAULT_TIMEOUT_SECONDS = 10.0
# BatchGetImage and BatchGetProjects take at most 100 ids per call.
BATCH = 100
# What urllib raises when a server cannot be reached: refused, reset, DNS, TLS, timeout, bad status line.
NETWORK_ERRORS = (OSError, http.client.HTTPException)

# A private ECR image: <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag][@sha256:...]
_ECR_IMAGE = re.compile(
    r"^(?P<registry>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[\w][\w.-]{0,299}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


@dataclass(frozen=True)
class Target:
    """One service endpoint to check; `service` is its label (`api/lambda`, or any name given with --no-aws)."""

    service: str
    url: str


def _quiet(line: str) -> None:
    """No progress: the URL-only run is a handful of requests."""


@dataclass(frozen=True)
class Plan:
    """What to verify, and how patiently."""

    environment: str
    targets: tuple[Target, ...]
    attempts: int = DEFAULT_ATTEMPTS
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    progress: Callable[[str], None] = field(default=_quiet, compare=False, repr=False)


@dataclass(frozen=True)
class Row:
    """One verdict: what a check expected of a resource (or a service's endpoint) and what it found."""

    check: str
    resource: str
    expected: str
    found: str
    verdict: str
    detail: str = ""


class CannotCheck(Exception):
    """A resource gave nothing to compare; the message is one line."""


class UsageError(Exception):
    """A bad command-line argument; the message is one line."""


class Fatal(Exception):
    """What stops the AWS checks before any row (no boto3, credentials, region or stack); one line, exit 2."""


Check = Callable[[Plan], list[Row]]


def exit_code(rows: Sequence[Row]) -> int:
    """Another machine is a definite failure and outranks a row that could not be checked."""
    if any(row.verdict == WRONG for row in rows):
        return EXIT_WRONG_MACHINE
    if not rows or any(row.verdict == CANNOT_CHECK for row in rows):
        return EXIT_CANNOT_CHECK
    return EXIT_OK


def network_reason(err: Exception) -> str:
    """What a failed connection says, in a few words (`[Errno 111] Connection refused`, `TimeoutError`)."""
    reason = getattr(err, "reason", err)
    return str(reason) or type(reason).__name__


@dataclass(frozen=True)
class ImageRef:
    """A private ECR image as a workload or an output names it: by tag, by digest, or both."""

    registry: str
    region: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, uri: str) -> ImageRef | None:
        """None for anything but a private ECR image (public.ecr.aws, Docker Hub, ...)."""
        match = _ECR_IMAGE.match(uri.strip())
        return cls(**match.groupdict()) if match else None

    @property
    def repo(self) -> Repo:
        return Repo(self.registry, self.region, self.repository)

    def label(self) -> str:
        return self.repository + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def matches(self, digest: str, tags: Iterable[str]) -> bool:
        return self.digest == digest or (self.tag is not None and self.tag in tags)


@dataclass(frozen=True)
class Repo:
    """One ECR repository: its registry (account), region and name."""

    registry: str
    region: str
    name: str
