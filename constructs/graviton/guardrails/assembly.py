"""Read what the guard checks from a cloud assembly or a template: final resources and image assets."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from graviton.constants import PLATFORM
from graviton.guardrails.rules import ImageAsset, Resource

PATH_METADATA = "aws:cdk:path"
REMEDIATED_METADATA = "graviton:remediated"
# On an ArmImageBuild project: {"assetHash", "dockerfile"} of the build context it ships as a file asset.
IMAGE_SOURCE_METADATA = "graviton:image-source"


@dataclass
class StackContent:
    name: str
    template_path: Path
    resources: list[Resource] = field(default_factory=list)
    assets: list[ImageAsset] = field(default_factory=list)
    # What tables show: the CloudFormation stack name, with the Stage for a Stage's stack (default: `name`).
    display_name: str = ""

    @property
    def shown_as(self) -> str:
        return self.display_name or self.name


@dataclass(frozen=True)
class AssemblyStack:
    """A stack artifact of a cloud assembly: its id (the displayName), template and the name tables show."""

    name: str
    template_path: Path
    display_name: str


def assembly_stacks(assembly_dir: Path) -> list[AssemblyStack]:
    """Every stack of a cloud assembly in the order the app added them: the assembly's own stacks first, then each
    nested Stage's (recursively), as `cdk.out/manifest.json` lists them.

    A stack shows as its CloudFormation name; a Stage's stack as `<stackName> (stage <Stage path>)`, or as
    `<stackName> (pipeline stage <Stage>)` when the Stage sits in a stack, as CDK Pipelines' stages sit in the
    pipeline's stack.
    """
    return _stacks_of(assembly_dir, frozenset())


def _stacks_of(assembly_dir: Path, enclosing_stacks: frozenset[str]) -> list[AssemblyStack]:
    artifacts: dict[str, Any] = json.loads((assembly_dir / "manifest.json").read_text()).get("artifacts", {})
    found, nested = [], []
    for artifact_id, artifact in artifacts.items():
        properties = artifact.get("properties", {})
        if artifact.get("type") == "aws:cloudformation:stack":
            name = artifact.get("displayName", artifact_id)
            shown = properties.get("stackName", artifact_id)  # CDK leaves it out when it is the artifact id
            stage, _, _ = name.rpartition("/")
            if stage:
                parent, _, stage_id = stage.rpartition("/")
                shown += f" (pipeline stage {stage_id})" if parent in enclosing_stacks else f" (stage {stage})"
            found.append(AssemblyStack(name, assembly_dir / properties["templateFile"], shown))
        elif artifact.get("type") == "cdk:cloud-assembly":
            nested.append(assembly_dir / properties["directoryName"])
    names = enclosing_stacks | {stack.name for stack in found}
    for folder in nested:
        found += _stacks_of(folder, names)
    return found


def load_template(path: Path) -> dict[str, Any]:
    """A CloudFormation template in JSON or YAML (short-form intrinsics such as !Ref become {"Ref": ...})."""
    text = path.read_text()
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.load(text, Loader=_CfnLoader) or {}


class _CfnLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    return {"Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


# SAM's Globals sections, by the resource type each applies to.
SAM_GLOBALS = {"Function": "AWS::Serverless::Function"}


def with_globals(globals_: Any, properties: Any) -> Any:
    """A resource's properties after SAM's Globals: maps merge, lists append (Globals first), a resource's scalar
    wins (the AWS SAM specification's rules)."""
    if isinstance(globals_, dict) and isinstance(properties, dict):
        merged = dict(globals_)
        for key, value in properties.items():
            merged[key] = with_globals(globals_[key], value) if key in globals_ else value
        return merged
    if isinstance(globals_, list) and isinstance(properties, list):
        return [*globals_, *properties]
    return properties


def construct_path(logical_id: str, body: Mapping[str, Any], paths: Mapping[str, str] | None = None) -> str:
    """A resource's construct path: its Metadata's, else the one `paths` gives by logical id, else empty."""
    return (body.get("Metadata") or {}).get(PATH_METADATA) or (paths or {}).get(logical_id, "")


def resources_of(template: dict[str, Any], paths: dict[str, str] | None = None) -> list[Resource]:
    """The template's resources, with SAM's Globals applied; `paths` gives construct paths (by logical id) where
    Metadata has none."""
    globals_ = template.get("Globals")
    sections: dict[str, Any] = globals_ if isinstance(globals_, dict) else {}
    by_type = {SAM_GLOBALS[name]: value for name, value in sections.items() if name in SAM_GLOBALS}
    return [
        Resource(
            logical_id=logical_id,
            type=body.get("Type", ""),
            properties=with_globals(by_type.get(body.get("Type", ""), {}), body.get("Properties") or {}),
            path=construct_path(logical_id, body, paths),
            remediated=(body.get("Metadata") or {}).get(REMEDIATED_METADATA, ""),
        )
        for logical_id, body in (template.get("Resources") or {}).items()
    ]


# Where a function or layer names the S3 object of its code (CDK writes the asset's object key there).
CODE_KEYS = {"AWS::Lambda::Function": ("Code", "S3Key"), "AWS::Lambda::LayerVersion": ("Content", "S3Key")}
# SAM's code property: an s3:// URI, {Bucket, Key}, or (before `sam package`) a local path.
SAM_CODE = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


def code_reference(resource: Resource) -> tuple[str, bool] | None:
    """(object key or local path, is it local) of the code a function or layer deploys, when written as text."""
    if resource.type in CODE_KEYS:
        section, key = CODE_KEYS[resource.type]
        value = (resource.properties.get(section) or {}).get(key)
        return (value, False) if isinstance(value, str) else None
    uri = resource.properties.get(SAM_CODE.get(resource.type, ""))
    if isinstance(uri, dict) and isinstance(uri.get("Key"), str):
        return uri["Key"], False
    if isinstance(uri, str):
        return (uri.split("/", 3)[-1], False) if uri.startswith("s3://") else (uri, True)
    return None


def with_code_assets(
    resources: list[Resource], files_by_key: Mapping[str, Path], base: Path | None = None
) -> list[Resource]:
    """Resources with the local files of the code they deploy: file assets by object key, and SAM's local paths
    relative to the template's folder (`base`)."""
    placed = []
    for resource in resources:
        reference = code_reference(resource)
        local = None
        if reference is not None:
            value, is_local = reference
            local = (base / value if base else None) if is_local else files_by_key.get(value)
        placed.append(replace(resource, code_assets=(str(local),)) if local and local.exists() else resource)
    return placed


def file_assets_by_key(manifest: Mapping, assembly_dir: Path) -> dict[str, Path]:
    """Object key -> the staged file or folder, for every file asset of a stack's asset manifest."""
    found = {}
    for entry in manifest.get("files", {}).values():
        source = entry.get("source", {}).get("path")
        if not source:
            continue
        for destination in entry.get("destinations", {}).values():
            if isinstance(destination.get("objectKey"), str):
                found[destination["objectKey"]] = assembly_dir / source
    return found


def image_build_sources(
    template: Mapping[str, Any], manifest: Mapping, assembly_dir: Path, paths: dict[str, str] | None = None
) -> list[ImageAsset]:
    """The Dockerfiles that ArmImageBuild projects build, read from their staged build contexts: checked like an
    image asset's, for the arm64 platform the build passes to `docker build`."""
    found = []
    for logical_id, body in (template.get("Resources") or {}).items():
        source = (body.get("Metadata") or {}).get(IMAGE_SOURCE_METADATA)
        if not isinstance(source, dict):
            continue
        entry = manifest.get("files", {}).get(source.get("assetHash")) or {}
        if not entry.get("source", {}).get("path"):
            continue
        name = source.get("dockerfile", "Dockerfile")
        dockerfile = assembly_dir / entry["source"]["path"] / name
        found.append(
            ImageAsset(
                asset_hash=source["assetHash"],
                platform=PLATFORM,
                dockerfile=dockerfile.read_text() if dockerfile.is_file() else None,
                path=construct_path(logical_id, body, paths),
                dockerfile_name=name,
            )
        )
    return found


def read_stack(template_path: Path, name: str | None = None, paths: dict[str, str] | None = None) -> StackContent:
    """A synthesized stack: its template, its nested stacks' templates and its Docker image assets.

    `paths` maps logical ids and asset hashes to construct paths, for templates without path metadata.
    """
    assembly_dir = template_path.parent
    stack = StackContent(name or template_path.name.removesuffix(".template.json"), template_path)
    templates = [load_template(template_path)]
    stack.resources = resources_of(templates[0], paths)
    manifest_path = assembly_dir / template_path.name.replace(".template.json", ".assets.json")
    if not manifest_path.is_file():
        return stack
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest.get("files", {}).values():
        nested = entry.get("source", {}).get("path", "")
        if nested.endswith(".nested.template.json") and (assembly_dir / nested).is_file():
            templates.append(load_template(assembly_dir / nested))
            stack.resources += resources_of(templates[-1], paths)
    stack.resources = with_code_assets(stack.resources, file_assets_by_key(manifest, assembly_dir))
    for template in templates:
        stack.assets += image_build_sources(template, manifest, assembly_dir, paths)
    for asset_hash, entry in manifest.get("dockerImages", {}).items():
        source = entry.get("source", {})
        directory = source.get("directory")
        dockerfile = (assembly_dir / directory / source.get("dockerFile", "Dockerfile")) if directory else None
        stack.assets.append(
            ImageAsset(
                asset_hash=asset_hash,
                platform=source.get("platform"),
                dockerfile=dockerfile.read_text() if dockerfile and dockerfile.is_file() else None,
                path=(paths or {}).get(asset_hash, ""),
            )
        )
    return stack


def read_assembly(assembly_dir: Path) -> Iterator[StackContent]:
    """Every stack of a cloud assembly (cdk.out), nested Stages included, in `assembly_stacks`' order."""
    for stack in assembly_stacks(assembly_dir):
        yield replace(read_stack(stack.template_path, stack.name), display_name=stack.display_name)
