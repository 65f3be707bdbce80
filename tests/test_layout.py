"""The layout's import traps: constructs/ and docker/ are folders, never packages that hide libraries."""

from __future__ import annotations

import json
import sys

from support import ROOT, run

PROBE = (
    "import json, constructs, graviton, aws_cdk;"
    "print(json.dumps({'constructs': constructs.__file__, 'graviton': graviton.__file__}))"
)


def test_from_the_repo_root_constructs_is_the_library_and_graviton_is_ours():
    found = json.loads(run([sys.executable, "-c", PROBE], cwd=ROOT).stdout)
    assert "site-packages" in found["constructs"]
    assert found["graviton"] == str(ROOT / "constructs" / "graviton" / "__init__.py")


def test_graviton_is_installed_so_it_imports_from_any_directory(tmp_path):
    found = json.loads(run([sys.executable, "-c", PROBE], cwd=tmp_path).stdout)
    assert found["graviton"] == str(ROOT / "constructs" / "graviton" / "__init__.py")


def test_no_package_shadows_a_library():
    assert not (ROOT / "constructs" / "__init__.py").exists()
    assert not (ROOT / "docker" / "__init__.py").exists()
    assert not list((ROOT / "docker").glob("*/__init__.py")), "docker/<service>/ must not be a package either"
