"""CDK Pipelines' asset projects with a `cdk-assets` that reads the cloud-assembly schema aws-cdk-lib writes.

CDK Pipelines runs `npm install -g cdk-assets@<version>` and then `cdk-assets --path <manifest> --verbose publish
<selector>` in every asset project. A cdk-assets release bundles the schema reader of its day and refuses manifests
of a newer major ("Maximum schema version supported is 54.x.x"). The partial buildspec below runs before those
commands: it installs @aws-cdk/cdk-assets-lib (the library cdk-assets is built on) and the schema reader at pinned
versions, writes `cdk_assets.js` as `cdk-assets`, and puts it first on PATH, so CDK's own command runs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import aws_codebuild as codebuild
from aws_cdk import pipelines

from graviton.pipeline.arm_code_build import arm_build_environment

# The command line CDK Pipelines calls, on the library (read at synth, written into the buildspec).
PUBLISHER_SCRIPT = Path(__file__).with_name("cdk_assets.js")
# Where the asset project installs it; buildspec 0.2 keeps the exported PATH for the later commands and phases.
PUBLISHER_HOME = "$HOME/.cdk-assets-publisher"
# Ends the here-document that carries the script; the script never contains it.
SCRIPT_END = "CDK_ASSETS_JS"


def publisher_install_commands(*, packages: Sequence[str]) -> list[str]:
    """Install `packages` (exact `name@version` pins, @aws-cdk/cdk-assets-lib first) and the `cdk-assets` command."""
    if not packages or not packages[0].startswith("@aws-cdk/cdk-assets-lib@"):
        raise ValueError(f"packages must start with @aws-cdk/cdk-assets-lib@<version>, got {list(packages)!r}")
    script = PUBLISHER_SCRIPT.read_text()
    if SCRIPT_END in script:
        raise ValueError(f"{PUBLISHER_SCRIPT.name} contains the here-document delimiter {SCRIPT_END}")
    command = f"{PUBLISHER_HOME}/bin/cdk-assets"
    return [
        f'npm install --prefix "{PUBLISHER_HOME}" --no-save --no-audit --no-fund --loglevel=error {" ".join(packages)}',
        f'mkdir -p "{PUBLISHER_HOME}/bin"\ncat > "{command}" <<\'{SCRIPT_END}\'\n{script.rstrip()}\n{SCRIPT_END}\n'
        f'chmod +x "{command}"',
        f'export PATH="{PUBLISHER_HOME}/bin:$PATH"',
    ]


def asset_publishing_options(*, packages: Sequence[str]) -> pipelines.CodeBuildOptions:
    """ARM CodeBuild for the asset projects, whose `cdk-assets` runs on `packages` (see the module docstring).

    packages: exact `name@version` pins, `@aws-cdk/cdk-assets-lib@<version>` first, then e.g. the
    `@aws-cdk/cloud-assembly-schema@<version>` that reads what the app's aws-cdk-lib writes. No default: the app
    pins them where it pins its other npm packages.
    """
    spec = {"phases": {"install": {"commands": publisher_install_commands(packages=packages)}}}
    return pipelines.CodeBuildOptions(
        build_environment=arm_build_environment(), partial_build_spec=codebuild.BuildSpec.from_object(spec)
    )
