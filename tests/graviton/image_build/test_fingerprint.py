"""graviton.image_build.fingerprint against the real aws-cdk-lib: same tags, same ignored paths, same context.

Every assertion compares the port with aws-cdk-lib on this machine, never with a value written down here, so the
tests keep checking the pinned JavaScript rather than what someone believed it does.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import CopyOptions, DockerIgnoreStrategy, FileSystem, IgnoreMode
from hypothesis import HealthCheck, configuration, example, given, settings
from hypothesis import strategies as st
from support import ROOT, repo_context

from graviton.image_build import fingerprint as port
from graviton.image_build.source import dockerignore_patterns

REPO = ROOT
CHUNK = 8 * 1024  # fingerprint.js reads files in 8 KiB chunks

# Each aws_cdk call is a round trip to the Node process; these keep the file to a few seconds.
SETTINGS = settings(
    deadline=None,
    database=None,  # no .hypothesis/ folder in the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MATCHER_EXAMPLES = 120
TREE_EXAMPLES = 60
# Even without a database Hypothesis caches constants and Unicode tables under ./.hypothesis, and its pytest plugin
# does so right after collection, so point it elsewhere now, unless the caller already chose a place.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    configuration.set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "graviton-hypothesis")


# --- outcomes: a value, or the kind of failure -------------------------------------------------------------------


def failure_kind(message: str) -> str:
    if "Invalid regular expression" in message:
        return "bad pattern"
    if "neither a file nor a directory" in message:
        return "unsupported entry"
    if "ENOENT" in message:
        return "not found"
    return message  # anything else cannot equal a port outcome, so it fails the comparison


def cdk(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except RuntimeError as error:  # jsii raises every JavaScript exception as RuntimeError
        return "error", failure_kind(str(error))


def ported(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except port.PatternError:
        return "error", "bad pattern"
    except port.UnsupportedEntryError:
        return "error", "unsupported entry"
    except FileNotFoundError:
        return "error", "not found"


def cdk_fingerprint(directory: Path, patterns: list[str]) -> tuple[str, Any]:
    return cdk(lambda: FileSystem.fingerprint(str(directory), exclude=patterns, ignore_mode=IgnoreMode.DOCKER))


def cdk_context(directory: Path, patterns: list[str]) -> tuple[str, Any]:
    """The regular files CDK's `FileSystem.copyDirectory` copies: same walk and ignore strategy as the fingerprint."""
    with tempfile.TemporaryDirectory() as dest:
        options = CopyOptions(exclude=patterns, ignore_mode=IgnoreMode.DOCKER)  # a dict would reach JS unconverted
        outcome = cdk(lambda: FileSystem.copy_directory(str(directory), dest, options))
        if outcome[0] == "error":
            return outcome
        copied = []
        for folder, _, files in os.walk(dest):
            for name in files:
                path = Path(folder, name)
                if stat.S_ISREG(path.lstat().st_mode):
                    copied.append(path.relative_to(dest).as_posix())
        return "ok", sorted(copied)


def ported_context(directory: Path, patterns: list[str]) -> tuple[str, Any]:
    return ported(
        lambda: sorted(
            path.relative_to(directory).as_posix() for path in port.context_files(directory, exclude=patterns)
        )
    )


def assert_matcher_agrees(
    root: str, patterns: list[str], paths: list[str], directories: list[str] | None = None
) -> None:
    """`ignores` for every path, `completely_ignores` for the directories (all paths when not given)."""
    strategy = DockerIgnoreStrategy(root, patterns)
    ours = port.DockerIgnore(root, patterns)
    for path in paths:
        assert ported(partial(ours.ignores, path)) == cdk(partial(strategy.ignores, path)), (root, patterns, path)
    for path in paths if directories is None else directories:
        assert ported(partial(ours.completely_ignores, path)) == cdk(partial(strategy.completely_ignores, path)), (
            root,
            patterns,
            path,
        )


# --- generated names, patterns and trees -------------------------------------------------------------------------

NAMES = [
    "a",
    "A",
    "b",
    "src",
    "Src",
    "tests",
    "__pycache__",
    "x.pyc",
    "Main.PY",
    "my file.txt",
    "a-b",
    "a.b.c",
    ".hidden",
    "..dots",
    "node_modules",
    "Dockerfile",
    "-",
    "[x]",
    "*",
    "?",
    "!x",
    "#c",
    "back\\slash",
    # Names inherited from Object.prototype, which dockerignore never ignores at the top level.
    "constructor",
    "toString",
    "__proto__",
    # Case folding as V8 does it: case-insensitive, but LONG S and KELVIN SIGN do not fold into ASCII.
    "é",
    "É",
    "ß",
    "SS",
    "\u017f",
    "s",
    "S",
    "\u212a",
    "K",
    "k",
    # UTF-16 order (JavaScript's sort) differs from code-point order for astral characters.
    "😀",
    "\uff5e",
    "\ue000",
]
name = st.one_of(
    st.sampled_from(NAMES),
    st.text(st.sampled_from("abAB.- _é~"), min_size=1, max_size=6).filter(lambda n: n not in (".", "..")),
)
SEGMENT_WILDCARDS = [
    "*",
    "**",
    "?",
    "*.pyc",
    "*.PY",
    "[a-c]",
    "[!a]",
    "[^a]",
    "[A-Z]*",
    "?*",
    "a*",
    "*a",
    "\\*",
    "x?pyc",
    "[é]",
    "[[]",
    "(a|b)",
    "a+",
    "s{1,2}",
    "[\u017f]",
    "[k]",
    "[\u212a]",
    "\\w+",
    "\\d",
]
segment = st.one_of(st.sampled_from(NAMES), st.sampled_from(SEGMENT_WILDCARDS))
PREFIXES = ["", "", "", "!", "/", "!/", "/!", "../", "./", "!../", "**/", "a/../"]
SUFFIXES = ["", "", "", "/", "/**", "/*", "/."]
# Regex syntax that dockerignore copies into its regex unchanged, some of which V8 rejects.
REGEXISH = ["(a|b)", "a+", "x{1,2}", "(", "[", "a{2,1}", "+a", "\\", "src\\", "[z-a]", "\\d", "a|b", "^a", "{", "a)"]


def clean(pattern: str) -> bool:
    """Patterns reach CDK stripped, without blank lines and comments (see dockerignore_patterns)."""
    return bool(pattern) and pattern.strip() == pattern and not pattern.startswith("#")


glob_pattern = st.builds(
    lambda prefix, parts, suffix: prefix + "/".join(parts) + suffix,
    st.sampled_from(PREFIXES),
    st.lists(segment, min_size=1, max_size=3),
    st.sampled_from(SUFFIXES),
).filter(clean)
any_pattern = st.one_of(glob_pattern, glob_pattern, glob_pattern, st.sampled_from(REGEXISH))


def boundary(pad: int, middle: bytes, tail: bytes) -> bytes:
    """Content whose `middle` straddles the first 8 KiB chunk boundary."""
    return b"x" * (CHUNK - pad) + middle + tail


FIXED_CONTENTS = [
    b"",
    b"line one\r\nline two\r\n",
    b"lone trailing cr\r",
    b"mixed\r\n\n\r\r\n",
    b"\x00binary\r\n",
    "café €\r\n".encode(),
    b"latin-1 caf\xe9\r\n",  # not UTF-8: CDK hashes U+FFFD in its place
    b"x" * (CHUNK - 1) + b"\r\n" + b"after the boundary\r\n",
    b"x" * (CHUNK - 1) + b"\r" + b"\x00 binary second chunk\r\n",  # CR-ended first chunk, NUL in the next
    b"x" * (CHUNK - 1) + b"\r" + b"y" * (CHUNK - 1) + b"\r",  # CR-ended chunks up to the end of the file
    b"y" * (CHUNK - 1) + "é".encode(),  # a character split by the boundary
    b"text first\r\n" * 1000 + b"\x00",  # NUL after the first chunk: still text
]
contents = st.one_of(
    st.sampled_from(FIXED_CONTENTS),
    st.binary(max_size=48),
    st.lists(st.sampled_from([b"ab", b"\r\n", b"\r", b"\n", b" ", "é".encode(), b"\xff", b"\x00"]), max_size=12).map(
        b"".join
    ),
    st.builds(
        boundary,
        st.integers(0, 4),
        st.sampled_from([b"\r\n", b"\r", b"\r\r\n", b"\x00", "€".encode()]),
        st.binary(max_size=8),
    ),
)


@dataclass(frozen=True)
class Link:
    """A symlink; `pick` chooses the target among the entries created before the links."""

    kind: str
    pick: int = 0


LINK_KINDS = [
    "relative",
    "absolute",
    "outside-file",
    "outside-dir",
    "outside-relative",
    "dangling",
    "parent",
    "self",
    "loop",
    "device",
]
links = st.builds(Link, st.sampled_from(LINK_KINDS), st.integers(0, 50))
trees = st.dictionaries(
    name,
    st.recursive(
        st.one_of(contents, contents, links), lambda children: st.dictionaries(name, children, max_size=3), max_leaves=8
    ),
    max_size=5,
)


@contextmanager
def materialized(tree: dict[str, Any]) -> Iterator[Path]:
    """The tree under a fresh real directory, next to an `outside/` tree its symlinks can leave the root for.

    A fresh directory per example also keeps CDK's fingerprint cache (keyed by directory, inode, mtime and size)
    from answering for a file an earlier example wrote.
    """
    base = Path(os.path.realpath(tempfile.mkdtemp(prefix="fingerprint-")))
    try:
        root, outside = base / "root", base / "outside"
        (outside / "dir" / "nested").mkdir(parents=True)
        (outside / "file.txt").write_bytes(b"outside\r\n")
        (outside / "dir" / "nested" / "x.pyc").write_bytes(b"compiled")
        (outside / "dir" / "back-into-root").symlink_to(root / "a")
        (outside / "dir" / "sibling").symlink_to("../file.txt")
        (outside / "loop-1").symlink_to(outside / "loop-2")
        (outside / "loop-2").symlink_to(outside / "loop-1")
        root.mkdir()
        created: list[Path] = []
        pending: list[tuple[Path, Link]] = []

        def build(folder: Path, entries: dict[str, Any]) -> None:
            for entry_name, node in entries.items():
                path = folder / entry_name
                if isinstance(node, dict):
                    path.mkdir()
                    created.append(path)
                    build(path, node)
                elif isinstance(node, Link):
                    pending.append((path, node))
                else:
                    path.write_bytes(node)
                    created.append(path)

        build(root, tree)
        for path, link in pending:
            target = created[link.pick % len(created)] if created else root
            path.symlink_to(
                {
                    "relative": os.path.relpath(target, path.parent),
                    "absolute": str(target),
                    "outside-file": str(outside / "file.txt"),
                    "outside-dir": str(outside / "dir"),
                    "outside-relative": os.path.relpath(outside / "dir", path.parent),
                    "dangling": "no-such-entry",
                    "parent": "..",
                    "self": ".",
                    "loop": str(outside / "loop-1"),
                    "device": "/dev/null",
                }[link.kind]
            )
        yield root
    finally:
        shutil.rmtree(base)


def every_path(root: Path) -> tuple[list[str], list[str]]:
    """All paths in the tree (symlinks not followed), and the directories among them."""
    paths, directories = [str(root)], [str(root)]
    for folder, dirs, files in os.walk(root):
        paths.extend(str(Path(folder, entry)) for entry in sorted(dirs + files))
        directories.extend(str(Path(folder, entry)) for entry in sorted(dirs))
    return paths, directories


def assert_same_as_cdk(root: Path, patterns: list[str]) -> None:
    assert ported(lambda: port.fingerprint(root, exclude=patterns)) == cdk_fingerprint(root, patterns)
    ours = ported_context(root, patterns)
    if ours != ("error", "unsupported entry"):  # copyDirectory skips what the fingerprint refuses to hash
        assert ours == cdk_context(root, patterns)
    assert_matcher_agrees(str(root), patterns, *every_path(root))


# --- tests ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", repo_context()["services"], ids=lambda service: service["name"])
def test_service_folders_match_cdk(service):
    source_dir = REPO / "docker" / service["folder"]
    patterns = dockerignore_patterns(source_dir)
    assert patterns, f"docker/{service['folder']}/.dockerignore has patterns"
    assert port.fingerprint(source_dir, exclude=patterns) == FileSystem.fingerprint(
        str(source_dir), exclude=patterns, ignore_mode=IgnoreMode.DOCKER
    )
    root = source_dir.resolve()
    context = ported_context(root, patterns)
    assert context == cdk_context(root, patterns)
    assert service["dockerfile"] in context[1]
    assert_matcher_agrees(str(root), patterns, [str(path) for path in sorted(root.rglob("*"))])


@settings(SETTINGS, max_examples=MATCHER_EXAMPLES)
@given(
    root=st.sampled_from(["/ctx", "/ctx/service", "/"]),
    patterns=st.lists(any_pattern, max_size=5),
    relatives=st.lists(
        st.lists(st.one_of(name, st.sampled_from(["\r", "\u2028", "a\nb"])), min_size=1, max_size=4).map("/".join),
        min_size=1,
        max_size=6,
    ),
)
@example(root="/ctx", patterns=["*"], relatives=["constructor", "toString/x", "__proto__", "other"])
@example(root="/ctx", patterns=["README.MD", "[k]", "s"], relatives=["readme.md", "K", "k", "\u212a", "\u017f", "S"])
@example(root="/ctx", patterns=["dir", "!dir/keep/me"], relatives=["dir", "dir/keep", "dir/keep/me", "dir/other"])
@example(root="/ctx", patterns=["/!foo", "!", "!/", "/", "src\\"], relatives=["foo", "src$", "src", "x"])
@example(root="/ctx", patterns=["**", "!**/*.py", "a/**/b"], relatives=["a/b", "a/x/y/b", "m.py", "n/m.py", "a\r"])
@example(root="/ctx", patterns=["(a|b)+", "x{2}", "[z-a]"], relatives=["ab", "xx"])
def test_matcher_matches_cdk(root, patterns, relatives):
    inside = [f"{root.rstrip('/')}/{relative}" for relative in relatives]
    outside = [root, f"{root.rstrip('/')}/../{relatives[0]}", f"/elsewhere/{relatives[0]}"]
    assert_matcher_agrees(root, patterns, inside + outside)


@settings(SETTINGS, max_examples=TREE_EXAMPLES)
@given(tree=trees, patterns=st.lists(glob_pattern, max_size=4))
@example(
    tree={
        "trailing-cr.txt": b"ends in CR\r",
        "boundary.txt": FIXED_CONTENTS[7],
        "cr-then-nul.bin": FIXED_CONTENTS[8],
        "constructor": {"x.pyc": b"kept?"},
        "back\\slash": b"a key with a slash",
        "😀": b"astral",
        "\uff5e": b"after the astral name in UTF-16 order",
        "a": {"keep": {"me.txt": b"re-included"}, "drop.txt": b"ignored"},
        "out": Link("outside-dir"),
        "in": Link("absolute", 3),
        "gone": Link("dangling"),
    },
    patterns=["*", "!a/keep/me.txt", "!out", "!in", "!gone", "!*.txt", "!*.bin", "!back\\\\slash", "!😀", "!\uff5e"],
)
@example(
    tree={"x.pyc": b"", "src": {"m.py": b"print()\r\n", "__pycache__": {"m.pyc": b"\x00"}}},
    patterns=["**/*.pyc", "**/__pycache__"],
)
@example(tree={"null": Link("device"), "f": b"x"}, patterns=[])
@example(tree={"null": Link("device"), "f": b"x"}, patterns=["null"])
def test_fingerprint_and_context_match_cdk(tree, patterns):
    with materialized(tree) as root:
        assert_same_as_cdk(root, patterns)


def test_a_bad_pattern_fails_as_in_cdk(tmp_path):
    (tmp_path / "file").write_bytes(b"x")
    for patterns in (["("], ["ok", "a{2,1}"], ["[z-a]"]):
        assert ported(partial(port.fingerprint, tmp_path, exclude=patterns)) == cdk_fingerprint(tmp_path, patterns)
        assert cdk_fingerprint(tmp_path, patterns) == ("error", "bad pattern")


def test_a_name_that_is_not_utf8_fails_or_is_skipped_as_in_cdk(tmp_path):
    """Node decodes the name with U+FFFD and then cannot open it; a pattern can still leave it out."""
    root = Path(os.path.realpath(tmp_path))
    fd = os.open(os.path.join(os.fsencode(root), b"bad\xff.txt"), os.O_WRONLY | os.O_CREAT)
    os.close(fd)
    (root / "good.txt").write_bytes(b"x")
    for patterns in ([], ["bad*"], ["*.txt", "!good.txt"]):
        assert ported(partial(port.fingerprint, root, exclude=patterns)) == cdk_fingerprint(root, patterns)
        assert ported_context(root, patterns) == cdk_context(root, patterns)
    assert cdk_fingerprint(root, [])[0] == "error"


def test_a_single_file_fingerprints_as_in_cdk(tmp_path):
    for index, content in enumerate(FIXED_CONTENTS):
        file = tmp_path / f"file-{index}"
        file.write_bytes(content)
        assert port.fingerprint(file) == FileSystem.fingerprint(str(file), ignore_mode=IgnoreMode.DOCKER)


def test_relative_paths_are_refused_as_in_cdk():
    with pytest.raises(RuntimeError):
        DockerIgnoreStrategy("relative", [])
    with pytest.raises(ValueError):
        port.DockerIgnore("relative", [])
    with pytest.raises(RuntimeError):
        DockerIgnoreStrategy("/ctx", []).ignores("relative")
    with pytest.raises(ValueError):
        port.DockerIgnore("/ctx", []).ignores("relative")


def test_a_backreference_into_a_repeated_group_is_refused_rather_than_guessed():
    """V8 clears a repeated group's capture on each repetition; Python's re keeps it, so the port says it cannot."""
    pattern = "((a)|b\\2)+"
    assert DockerIgnoreStrategy("/ctx", [pattern]).ignores("/ctx/ab")
    with pytest.raises(NotImplementedError):
        port.DockerIgnore("/ctx", [pattern]).ignores("/ctx/ab")


def test_dot_needs_no_case_table():
    """The port's shortcut for the regex '.': only line terminators canonicalise to line terminators."""
    terminators = {ord(ch) for ch in "\n\r\u2028\u2029"}
    for unit in range(0x10000):
        assert (port._canonicalize(unit) in terminators) == (unit in terminators), hex(unit)
