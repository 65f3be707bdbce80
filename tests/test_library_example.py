"""The README's "Use the constructs in your own app" example, run as a user would run it."""

from __future__ import annotations

import json
import re
import shutil
import sys

import pytest
from support import ROOT, run

SECTION = "## Use the constructs in your own app"


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION) :]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A folder outside this repository with the example as app.py and a service to build."""
    folder = tmp_path_factory.mktemp("own-app")
    (folder / "app.py").write_text(readme_example())
    shutil.copytree(ROOT / "docker" / "api", folder / "docker" / "orders")
    (folder / "docker" / "orders" / "Dockerfile").write_text(
        (ROOT / "docker" / "api" / "Dockerfile.lambda").read_text()
    )
    return folder


def test_the_example_is_short():
    assert len(readme_example().strip().splitlines()) <= 15


def test_the_example_synthesizes_an_arm64_function_outside_this_repository(project):
    # x86 in such an app is reported by the guard itself, in one list and exit 1: tests/graviton/guardrails/test_guard.py
    result = run([sys.executable, "app.py"], cwd=project, env={"CDK_OUTDIR": str(project / "cdk.out")})
    assert result.returncode == 0, result.stderr
    template = json.loads((project / "cdk.out" / "Orders.template.json").read_text())
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert functions and all(f["Properties"]["Architectures"] == ["arm64"] for f in functions)
