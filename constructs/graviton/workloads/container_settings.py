"""How a service's container listens, is checked and runs: one value per service, shared by ECS and EKS.

Standard library only: the app's settings validate with the same checks (each raises ValueError with what is
allowed), and the EKS manifests are generated without aws-cdk-lib.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from graviton.constants import CONTAINER_PORT, CONTAINER_USER, HEALTH_PATH

# A non-root user cannot bind a port below 1024 (EKS pods also drop every capability).
PORT_RANGE = (1024, 65535)
# The characters of a URL path, without quotes or backslashes: the path goes into the Python health check's
# string literal as is. 1024 is the target group's limit.
_HEALTH_PATH = re.compile(r"^/[A-Za-z0-9._~!$&()*+,;=:@%/-]{0,1023}$")
_USER = re.compile(r"^(\d{1,10}):(\d{1,10})$")
# ECS runs `CMD` items as an exec form, a `CMD-SHELL` item with the image's shell.
HEALTH_CHECK_FORMS = ("CMD", "CMD-SHELL")
PYTHON_HEALTH_CHECK: Literal["python"] = "python"
HealthCheck = Sequence[str] | Literal["python"] | None


def check_port(port: int) -> int:
    if not PORT_RANGE[0] <= port <= PORT_RANGE[1]:
        raise ValueError(
            f"must be {PORT_RANGE[0]} to {PORT_RANGE[1]}: the container runs as a non-root user, which cannot bind"
            " a port below 1024"
        )
    return port


def check_health_path(path: str) -> str:
    if not _HEALTH_PATH.match(path):
        raise ValueError(
            "must be a URL path starting with '/' (letters, digits and - . _ ~ / % and the like; no quotes)"
        )
    return path


def check_user(user: str) -> str:
    match = _USER.match(user)
    if not match:
        raise ValueError("must be numeric 'uid:gid', such as '10001:10001'")
    if int(match[1]) == 0:
        raise ValueError("must not be root (uid 0): give the image's non-root user, such as '10001:10001'")
    return user


def check_health_check(command: Sequence[str]) -> Sequence[str]:
    if len(command) < 2 or command[0] not in HEALTH_CHECK_FORMS or not all(command[1:]):
        raise ValueError(
            "must be 'python', 'none' or a command list starting with 'CMD' or 'CMD-SHELL', such as"
            ' ["CMD-SHELL", "wget -qO- http://127.0.0.1:8080/health || exit 1"]'
        )
    return command


def python_health_check(port: int, health_path: str) -> list[str]:
    """The check with the image's own Python: slim images have no curl."""
    url = f"http://127.0.0.1:{port}{health_path}"
    return ["CMD", "python", "-c", f"import urllib.request; urllib.request.urlopen('{url}', timeout=3)"]


@dataclass(frozen=True, kw_only=True)
class ContainerSettings:
    """A service container's port, health and user; every bad value raises ValueError naming it.

    :param port: the port the container listens on (default: 8080).
    :param health_path: the path that answers 200 when the container is healthy (default: ``/health``).
    :param health_check: ECS's in-container check: ``"python"`` (the image's Python requests
        ``http://127.0.0.1:<port><health_path>``), a command (``["CMD", ...]`` or ``["CMD-SHELL", "..."]``), or
        None for none, for images without Python or a shell (default: ``"python"``). EKS probes ``health_path``
        over HTTP instead.
    :param user: the numeric ``uid:gid`` the container runs as, never root (default: ``10001:10001``).
    :param read_only_root: the root file system is read-only, with a writable ``/tmp`` (default: True).
    """

    port: int = CONTAINER_PORT
    health_path: str = HEALTH_PATH
    health_check: HealthCheck = PYTHON_HEALTH_CHECK
    user: str = CONTAINER_USER
    read_only_root: bool = True

    def __post_init__(self) -> None:
        _refuse("port", self.port, check_port)
        _refuse("health_path", self.health_path, check_health_path)
        _refuse("user", self.user, check_user)
        if self.health_check is not None and self.health_check != PYTHON_HEALTH_CHECK:
            _refuse("health_check", list(self.health_check), check_health_check)

    @property
    def health_check_command(self) -> list[str] | None:
        """The command ECS runs in the container, or None for no in-container check."""
        if self.health_check is None:
            return None
        if self.health_check == PYTHON_HEALTH_CHECK:
            return python_health_check(self.port, self.health_path)
        return list(self.health_check)

    @property
    def uid(self) -> int:
        return int(self.user.split(":")[0])

    @property
    def gid(self) -> int:
        return int(self.user.split(":")[1])


def _refuse(name: str, value: Any, check: Callable[[Any], Any]) -> None:
    try:
        check(value)
    except ValueError as err:
        raise ValueError(f"{name} {value!r} {err}") from None
