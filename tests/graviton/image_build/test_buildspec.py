"""Runs the ARM image build's buildspec with bash the way CodeBuild would, against fake uname, docker, aws and curl.

Each command runs in its own bash process that restores the variables (and directory) the previous command left,
so `exit 1` fails just that command, as in CodeBuild 0.2. The fakes log every call and answer like an arm64 host,
a Docker daemon and ECR would; each test changes one answer and checks what the build did with it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from image_support import AARCH64, X86_64, Entry, docker_save, elf

from graviton.image_build.arm_image_build import build_spec
from graviton.image_build.runtime.image_build_contract import CANDIDATE_TAG_PREFIX, DIGEST_VARIABLE

PHASES = ("pre_build", "build", "post_build")
BINFMT = "/proc/sys/fs/binfmt_misc"
URI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/gg-dev-api"
TAG = hashlib.sha256(b"api context").hexdigest()
IMAGE = f"{URI}:{TAG}"
BUILD_ID = "gg-dev-api-build:0b6f4c3e-8d1a-4b7e-9c2f-5a6b7c8d9e0f"
CANDIDATE = "candidate-0b6f4c3e-8d1a-4b7e-9c2f-5a6b7c8d9e0f"
BUILT = f"{URI}:{CANDIDATE}"
DOCKERFILE = "lambda.Dockerfile"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
BLOB_TYPES = {  # manifest type -> (config type, layer type)
    DOCKER_MANIFEST: (
        "application/vnd.docker.container.image.v1+json",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
    ),
    OCI_MANIFEST: ("application/vnd.oci.image.config.v1+json", "application/vnd.oci.image.layer.v1.tar+gzip"),
}

# Saves every variable a command leaves (not bash's read-only or special ones) and its directory for the next one.
SAVE_STATE = r"""
__save_state() {
  local __rc=$? __name
  {
    for __name in $(compgen -v); do
      case "$__name" in __*|_|BASH*|COMP_*|DIRSTACK|EPOCH*|FUNCNAME|GROUPS|HISTCMD|LINENO|OLDPWD|PIPESTATUS|PPID|PWD|RANDOM|SECONDS|SHLVL|SRANDOM) continue ;; esac
      # The variable's attributes without a subshell per variable (${!name@a}: r = read-only, not restored).
      [[ "${!__name@a}" == *r* ]] || declare -p "$__name" 2>/dev/null
    done
    printf 'cd -- %q\n' "$PWD"
  } > "$__STATE"
  exit "$__rc"
}
"""

# One program plays uname, docker, aws and curl (by the name it is called as), answering from fakes.json.
FAKE = r'''
import json, os, sys

# os.path, not pathlib, and shutil and urllib only where a call needs them: each call is a new process, and
# importing those costs a quarter of its start-up.
home = os.environ["FAKES_HOME"]
with open(os.path.join(home, "fakes.json")) as config:
    cfg = json.loads(config.read())
name, args = os.path.basename(sys.argv[0]), sys.argv[1:]
with open(os.path.join(home, "calls.jsonl"), "a") as log:
    log.write(json.dumps({"cmd": name, "args": args}) + "\n")


def option(flag):
    return args[args.index(flag) + 1] if flag in args else None


def fail(message, code):
    print(message, file=sys.stderr)
    sys.exit(code)


def aws_answer(response):
    """Apply --query (dotted keys and [index] only) and --output as the AWS CLI does."""
    for part in (option("--query") or "").replace("[", ".[").split("."):
        if part:
            if part.startswith("["):  # JMESPath: an index past the end is null
                response = response[int(part[1:-1])] if int(part[1:-1]) < len(response) else None
            else:
                response = response.get(part) if response is not None else None
    text = option("--output") == "text" and not isinstance(response, (dict, list))
    print(("None" if response is None else response) if text else json.dumps(response, indent=4))


def ecr_image(flag, tag):
    if option("--repository-name") != cfg["repository"] or option(flag) != "imageTag=" + tag:
        fail("An error occurred (ImageNotFoundException): image not found", 254)


def manifest_digest():
    import hashlib  # here, not at the top: the calls that never hash start without loading OpenSSL

    return "sha256:" + hashlib.sha256(cfg["manifest_text"].encode()).hexdigest()


if name == "uname":
    print(cfg["machine"] if args == ["-m"] else "Linux")
elif name == "docker" and args[:1] == ["login"]:
    if sys.stdin.read().strip() != cfg["token"] or args[-1] != cfg["registry"]:
        fail("Error response from daemon: login attempt failed", 1)
    print("Login Succeeded")
elif name == "docker" and args[:2] == ["buildx", "build"]:
    print("#12 naming to " + option("-t") + " done")
elif name == "docker" and args[:3] == ["image", "inspect", "--format"]:
    print(cfg["built_platform"])
elif name == "docker" and args[:2] == ["image", "save"]:
    import shutil

    shutil.copyfile(cfg["saved_image"], option("-o"))
elif name == "docker" and args[:1] == ["push"]:
    print(f"{args[1].rpartition(':')[2]}: digest: {manifest_digest()} size: 529")
elif name == "mount":
    if not cfg["mount_ok"]:
        fail("mount: /proc/sys/fs/binfmt_misc: permission denied.", 32)
    with open(os.path.join(args[-1], "status"), "w") as status:
        status.write("enabled\n")
elif name == "aws" and args[:2] == ["ecr", "get-login-password"]:
    print(cfg["token"])
elif name == "aws" and args[:2] == ["ecr", "batch-get-image"]:
    ecr_image("--image-ids", cfg["candidate"])
    image = {
        "registryId": "123456789012",
        "repositoryName": cfg["repository"],
        "imageId": {"imageDigest": manifest_digest(), "imageTag": cfg["candidate"]},
        "imageManifest": cfg["manifest_text"],
        "imageManifestMediaType": cfg["manifest"]["mediaType"],
    }
    aws_answer({"images": [image], "failures": []})
elif name == "aws" and args[:2] == ["ecr", "put-image"]:
    with open(option("--image-manifest").removeprefix("file://")) as manifest_file:
        manifest = manifest_file.read()
    if option("--image-tag") != cfg["tag"] or cfg["tag_exists"]:
        fail("An error occurred (ImageTagAlreadyExistsException): tag already exists", 254)
    if manifest != cfg["manifest_text"] or option("--image-manifest-media-type") != cfg["manifest"]["mediaType"]:
        fail("An error occurred (InvalidParameterException): not the pushed manifest", 254)
    aws_answer({"image": {"imageId": {"imageDigest": manifest_digest(), "imageTag": cfg["tag"]}}})
elif name == "aws" and args[:2] == ["ecr", "get-download-url-for-layer"]:
    digest = option("--layer-digest")
    url = f"https://prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com/{digest}/blob?X-Amz-Signature=f00d"
    aws_answer({"downloadUrl": url, "layerDigest": digest})
elif name == "aws" and args[:2] == ["ecr", "batch-delete-image"]:
    ecr_image("--image-ids", cfg["candidate"])
    failure = cfg["candidate_delete_failure"]
    if failure:  # ECR reports a per-image failure with exit code 0
        tag = {"imageTag": cfg["candidate"]}
        aws_answer({"imageIds": [], "failures": [{"imageId": tag, "failureCode": failure, "failureReason": failure}]})
    else:
        aws_answer({"imageIds": [{"imageTag": cfg["candidate"], "imageDigest": manifest_digest()}], "failures": []})
elif name == "curl":
    from urllib.parse import urlparse

    blob = cfg["blobs"].get(urlparse(args[-1]).path.split("/")[1])
    if blob is None:
        fail("curl: (22) The requested URL returned error: 404", 22)
    sys.stdout.write(blob)
else:
    fail(f"fake {name}: unexpected call {args}", 2)
'''


def image_config(architecture: str) -> str:
    """An image config blob as the registry stores it."""
    return json.dumps(
        {
            "architecture": architecture,
            "os": "linux",
            "config": {"Entrypoint": ["/lambda-entrypoint.sh"], "Cmd": ["app.handler"], "WorkingDir": "/var/task"},
            "created": "2025-01-01T00:00:00Z",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(b"layer").hexdigest()]},
        }
    )


def digest_of(blob: str) -> str:
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def image_manifest(config: str, media_type: str = DOCKER_MANIFEST) -> dict[str, Any]:
    """One image's manifest (Docker v2 or OCI) pointing at `config`."""
    config_type, layer_type = BLOB_TYPES[media_type]
    layer = "sha256:" + hashlib.sha256(b"layer.tar.gz").hexdigest()
    return {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": config_type, "size": len(config), "digest": digest_of(config)},
        "layers": [{"mediaType": layer_type, "size": 3623807, "digest": layer}],
    }


def image_index(config: str, media_type: str = OCI_INDEX) -> dict[str, Any]:
    """What buildx pushes with attestations on: the image plus an unknown/unknown attestation manifest."""
    image = digest_of(json.dumps(image_manifest(config, OCI_MANIFEST)))
    return {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": image,
                "size": 1051,
                "platform": {"architecture": "arm64", "os": "linux"},
            },
            {
                "mediaType": OCI_MANIFEST,
                "digest": "sha256:" + hashlib.sha256(b"attestation").hexdigest(),
                "size": 839,
                "annotations": {
                    "vnd.docker.reference.digest": image,
                    "vnd.docker.reference.type": "attestation-manifest",
                },
                "platform": {"architecture": "unknown", "os": "unknown"},
            },
        ],
    }


@dataclass
class Fakes:
    """What the fake host, Docker and ECR answer; tests change fields before `run_buildspec`."""

    home: Path
    machine: str = "aarch64"
    built_platform: str = "linux/arm64"
    pushed_config: str = field(default_factory=lambda: image_config("arm64"))
    manifest: dict[str, Any] | None = None  # default: a Docker v2 manifest of `pushed_config`
    binfmt_handlers: dict[str, str] = field(default_factory=dict)  # file name -> content
    binfmt_mounted: bool = True  # False: binfmt_misc has no status file until `mount` succeeds
    mount_ok: bool = True
    tag_exists: bool = False  # another build already gave the checked tag to its image
    candidate_delete_failure: str | None = None  # the failureCode ECR reports for deleting the candidate tag
    # The built image's layers, as `docker image save` writes them (path -> content, see image_support).
    saved_layers: list[dict[str, Entry]] = field(
        default_factory=lambda: [{"usr/bin/python3.13": elf(AARCH64), "var/task/app.py": b"def handler(): ...\n"}]
    )

    @property
    def bin(self) -> Path:
        return self.home / "bin"

    @property
    def binfmt(self) -> Path:
        return self.home / "binfmt_misc"

    def write(self) -> None:
        self.binfmt.mkdir(exist_ok=True)
        handlers = {**({"register": "", "status": "enabled\n"} if self.binfmt_mounted else {}), **self.binfmt_handlers}
        for name, content in handlers.items():
            (self.binfmt / name).write_text(content)
        manifest = self.manifest or image_manifest(self.pushed_config)
        config = {
            "machine": self.machine,
            "built_platform": self.built_platform,
            "token": "ecr-token-0123",
            "registry": URI.partition("/")[0],
            "repository": URI.partition("/")[2],
            "tag": TAG,
            "candidate": CANDIDATE,
            "manifest": manifest,
            "manifest_text": json.dumps(manifest, indent=3),  # ECR keeps a manifest's exact bytes
            "blobs": {digest_of(self.pushed_config): self.pushed_config},
            "mount_ok": self.mount_ok,
            "tag_exists": self.tag_exists,
            "candidate_delete_failure": self.candidate_delete_failure,
            "saved_image": str(docker_save(self.saved_layers, self.home / "saved-image.tar")),
        }
        (self.home / "fakes.json").write_text(json.dumps(config))


@pytest.fixture
def fakes(tmp_path: Path) -> Fakes:
    """Writes the fake uname, docker, aws and curl into tmp_path/bin; python3, grep and bash stay the real ones."""
    fakes = Fakes(home=tmp_path)
    fakes.bin.mkdir()
    program = fakes.bin / "fake.py"
    # -I -S: only the standard library, so Python starts without reading site-packages (each call is a new process).
    program.write_text(f"#!{sys.executable} -IS\n{FAKE}")
    program.chmod(0o755)
    for name in ("uname", "docker", "aws", "curl", "mount"):
        (fakes.bin / name).symlink_to(program)
    path = f"{fakes.bin}{os.pathsep}{os.environ['PATH']}"
    for real in ("bash", "python3", "grep"):
        assert Path(shutil.which(real, path=path) or "").parent != fakes.bin, real
    return fakes


@dataclass
class BuildResult:
    phases: dict[str, str]  # phase -> SUCCEEDED, FAILED or SKIPPED
    output: dict[str, str]  # phase -> its commands' stdout and stderr
    calls: list[dict[str, Any]]  # {"cmd": ..., "args": [...]} per fake call, in order
    exported: dict[str, str]  # env.exported-variables set at the end
    build_succeeding: str  # CODEBUILD_BUILD_SUCCEEDING as post_build saw it

    def calls_to(self, *prefix: str) -> list[list[str]]:
        """The argv of every call starting with `prefix` (command name first)."""
        n = len(prefix) - 1
        return [c["args"] for c in self.calls if c["cmd"] == prefix[0] and c["args"][:n] == list(prefix[1:])]


def run_buildspec(fakes: Fakes, **variables: str) -> BuildResult:
    """Run pre_build, build and post_build as CodeBuild does: a failed command ends its phase and skips the
    later phases except post_build, which learns the outcome from CODEBUILD_BUILD_SUCCEEDING."""
    fakes.write()
    spec = build_spec()
    assert spec["version"] == 0.2 and spec["env"]["shell"] == "bash"
    source = fakes.home / "src"
    source.mkdir(exist_ok=True)
    state = fakes.home / "state.sh"
    state.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CODEBUILD_", "IMAGE_", "BASH_FUNC_"))}
    env |= {
        "PATH": f"{fakes.bin}{os.pathsep}{env['PATH']}",
        "FAKES_HOME": str(fakes.home),
        "IMAGE_REPOSITORY_URI": URI,
        "IMAGE_REPOSITORY_NAME": URI.partition("/")[2],
        "IMAGE_TAG": TAG,
        "CODEBUILD_BUILD_ID": BUILD_ID,
        "DOCKERFILE": DOCKERFILE,
        "PLATFORM": "linux/arm64",
        "BUILD_ARGS": "",
        **variables,
    }
    phases: dict[str, str] = {}
    output: dict[str, str] = {}
    succeeding = "1"
    for phase in PHASES:
        if succeeding == "0" and phase != "post_build":
            phases[phase] = "SKIPPED"
            continue
        phases[phase], output[phase] = "SUCCEEDED", ""
        for command in spec["phases"][phase]["commands"]:
            # The only text the harness changes: binfmt_misc points at a folder the test controls.
            command = command.replace(BINFMT, str(fakes.binfmt))
            script = (
                f'{SAVE_STATE}__STATE={shlex.quote(str(state))}\nsource "$__STATE"\n'
                f"export CODEBUILD_BUILD_SUCCEEDING={succeeding}\ntrap __save_state EXIT\n{command}\n"
            )
            done = subprocess.run(
                ["bash", "-c", script],
                cwd=source,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=60,
            )
            output[phase] += done.stdout
            if done.returncode != 0:
                phases[phase] = "FAILED"
                break
        if phases[phase] == "FAILED" and phase != "post_build":
            succeeding = "0"
    names = spec["env"]["exported-variables"]
    show = 'source "$0"; for v; do [[ -v $v ]] && printf "%s=%s\\0" "$v" "${!v}"; done; true'
    listed = subprocess.run(["bash", "-c", show, state, *names], env=env, capture_output=True, text=True, check=True)
    exported = dict(item.split("=", 1) for item in listed.stdout.split("\0") if item)
    calls_log = fakes.home / "calls.jsonl"
    calls = [json.loads(line) for line in calls_log.read_text().splitlines()] if calls_log.exists() else []
    return BuildResult(phases, output, calls, exported, build_succeeding=succeeding)


def assert_rejected(result: BuildResult) -> None:
    """The candidate is deleted and the real tag never given: no later deploy can take it for a checked image."""
    assert result.calls_to("aws", "ecr", "batch-delete-image") == [
        [
            "ecr",
            "batch-delete-image",
            "--repository-name",
            URI.partition("/")[2],
            "--image-ids",
            f"imageTag={CANDIDATE}",
        ]
    ]
    assert result.calls_to("aws", "ecr", "put-image") == []
    assert DIGEST_VARIABLE not in result.exported


def assert_nothing_built_or_pushed(result: BuildResult) -> None:
    assert result.calls_to("docker", "buildx", "build") == []
    assert result.calls_to("docker", "push") == []
    assert DIGEST_VARIABLE not in result.exported


@pytest.mark.parametrize("media_type", [DOCKER_MANIFEST, OCI_MANIFEST])
def test_native_arm64_build_is_checked_pushed_and_reports_the_pushed_digest(fakes: Fakes, media_type: str) -> None:
    fakes.manifest = image_manifest(fakes.pushed_config, media_type)
    result = run_buildspec(fakes, BUILD_ARGS="PYTHON_VERSION=3.12\nGREETING=hello world\n")

    assert result.phases == {"pre_build": "SUCCEEDED", "build": "SUCCEEDED", "post_build": "SUCCEEDED"}, result.output
    registry = URI.partition("/")[0]
    assert result.calls_to("docker", "login") == [["login", "--username", "AWS", "--password-stdin", registry]]
    [build] = result.calls_to("docker", "buildx", "build")
    assert build[build.index("--platform") + 1] == "linux/arm64"
    assert {"--provenance=false", "--sbom=false", "--load"} <= set(build)
    assert build[build.index("-f") + 1] == DOCKERFILE
    assert build[build.index("-t") + 1] == BUILT
    build_args = [build[i + 1] for i, arg in enumerate(build) if arg == "--build-arg"]
    assert build_args == ["PYTHON_VERSION=3.12", "GREETING=hello world"]
    # Pushed under a candidate tag, checked, and only then given the real tag, with the checked manifest.
    assert result.calls_to("docker", "push") == [["push", BUILT]]
    [put] = result.calls_to("aws", "ecr", "put-image")
    assert put[put.index("--image-tag") + 1] == TAG
    [delete] = result.calls_to("aws", "ecr", "batch-delete-image")
    assert delete[delete.index("--image-ids") + 1] == f"imageTag={CANDIDATE}"
    calls = [" ".join([c["cmd"], *c["args"]]) for c in result.calls]
    steps = [
        "docker buildx build",
        "docker image inspect",
        "docker image save -o",
        f"docker push {BUILT}",
        "aws ecr batch-get-image",
        "curl -fsSL",
        "aws ecr put-image",
        "aws ecr batch-delete-image",
    ]
    assert sorted(steps, key=lambda step: next(i for i, call in enumerate(calls) if call.startswith(step))) == steps
    digest = "sha256:" + hashlib.sha256(json.dumps(fakes.manifest, indent=3).encode()).hexdigest()
    assert result.exported[DIGEST_VARIABLE] == digest
    assert f"pushed {IMAGE} ({digest}, linux/arm64)" in result.output["post_build"]


def test_an_x86_host_is_refused_before_anything_is_built(fakes: Fakes) -> None:
    fakes.machine = "x86_64"
    result = run_buildspec(fakes)

    assert result.phases["pre_build"] == "FAILED"
    assert result.phases["build"] == "SKIPPED"
    assert "not aarch64" in result.output["pre_build"]
    assert_nothing_built_or_pushed(result)


@pytest.mark.parametrize(
    ("handler", "content"),
    [
        pytest.param("qemu-x86_64", "enabled\ninterpreter /usr/libexec/x86_64\nflags: F\n", id="named-qemu"),
        pytest.param("x86_64", "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: OCF\n", id="runs-qemu"),
        pytest.param("FEX-x86_64", "enabled\ninterpreter /usr/bin/FEXInterpreter\nflags: POCF\n", id="fex"),
        pytest.param("x86", "enabled\ninterpreter /usr/local/bin/box64\nflags: \n", id="box64"),
    ],
)
def test_a_registered_emulator_handler_is_refused_by_name(fakes: Fakes, handler: str, content: str) -> None:
    fakes.binfmt_handlers = {handler: content}
    result = run_buildspec(fakes)

    assert result.phases["pre_build"] == "FAILED"
    assert f"emulator binfmt handler {handler} is registered" in result.output["pre_build"]
    assert_nothing_built_or_pushed(result)


def test_a_handler_that_is_not_qemu_does_not_block_the_build(fakes: Fakes) -> None:
    fakes.binfmt_handlers = {
        "python3.11": "enabled\ninterpreter /usr/bin/python3.11\nflags: \noffset 0\nmagic a70d0d0a\n"
    }
    result = run_buildspec(fakes)

    assert result.phases == {"pre_build": "SUCCEEDED", "build": "SUCCEEDED", "post_build": "SUCCEEDED"}, result.output
    assert len(result.calls_to("docker", "push")) == 1


def test_an_amd64_image_is_never_pushed(fakes: Fakes) -> None:
    fakes.built_platform = "linux/amd64"
    result = run_buildspec(fakes)

    assert result.phases["build"] == "FAILED"
    assert "refusing to push: image is linux/amd64" in result.output["build"]
    assert result.build_succeeding == "0"
    assert result.phases["post_build"] == "FAILED"
    assert "build failed: nothing pushed" in result.output["post_build"]
    assert result.calls_to("docker", "push") == []
    assert DIGEST_VARIABLE not in result.exported


@pytest.mark.parametrize("media_type", [OCI_INDEX, DOCKER_LIST])
def test_a_pushed_image_index_fails_the_build(fakes: Fakes, media_type: str) -> None:
    fakes.manifest = image_index(fakes.pushed_config, media_type)
    result = run_buildspec(fakes)

    assert result.phases["post_build"] == "FAILED"
    assert f"pushed manifest is '{media_type}', not a single image" in result.output["post_build"]
    assert_rejected(result)


def test_a_pushed_config_for_amd64_fails_the_build(fakes: Fakes) -> None:
    fakes.pushed_config = image_config("amd64")
    result = run_buildspec(fakes)

    assert result.phases["build"] == "SUCCEEDED"
    assert result.phases["post_build"] == "FAILED"
    assert "pushed image config says linux/amd64, not linux/arm64" in result.output["post_build"]
    assert_rejected(result)


def test_no_build_args_means_no_build_arg_flags(fakes: Fakes) -> None:
    result = run_buildspec(fakes, BUILD_ARGS="")

    assert result.phases["build"] == "SUCCEEDED", result.output
    [build] = result.calls_to("docker", "buildx", "build")
    assert "--build-arg" not in build
    assert build[-3:] == ["-t", BUILT, "."]


def test_a_tag_another_build_already_gave_fails_this_build_and_deletes_its_candidate(fakes: Fakes) -> None:
    fakes.tag_exists = True
    result = run_buildspec(fakes)

    assert result.phases["post_build"] == "FAILED"
    assert f"cannot tag the checked image {TAG}; deleting {CANDIDATE}" in result.output["post_build"]
    assert len(result.calls_to("aws", "ecr", "batch-delete-image")) == 1
    assert DIGEST_VARIABLE not in result.exported


@pytest.mark.parametrize("failure", ["KmsError", "UpstreamTooManyRequests"])
def test_a_candidate_tag_that_cannot_be_removed_fails_the_build_without_a_digest(fakes: Fakes, failure: str) -> None:
    """batch-delete-image exits 0 and reports the failure: the build must read it, not report a tagged image."""
    fakes.candidate_delete_failure = failure
    result = run_buildspec(fakes)

    assert result.phases["post_build"] == "FAILED"
    assert f"cannot remove {CANDIDATE} from the checked image {TAG} ({failure})" in result.output["post_build"]
    assert DIGEST_VARIABLE not in result.exported
    # The content tag stays: the deploy-time handler finds it and removes the stray candidate tag.
    assert len(result.calls_to("aws", "ecr", "batch-delete-image")) == 1
    assert CANDIDATE.startswith(CANDIDATE_TAG_PREFIX)  # the prefix the lifecycle rule selects


def test_a_candidate_tag_a_deploy_already_removed_is_no_failure(fakes: Fakes) -> None:
    fakes.candidate_delete_failure = "ImageNotFound"
    result = run_buildspec(fakes)

    assert result.phases["post_build"] == "SUCCEEDED", result.output
    assert result.exported[DIGEST_VARIABLE].startswith("sha256:")


def test_binfmt_misc_is_mounted_to_look_for_emulators_when_the_container_has_not(fakes: Fakes) -> None:
    fakes.binfmt_mounted = False
    fakes.binfmt_handlers = {"qemu-x86_64": "enabled\ninterpreter /usr/bin/qemu-x86_64\n"}
    result = run_buildspec(fakes)

    assert result.calls_to("mount") == [["-t", "binfmt_misc", "binfmt_misc", str(fakes.binfmt)]]
    assert "emulator binfmt handler qemu-x86_64 is registered" in result.output["pre_build"]
    assert_nothing_built_or_pushed(result)


def test_a_build_that_cannot_check_for_emulators_is_refused(fakes: Fakes) -> None:
    fakes.binfmt_mounted, fakes.mount_ok = False, False
    result = run_buildspec(fakes)

    assert result.phases["pre_build"] == "FAILED"
    assert "cannot read binfmt_misc to check for emulators" in result.output["pre_build"]
    assert_nothing_built_or_pushed(result)


def test_an_update_takes_the_layer_cache_of_the_image_the_environment_runs_now(fakes: Fakes) -> None:
    previous = hashlib.sha256(b"api context, one change ago").hexdigest()
    result = run_buildspec(fakes, PREVIOUS_IMAGE_TAG=previous)

    assert result.phases["build"] == "SUCCEEDED", result.output
    [build] = result.calls_to("docker", "buildx", "build")
    assert [build[i + 1] for i, arg in enumerate(build) if arg == "--cache-from"] == [
        f"type=registry,ref={URI}:{previous}"
    ]
    # The new image carries inline cache metadata in turn, for the build after it.
    assert build[build.index("--cache-to") + 1] == "type=inline"


def test_a_first_build_has_no_cache_source_but_exports_its_inline_cache(fakes: Fakes) -> None:
    result = run_buildspec(fakes)

    assert result.phases["build"] == "SUCCEEDED", result.output
    [build] = result.calls_to("docker", "buildx", "build")
    assert "--cache-from" not in build
    assert build[build.index("--cache-to") + 1] == "type=inline"


def test_an_image_holding_x86_code_under_its_arm64_label_is_never_pushed(fakes: Fakes) -> None:
    fakes.saved_layers.append({"usr/local/bin/": None, "usr/local/bin/kubectl": elf(X86_64)})
    result = run_buildspec(fakes)

    assert result.phases["build"] == "FAILED"
    [save] = result.calls_to("docker", "image", "save")
    assert save[-1] == BUILT
    assert "refusing to push: 1 ELF file(s) in the image are not aarch64 code:" in result.output["build"]
    assert "  /usr/local/bin/kubectl (x86-64)" in result.output["build"]
    assert "build failed: nothing pushed" in result.output["post_build"]
    assert result.calls_to("docker", "push") == []
    assert DIGEST_VARIABLE not in result.exported


def test_the_scanner_the_build_writes_runs_on_the_standard_library_alone(tmp_path: Path) -> None:
    """The build's first command writes the scanner's modules; they alone (no site-packages, no checkout) scan."""
    home = tmp_path / "scan"
    home.mkdir()
    write = build_spec()["phases"]["build"]["commands"][0].replace('"$(mktemp -d)"', shlex.quote(str(home)))
    subprocess.run(["bash", "-c", write], check=True, cwd=tmp_path)
    image = docker_save([{"opt/x86": elf(X86_64)}], tmp_path / "image.tar")
    done = subprocess.run(
        [sys.executable, "-S", str(home / "graviton/image_build/layer_scan.py"), str(image)],
        env={"PYTHONPATH": str(home)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stderr
    assert "  /opt/x86 (x86-64)" in done.stdout
