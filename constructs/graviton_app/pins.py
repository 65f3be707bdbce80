"""The versions this repository pins, read where they are pinned, so the pipeline runs what the tests ran."""

from __future__ import annotations

import json
import re
from pathlib import Path


def pinned_requirement(requirements: Path, package: str) -> str:
    """`boto3==1.44.8`: the exact pin a requirements file gives `package`."""
    for line in requirements.read_text().splitlines():
        match = re.match(rf"^{re.escape(package)}==([\w.+-]+)\s*(#.*)?$", line.strip())
        if match:
            return f"{package}=={match.group(1)}"
    raise ValueError(f"{requirements.name} pins no {package}==<version>")


def pinned_npm_version(package_json: Path, package: str) -> str:
    """The version package.json's devDependencies pin for `package` (the CDK CLI, cdk-assets)."""
    return json.loads(package_json.read_text())["devDependencies"][package]
