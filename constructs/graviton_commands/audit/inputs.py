"""What `audit` reads: each PATH as stacks, each stack marked raw CloudFormation or part of a cloud assembly."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from graviton.guardrails.assembly import StackContent, load_template, read_assembly, resources_of, with_code_assets
from graviton_commands.cli import failure

TEMPLATE_SUFFIXES = (".json", ".yaml", ".yml", ".template")
# Folders a search never enters: dependencies and tool state hold thousands of JSON files, none a template of ours.
SKIPPED_FOLDERS = ("node_modules", "__pycache__")


@dataclass
class Input:
    """One stack to audit; `raw` when it is hand-written CloudFormation, whose fixes are properties to set."""

    stack: StackContent
    raw: bool


def reason(err: Exception) -> str:
    """Why a file could not be read, on one line (YAML's own messages span several)."""
    if isinstance(err, json.JSONDecodeError):
        return f"{err.msg} at line {err.lineno}"
    mark = getattr(err, "problem_mark", None)
    if isinstance(err, yaml.YAMLError) and mark is not None:
        return f"{getattr(err, 'problem', None) or 'invalid YAML'} at line {mark.line + 1}"
    if isinstance(err, OSError):
        return f"{err.filename}: {err.strerror}" if err.filename else str(err.strerror)
    return failure(err)


def template_stack(path: Path) -> StackContent:
    """A hand-written template as a stack named after its file; a ValueError says why it is not one."""
    try:
        template = load_template(path)
    except (OSError, ValueError, yaml.YAMLError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ValueError(f"{path} is not a readable JSON or YAML template ({reason(err)})") from None
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise ValueError(f"{path} has no Resources section; is it a CloudFormation template?")
    # a SAM template before `sam package` names its code folders relative to itself
    return StackContent(path.name, path, with_code_assets(resources_of(template), {}, path.parent))


def assembly_stacks(folder: Path) -> list[Input]:
    """Every stack of a cloud assembly; a broken manifest or a missing template is a ValueError naming it."""
    try:
        return [Input(stack, raw=False) for stack in read_assembly(folder)]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as err:
        raise ValueError(f"{folder} is not a readable cloud assembly (cdk.out): {reason(err)}") from None


def is_assembly(folder: Path) -> bool:
    """A folder CDK synthesized: its manifest.json lists artifacts (other tools write manifest.json files too)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "artifacts" in manifest


def templates_in(folder: Path) -> list[Input]:
    """Every template under `folder`, and every cloud assembly met on the way read as one (so a repository's
    cdk.out keeps CDK's fixes). Files that are not templates are not ours and are passed over."""
    found: list[Input] = []
    for current, folders, files in os.walk(folder):
        here = Path(current)
        if here != folder and is_assembly(here):
            found += assembly_stacks(here)
            folders.clear()
            continue
        folders[:] = sorted(f for f in folders if not f.startswith(".") and f not in SKIPPED_FOLDERS)
        for name in sorted(files):
            if name.endswith(TEMPLATE_SUFFIXES):
                try:
                    found.append(Input(template_stack(here / name), raw=True))
                except ValueError:
                    continue
    if not found:
        raise ValueError(f"{folder} holds no CloudFormation template and no manifest.json (cdk.out)")
    return found


def stacks_at(path: Path) -> list[Input]:
    """The stacks at one PATH: a template, a cloud assembly (a folder with manifest.json), or a folder searched
    for both. A ValueError names the PATH and what is allowed."""
    try:
        if path.is_dir():
            return assembly_stacks(path) if (path / "manifest.json").is_file() else templates_in(path)
        if path.is_file():
            return [Input(template_stack(path), raw=True)]
        what = "does not exist" if not path.exists() else "is not a file or a folder"
    except OSError as err:  # a name the file system cannot look up (too long)
        what = f"cannot be read ({err.strerror})"
    raise ValueError(f"{path} {what}; give a template, a cdk.out folder or a folder of templates")


def distinct(inputs: list[Input]) -> list[Input]:
    """Each template once (a file given alone and found again in a folder is one stack), and stacks whose names
    clash (two template.yaml files, two cdk.out with the same stack) renamed to their template's path, so
    reports keep them apart."""
    seen: set[Path] = set()
    kept = []
    for item in inputs:
        if item.stack.template_path.resolve() not in seen:
            seen.add(item.stack.template_path.resolve())
            kept.append(item)
    counts: dict[str, int] = {}
    for item in kept:
        counts[item.stack.name] = counts.get(item.stack.name, 0) + 1
    for item in kept:
        if counts[item.stack.name] > 1:
            item.stack.name = item.stack.template_path.as_posix()
    return kept
