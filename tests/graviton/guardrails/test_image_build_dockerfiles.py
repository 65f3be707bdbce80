"""GG-DOCKERFILE reads the Dockerfiles ArmImageBuild ships to CodeBuild, at synth, not later in the build."""

from __future__ import annotations

import json
import shutil

import aws_cdk as cdk
import pytest
from support import ROOT

from graviton import ArmImageBuild, ImageRepository
from graviton.guardrails.guard import GuardViolationError, guard

API = ROOT / "docker" / "api"
PINNED_X86 = "# syntax=docker/dockerfile:1\nARG BASE=python:3.13-slim\nFROM --platform=linux/amd64 ${BASE}\nCOPY . .\n"
PINNED_OWN = "ARG TARGETPLATFORM\nFROM --platform=$TARGETPLATFORM python:3.13-slim\nCOPY . .\n"


@pytest.fixture(scope="module")
def caught(tmp_path_factory):
    base = tmp_path_factory.mktemp("image-builds")
    app = cdk.App(outdir=str(base / "cdk.out"))
    guard(app)
    stack = cdk.Stack(app, "Builds")
    for name, text in (("pinned-x86", PINNED_X86), ("pinned-own", PINNED_OWN)):
        context = shutil.copytree(API, base / name, ignore=shutil.ignore_patterns("__pycache__"))
        (context / "Dockerfile.service").write_text(text)
        repository = ImageRepository(stack, f"{name}-repo", repository_name=f"gg-dev-{name}")
        ArmImageBuild(stack, name, repository=repository, source_dir=context, dockerfile="Dockerfile.service")
    with pytest.raises(GuardViolationError) as error:
        app.synth()
    return error.value, base / "cdk.out"


def test_a_service_dockerfile_pinning_amd64_fails_synth_naming_file_and_line(caught):
    error, _ = caught
    (found,) = [v for v in error.violations if v.rule == "GG-DOCKERFILE"]
    assert "Builds/pinned-x86/" in found.path
    assert found.found == "Dockerfile.service line 3: FROM --platform=linux/amd64"


def test_the_builds_own_platform_variable_passes(caught):
    _, outdir = caught
    report = json.loads((outdir / "arm64-report.json").read_text())
    own = [d for d in report["checked"] if d["rule"] == "GG-DOCKERFILE" and "Builds/pinned-own/" in d["path"]]
    assert own and all(d["compliant"] for d in own)
