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
    cdk = str(ROOT / "node_modules" / ".bin" / "cdk")
    result = run([cdk, "synth", "--quiet", "--app", f"{sys.executable} app.py", "-o", "cdk.out"], cwd=project)
    assert result.returncode == 0, result.stderr
    template = json.loads((project / "cdk.out" / "Orders.template.json").read_text())
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert functions and all(f["Properties"]["Architectures"] == ["arm64"] for f in functions)


def test_x86_in_the_example_is_a_clean_list_and_exit_1(project):
    x86 = (
        "from aws_cdk import aws_lambda as lambda_\n"
        "lambda_.Function(stack, 'Legacy', runtime=lambda_.Runtime.PYTHON_3_13, handler='index.handler',"
        " code=lambda_.Code.from_inline('def handler(e, c): pass'))\n"
    )
    source = readme_example().replace("app.synth()", x86 + "app.synth()")
    (project / "x86_app.py").write_text(source)
    result = run([sys.executable, "x86_app.py"], cwd=project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "arm64 guard: 1 violation(s)" in result.stderr
    assert "GG-LAMBDA  Orders/Legacy/Resource" in result.stderr
