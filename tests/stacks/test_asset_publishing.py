"""The pipeline's asset projects publish what the stage templates reference: their install and publish commands, as
the synthesized buildspecs give them, run against the pipeline's assembly with a moto server standing in for S3,
STS and the CDK bootstrap; and the publisher reads every asset manifest this aws-cdk-lib writes."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto_support import moto_server
from support import ROOT, Synthesized, run

from graviton.pipeline.asset_publishing import PUBLISHER_SCRIPT

ACCOUNT = "123456789012"  # the account moto answers for
REGION = "eu-west-1"
QUALIFIER = "hnb659fds"  # the default bootstrap qualifier the manifests name
BUCKET = f"cdk-{QUALIFIER}-assets-{ACCOUNT}-{REGION}"
PINS = json.loads((ROOT / "package.json").read_text())["devDependencies"]
NODE_MODULES = ROOT / "node_modules"
# `npm install --prefix "<dir>" <options> <name@version>...`: the publisher's install, and CDK Pipelines' own.
PUBLISHER_INSTALL = re.compile(r'^npm install --prefix "(?P<prefix>[^"]+)" (?:--[\w=-]+ )*(?P<packages>[^-].*)$')
CDK_ASSETS_INSTALL = re.compile(r"^npm install -g cdk-assets@(?P<version>\S+)$")
ASSET_KEY = re.compile(r"[0-9a-f]{64}\.(?:zip|json)")


def buildspec_of(template: dict, action: dict, outdir: Path) -> dict:
    """The project's buildspec: inline, or (one project publishing many assets) the file CDK Pipelines writes into
    the assembly the project gets as its input, named in the project."""
    project = template["Resources"][action["Configuration"]["ProjectName"]["Ref"]]
    spec = project["Properties"]["Source"]["BuildSpec"]
    return json.loads(spec if spec.lstrip().startswith("{") else (outdir / spec).read_text())


@pytest.fixture(scope="module")
def asset_buildspecs(pipeline_synth: Synthesized) -> list[dict]:
    """The buildspec of every action of the pipeline's Assets stage."""
    pipeline_stack = pipeline_synth.app.node.find_child("PipelineStack")
    template = pipeline_synth.stack_template(pipeline_stack)
    (pipeline,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    (actions,) = [s["Actions"] for s in pipeline["Properties"]["Stages"] if s["Name"] == "Assets"]
    assert actions
    return [buildspec_of(template, action, pipeline_synth.outdir) for action in actions]


def with_local_packages(command: str) -> str:
    """The command as the test runs it: npm installs come from what `make setup` installed from package-lock.json,
    after checking they install the versions package.json pins."""
    publisher = PUBLISHER_INSTALL.match(command)
    if publisher:
        names = ["@aws-cdk/cdk-assets-lib", "@aws-cdk/cloud-assembly-schema"]
        assert publisher["packages"].split() == [f"{name}@{PINS[name]}" for name in names]
        return f'mkdir -p "{publisher["prefix"]}" && ln -s "{NODE_MODULES}" "{publisher["prefix"]}/node_modules"'
    cli = CDK_ASSETS_INSTALL.match(command)
    if cli:
        # Installed globally in CodeBuild; node_modules/.bin holds the same cdk-assets on the test's PATH.
        assert cli["version"] == PINS["cdk-assets"]
        return ":"
    assert not command.startswith("npm "), f"an npm command the test does not know: {command}"
    return command


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


def bootstrap(url: str) -> None:
    """What `cdk bootstrap` leaves that the manifests and templates name: the assets bucket, the publishing role, the
    version parameter."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    session.client("s3", endpoint_url=url).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}],
    }
    session.client("iam", endpoint_url=url).create_role(
        RoleName=f"cdk-{QUALIFIER}-file-publishing-role-{ACCOUNT}-{REGION}", AssumeRolePolicyDocument=json.dumps(trust)
    )
    session.client("ssm", endpoint_url=url).put_parameter(
        Name=f"/cdk-bootstrap/{QUALIFIER}/version", Value="30", Type="String"
    )


def run_buildspec(spec: dict, *, cwd: Path, home: Path, url: str) -> subprocess.CompletedProcess:
    """Install, then build phase, in one shell as buildspec 0.2 runs them (exports last across commands and phases),
    from the assembly's root like the project's input artifact. Only the given endpoint and fake credentials."""
    commands = [*spec["phases"]["install"]["commands"], *spec["phases"]["build"]["commands"]]
    script = "set -e\n" + "\n".join(with_local_packages(c) for c in commands)
    empty = home / "empty-aws-file"
    empty.write_text("")
    env = {
        # As CodeBuild's: Node 22 (node_modules/.bin has it when the machine's is older) and cdk-assets on PATH.
        "PATH": f"{NODE_MODULES / '.bin'}:{os.environ['PATH']}",
        "HOME": str(home),
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run(["/bin/sh", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def referenced_keys(pipeline_synth: Synthesized) -> set[str]:
    """The asset object keys the stage stacks' templates point at, in the bucket they name."""
    keys: set[str] = set()
    for stage_dir in pipeline_synth.outdir.glob("assembly-*"):
        for template_file in stage_dir.glob("*.template.json"):  # the stage's stacks and their nested stacks
            text = template_file.read_text()
            found = set(ASSET_KEY.findall(text))
            # A top-level stack names its nested stacks' templates; a nested stack with no asset names no bucket.
            if found or not template_file.name.endswith(".nested.template.json"):
                assert f"cdk-{QUALIFIER}-assets-${{AWS::AccountId}}-${{AWS::Region}}" in text, template_file.name
            keys |= found
    return keys


def test_the_asset_projects_publish_every_asset_the_stage_templates_reference(
    asset_buildspecs, pipeline_synth, moto_url, tmp_path
):
    bootstrap(moto_url)
    for number, spec in enumerate(asset_buildspecs):
        home = tmp_path / f"project-{number}"
        home.mkdir()
        done = run_buildspec(spec, cwd=pipeline_synth.outdir, home=home, url=moto_url)
        assert done.returncode == 0, done.stdout + done.stderr
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    published = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    referenced = referenced_keys(pipeline_synth)
    assert referenced and referenced <= published
    # The objects are the assets: a zip holds its directory's files.
    manifest = json.loads(next(pipeline_synth.outdir.glob("assembly-*-Dev/*.assets.json")).read_text())
    for asset in manifest["files"].values():
        (destination,) = asset["destinations"].values()
        if destination["objectKey"] not in referenced or asset["source"]["packaging"] != "zip":
            continue
        source = (pipeline_synth.outdir / "assembly-PipelineStack-Dev" / asset["source"]["path"]).resolve()
        body = s3.get_object(Bucket=BUCKET, Key=destination["objectKey"])["Body"].read()
        names = {n for n in zipfile.ZipFile(io.BytesIO(body)).namelist() if not n.endswith("/")}
        assert names == {str(p.relative_to(source)) for p in source.rglob("*") if p.is_file()}


def test_the_publisher_reads_every_asset_manifest_the_app_writes(synthesized, pipeline_synth):
    manifests = [*synthesized.outdir.rglob("*.assets.json"), *pipeline_synth.outdir.rglob("*.assets.json")]
    assert manifests
    for manifest in manifests:
        listed = run(["node", str(PUBLISHER_SCRIPT), "--path", str(manifest), "ls"])
        assert listed.returncode == 0, f"{manifest.name}: {listed.stderr}"
        entries = json.loads(manifest.read_text())
        assert len([line for line in listed.stdout.splitlines() if not line.startswith(" ")]) == len(
            entries.get("files", {})
        ) + len(entries.get("dockerImages", {}))


def test_a_bad_command_line_is_one_line_and_exit_2(tmp_path):
    missing = tmp_path / "missing.assets.json"
    for args in (["ls"], ["--path", str(missing), "ls"], ["--path", str(missing), "--force", "publish"]):
        done = run(["node", str(PUBLISHER_SCRIPT), *args])
        assert done.returncode == 2
        assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("cdk-assets: ")
