"""CDK's Docker-mode asset fingerprint and .dockerignore matcher, in plain Python.

`source.py` tags images with `aws_cdk.FileSystem.fingerprint(..., ignore_mode=IgnoreMode.DOCKER)` and picks the
build context with `aws_cdk.DockerIgnoreStrategy`. Importing aws_cdk starts a Node process, which costs command-line
tools about a second, so this module computes the same values with the standard library alone.

The authority is the JavaScript shipped in the pinned aws-cdk-lib 2.275.0 (`core/lib/fs/fingerprint.js`,
`core/lib/fs/utils.js`, `core/lib/fs/ignore.js`) and the `@balena/dockerignore` 1.0.2 it bundles. Each piece below
is a port of one of those, including behaviour that looks accidental, because the point is to produce the same
hash, not a better one. `tests/graviton/image_build/test_fingerprint.py` checks it against the real aws-cdk-lib.

Where the JavaScript leans on Node or V8, those parts are ported too: `path.posix` (normalize, resolve, relative,
dirname), `fs.realpathSync` (its JavaScript implementation, which resolves `..` by text rather than on disk),
UTF-16 string order and indexing, `String.prototype.trim`, and the JavaScript regular expressions that
dockerignore builds from each pattern. A pattern is turned into a JavaScript regular expression *source*, so any
character the pattern does not translate (`+`, `(`, `|`, `{`, `[`, backslash escapes, ...) keeps its JavaScript
regex meaning. Python's `re` reads several of those differently, so that source is parsed as V8 parses it (Annex B
syntax, no `u` flag, case-insensitive) and re-emitted as an equivalent Python expression.

Not reproduced:
* CDK's on-disk fingerprint cache (`~/.cdk/cache/fingerprints`, keyed by inode, mtime in milliseconds and size,
  never by content), which can hand back a stale hash for a file rewritten within the same millisecond at the
  same size. This port always reads the file.
* A regex backreference (`\\1`..`\\9`) to a group inside a repeated atom, as in `((a)|b\\2)+`: V8 clears such
  captures at each repetition and Python's `re` does not, so the port raises NotImplementedError for that
  pattern instead of answering differently. No ordinary .dockerignore pattern contains one.
* Case folding comes from Python's Unicode tables (14.0 for Python 3.11) where V8 uses ICU's; the two can differ
  for characters added to Unicode since.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DockerIgnore", "PatternError", "UnsupportedEntryError", "context_files", "fingerprint"]


class PatternError(ValueError):
    """A .dockerignore pattern whose regular expression V8 rejects; CDK fails with a SyntaxError at that point."""


class UnsupportedEntryError(ValueError):
    """A followed symlink to something that is neither a file nor a directory, which CDK refuses to hash."""


# ---------------------------------------------------------------------------------------------------------------
# Node's path.posix. Python's posixpath differs in the corners that matter here: relpath() returns '.' where Node
# returns '', normpath() keeps a leading '//', and dirname() of 'a//b' is 'a' in Python but 'a/' in Node.
# ---------------------------------------------------------------------------------------------------------------


def _normalize_segments(path: str, allow_above_root: bool) -> str:
    """Node's `normalizeString` for '/': drop '' and '.', let '..' eat the previous segment."""
    out: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out and out[-1] != "..":
                out.pop()
            elif allow_above_root:
                out.append("..")
            continue
        out.append(segment)
    return "/".join(out)


def _normalize(path: str) -> str:
    """`path.posix.normalize`: one trailing slash survives, an empty result is '.' (or './')."""
    if not path:
        return "."
    absolute = path.startswith("/")
    trailing = path.endswith("/")
    path = _normalize_segments(path, not absolute)
    if not path:
        if absolute:
            return "/"
        return "./" if trailing else "."
    if trailing:
        path += "/"
    return "/" + path if absolute else path


def _join(*parts: str) -> str:
    """`path.posix.join`."""
    joined = "/".join(part for part in parts if part)
    return _normalize(joined) if joined else "."


def _resolve(*parts: str) -> str:
    """`path.posix.resolve`: right to left until a part is absolute, then the process cwd."""
    resolved = ""
    absolute = False
    for part in (*reversed(parts), os.getcwd()):
        if not part:
            continue
        resolved = f"{part}/{resolved}"
        absolute = part.startswith("/")
        if absolute:
            break
    resolved = _normalize_segments(resolved, not absolute)
    if absolute:
        return "/" + resolved
    return resolved or "."


def _dirname(path: str) -> str:
    """`path.posix.dirname`, which keeps a doubled slash ('a//b' gives 'a/')."""
    if not path:
        return "."
    has_root = path[0] == "/"
    end = -1
    matched_slash = True
    for i in range(len(path) - 1, 0, -1):
        if path[i] == "/":
            if not matched_slash:
                end = i
                break
        else:
            matched_slash = False
    if end == -1:
        return "/" if has_root else "."
    if has_root and end == 1:
        return "//"
    return path[:end]


def _basename(path: str) -> str:
    """`path.posix.basename` without an extension argument."""
    start = 0
    end = -1
    matched_slash = True
    for i in range(len(path) - 1, -1, -1):
        if path[i] == "/":
            if not matched_slash:
                start = i + 1
                break
        elif end == -1:
            matched_slash = False
            end = i + 1
    return "" if end == -1 else path[start:end]


def _relative(from_path: str, to_path: str) -> str:
    """`path.posix.relative`: '' (not '.') for the same path, '../' steps for a path outside `from_path`."""
    if from_path == to_path:
        return ""
    from_path = _resolve(from_path)
    to_path = _resolve(to_path)
    if from_path == to_path:
        return ""
    from_len = len(from_path) - 1
    to_len = len(to_path) - 1
    length = min(from_len, to_len)
    last_common_sep = -1
    i = 0
    while i < length:
        code = from_path[1 + i]
        if code != to_path[1 + i]:
            break
        if code == "/":
            last_common_sep = i
        i += 1
    if i == length:
        if to_len > length:
            if to_path[1 + i] == "/":
                return to_path[1 + i + 1 :]
            if i == 0:
                return to_path[1 + i :]
        elif from_len > length:
            if from_path[1 + i] == "/":
                last_common_sep = i
            elif i == 0:
                last_common_sep = 0
    out = ""
    for j in range(1 + last_common_sep + 1, len(from_path) + 1):
        if j == len(from_path) or from_path[j] == "/":
            out += ".." if not out else "/.."
    return out + to_path[1 + last_common_sep :]


def _node_string(name: str) -> str:
    """A name as Node sees it: bytes that are not UTF-8 become U+FFFD, exactly as Node's decoder replaces them.

    Node then uses that replaced string for every later call, so such a path no longer exists for it; using the
    same string here makes the port fail (or skip) wherever CDK does.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return name


def _realpath(path: str) -> str:
    """Node's JavaScript `fs.realpathSync` (the one CDK calls, not `.native`).

    It resolves `..` in the text before looking at the disk, and again in each link target, where Python's
    `os.path.realpath` walks `..` on disk; the two disagree when `..` follows a symlink.
    """
    path = _resolve(path)
    seen_links: dict[tuple[int, int], str] = {}
    known_hard: set[str] = set()
    current = base = "/"
    pos = 1
    while pos < len(path):
        slash = path.find("/", pos)
        previous = current
        if slash == -1:
            current += path[pos:]
            base = previous + path[pos:]
            pos = len(path)
        else:
            current += path[pos : slash + 1]
            base = previous + path[pos:slash]
            pos = slash + 1
        if base in known_hard:
            continue
        info = os.lstat(base)
        if not stat.S_ISLNK(info.st_mode):
            known_hard.add(base)
            continue
        key = (info.st_dev, info.st_ino)
        target = seen_links.get(key)
        if target is None:
            os.stat(base)  # Node stats the link first, so a loop or a dangling link raises here
            target = _node_string(os.readlink(base))
        seen_links[key] = target
        path = _resolve(_resolve(previous, target), path[pos:])
        current = base = "/"
        pos = 1
    return path


def _realpath_or_self(path: str) -> str:
    """CDK's `realPathOrSelf`: the real path, or the path itself when it cannot be resolved."""
    try:
        return _realpath(path)
    except (OSError, ValueError):
        return path


# ---------------------------------------------------------------------------------------------------------------
# JavaScript strings: UTF-16 code units, and String.prototype.trim's idea of whitespace (which is not str.strip's:
# JavaScript trims U+FEFF but not U+001C..U+001F or U+0085).
# ---------------------------------------------------------------------------------------------------------------

_JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_JS_LINE_TERMINATORS = "\n\r\u2028\u2029"


def _js_trim(text: str) -> str:
    return text.strip(_JS_WHITESPACE)


def _utf16_units(text: str) -> str:
    """The string with each astral character split into its two surrogates, so indexing works as in JavaScript."""
    if all(ord(ch) <= 0xFFFF for ch in text):
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if code > 0xFFFF:
            code -= 0x10000
            out.append(chr(0xD800 + (code >> 10)))
            out.append(chr(0xDC00 + (code & 0x3FF)))
        else:
            out.append(ch)
    return "".join(out)


def _utf16_key(name: str) -> bytes:
    """Sort key for JavaScript's `<` on strings, which compares UTF-16 code units, not code points."""
    return name.encode("utf-16-be", "surrogatepass")


# ---------------------------------------------------------------------------------------------------------------
# V8 regular expressions without the `u` flag, with `i` (dockerignore's default `ignorecase: true`).
#
# With `i`, V8 compares Canonicalize(ch): the single-code-unit toUpperCase of ch, unless that is longer than one
# unit or maps a non-ASCII unit into ASCII. Matching a canonicalised input against canonicalised literals and
# classes is exactly that comparison, so the emitted Python pattern has no IGNORECASE flag (Python folds case
# differently: it matches 'k' with KELVIN SIGN and 's' with LONG S, which V8 does not).
# ---------------------------------------------------------------------------------------------------------------

_INFINITY = 2**31 - 1  # V8's RegExpTree::kInfinity; larger {n,m} bounds are clamped to it


@functools.cache
def _canonical_table() -> list[int]:
    """Canonicalize for every code unit. Built once, and only when a non-ASCII unit or a large class shows up."""
    table = list(range(0x10000))
    for unit in range(0x61, 0x7B):
        table[unit] = unit - 0x20
    for unit in range(0x80, 0x10000):
        char = chr(unit)
        upper = char.upper()
        # One UTF-16 unit or keep the original, and never map a non-ASCII unit into ASCII (LONG S to 'S').
        if upper != char and len(upper) == 1 and 0x80 <= ord(upper) <= 0xFFFF:
            table[unit] = ord(upper)
    return table


def _canonicalize(unit: int) -> int:
    if unit < 0x80:
        return unit - 0x20 if 0x61 <= unit <= 0x7A else unit
    return _canonical_table()[unit]


@functools.cache
def _canonical_image() -> frozenset[int]:
    """Every value Canonicalize can return; only these ever occur in a canonicalised input."""
    return frozenset(_canonical_table())


def _canonical_text(text: str) -> str:
    if text.isascii():
        return text.upper()
    table = _canonical_table()
    return "".join(chr(table[ord(unit)]) for unit in _utf16_units(text))


Ranges = tuple[tuple[int, int], ...]


def _complement(ranges: Ranges) -> Ranges:
    out = []
    low = 0
    for start, end in sorted(ranges):
        if start > low:
            out.append((low, start - 1))
        low = max(low, end + 1)
    if low <= 0xFFFF:
        out.append((low, 0xFFFF))
    return tuple(out)


_DIGIT: Ranges = ((0x30, 0x39),)
_WORD: Ranges = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
_SPACE: Ranges = tuple((ord(ch), ord(ch)) for ch in _JS_WHITESPACE)
_CLASS_ESCAPES: dict[str, Ranges] = {
    "d": _DIGIT,
    "D": _complement(_DIGIT),
    "w": _WORD,
    "W": _complement(_WORD),
    "s": _SPACE,
    "S": _complement(_SPACE),
}
_DOT: Ranges = _complement(tuple((ord(ch), ord(ch)) for ch in _JS_LINE_TERMINATORS))
_DOT_CLASS = "[^" + re.escape(_JS_LINE_TERMINATORS) + "]"
_CONTROL_ESCAPES = {"f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09, "v": 0x0B}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_OCTAL_DIGITS = frozenset("01234567")
_DECIMAL_DIGITS = frozenset("0123456789")


def _literal(unit: int) -> str:
    if unit < 128 and chr(unit).isalnum():
        return chr(unit)
    return f"\\u{unit:04x}"


def _to_ranges(values: Sequence[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for value in values:
        if out and out[-1][1] == value - 1:
            out[-1] = (out[-1][0], value)
        else:
            out.append((value, value))
    return out


def _class_body(ranges: Sequence[tuple[int, int]]) -> str:
    return "".join(f"\\u{start:04x}" if start == end else f"\\u{start:04x}-\\u{end:04x}" for start, end in ranges)


@functools.cache
def _emit_class(ranges: Ranges, inverted: bool) -> str:
    """A Python class matching a canonicalised unit exactly when V8's class (with `i`) matches the original."""
    if ranges == _DOT and not inverted:
        # '.' is "not a line terminator"; no other unit canonicalises to one, so the class needs no table.
        return _DOT_CLASS
    canonical = sorted({_canonicalize(unit) for start, end in ranges for unit in range(start, end + 1)})
    if inverted:
        return f"[^{_class_body(_to_ranges(canonical))}]" if canonical else "[\\u0000-\\uffff]"
    if not canonical:
        return "(?!)"
    if len(canonical) == 1:
        return _literal(canonical[0])
    direct = _to_ranges(canonical)
    if len(direct) <= 8:
        return f"[{_class_body(direct)}]"
    # Values outside the canonical image never reach the matcher, so either form is exact; take the shorter.
    others = _to_ranges(sorted(_canonical_image().difference(canonical)))
    if len(others) < len(direct):
        return f"[^{_class_body(others)}]" if others else "[\\u0000-\\uffff]"
    return f"[{_class_body(direct)}]"


def _count_captures(source: str) -> int:
    """V8's `ScanForCaptures`: every '(' outside a class and not an escape, except non-capturing '(?...)'."""
    count = 0
    i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        i += 1
        if ch == "\\":
            i += 1
        elif ch == "[":
            while i < n:
                c = source[i]
                i += 1
                if c == "\\":
                    i += 1
                elif c == "]":
                    break
        elif ch == "(":
            if i < n and source[i] == "?":
                i += 1
                if i >= n or source[i] != "<":
                    continue
                i += 1
                if i < n and source[i] in "=!":
                    continue
            count += 1
    return count


class _JsRegexTranslator:
    """Parses a V8 regex source (Annex B grammar, no `u`) and emits the equivalent Python regex.

    The input is a string of UTF-16 code units. dockerignore's sources never contain '(?' (every '?' in a pattern
    becomes '[^/]'), so lookarounds and named groups are not needed and are rejected loudly rather than guessed.
    """

    def __init__(self, source: str, display: str) -> None:
        self.src = source
        self.display = display
        self.pos = 0
        self.captures = _count_captures(source)
        self.opened = 0
        self.closed: set[int] = set()
        self.referenced: set[int] = set()  # groups a backreference reads after they closed
        self.repeated: set[int] = set()  # groups in (or forming) an atom that may run more than once

    def error(self, message: str) -> PatternError:
        return PatternError(f"Invalid regular expression: /{self.display}/i: {message}")

    def peek(self, offset: int = 0) -> str | None:
        index = self.pos + offset
        return self.src[index] if index < len(self.src) else None

    def translate(self) -> str:
        out = self.disjunction()
        if self.peek() == ")":
            raise self.error("Unmatched ')'")
        if self.referenced & self.repeated:
            # A repeated atom's captures differ between the engines: JavaScript clears them at each repetition and
            # never keeps one from an empty repetition, Python keeps both. A backreference to such a group can
            # therefore match differently, so refuse rather than answer differently.
            raise NotImplementedError(
                f"/{self.display}/: a backreference to a group inside a repeated atom is not ported"
            )
        return out

    def disjunction(self) -> str:
        alternatives = [self.alternative()]
        while self.peek() == "|":
            self.pos += 1
            alternatives.append(self.alternative())
        return "|".join(alternatives)

    def alternative(self) -> str:
        terms = []
        while (ch := self.peek()) is not None and ch not in "|)":
            terms.append(self.term())
        return "".join(terms)

    def term(self) -> str:
        ch = self.peek()
        if ch == "^":
            self.pos += 1
            return "\\A"  # no quantifier may follow; the next term then starts with one and fails
        if ch == "$":
            self.pos += 1
            return "\\Z"
        if ch == "\\" and self.peek(1) in ("b", "B"):
            self.pos += 2
            return "\\" + self.src[self.pos - 1]
        if ch in ("*", "+", "?"):
            raise self.error("Nothing to repeat")
        groups_before = self.opened
        if ch == "{":
            if self.interval() is not None:
                raise self.error("Nothing to repeat")
            self.pos += 1
            atom = _emit_class(((ord("{"), ord("{")),), False)
        else:
            atom = self.atom()
        return self.quantified(atom, range(groups_before + 1, self.opened + 1))

    def atom(self) -> str:
        ch = self.peek()
        assert ch is not None
        if ch == ".":
            self.pos += 1
            return _emit_class(_DOT, False)
        if ch == "(":
            if self.peek(1) == "?":
                raise NotImplementedError("'(?' cannot occur in a dockerignore regex")
            self.pos += 1
            self.opened += 1
            number = self.opened
            inner = self.disjunction()
            if self.peek() != ")":
                raise self.error("Unterminated group")
            self.pos += 1
            self.closed.add(number)
            return f"({inner})"
        if ch == "[":
            return self.character_class()
        if ch == "\\":
            return self.atom_escape()
        self.pos += 1
        return _emit_class(((ord(ch), ord(ch)),), False)

    def atom_escape(self) -> str:
        nxt = self.peek(1)
        if nxt is None:
            raise self.error("\\ at end of pattern")
        if nxt in _CLASS_ESCAPES:
            self.pos += 2
            return _emit_class(_CLASS_ESCAPES[nxt], False)
        if nxt in "123456789":
            start = self.pos
            self.pos += 1
            value = 0
            while (d := self.peek()) is not None and d in _DECIMAL_DIGITS:
                value = min(value * 10 + int(d), _INFINITY)
                self.pos += 1
            if value <= self.captures:
                # JavaScript matches an unset group as empty; Python fails it, hence the conditional. A group
                # that is still open or comes later is always unset when the reference runs.
                if value not in self.closed:
                    return "(?:)"
                self.referenced.add(value)
                return f"(?({value})(?:\\{value}))"
            self.pos = start
            if nxt in "89":
                self.pos += 2
                return _emit_class(((ord(nxt), ord(nxt)),), False)
        unit = self.character_escape(in_class=False)
        return _emit_class(((unit, unit),), False)

    def character_escape(self, *, in_class: bool) -> int:
        """V8's `ParseCharacterEscape`, at a backslash; returns the code unit and leaves `pos` after the escape."""
        self.pos += 1
        ch = self.peek()
        assert ch is not None
        if ch in _CONTROL_ESCAPES:
            self.pos += 1
            return _CONTROL_ESCAPES[ch]
        if ch == "c":
            letter = self.peek(1)
            if letter is not None and ("A" <= letter <= "Z" or "a" <= letter <= "z"):
                self.pos += 2
                return ord(letter) & 0x1F
            if in_class and letter is not None and (letter in _DECIMAL_DIGITS or letter == "_"):
                self.pos += 2
                return ord(letter) & 0x1F
            # Annex B: the backslash is a literal and 'c' is read again as an ordinary character.
            return ord("\\")
        if ch == "0" and (self.peek(1) is None or self.peek(1) not in _DECIMAL_DIGITS):
            self.pos += 1
            return 0
        if ch in _OCTAL_DIGITS:
            value = int(ch)
            self.pos += 1
            if (d := self.peek()) is not None and d in _OCTAL_DIGITS:
                value = value * 8 + int(d)
                self.pos += 1
                if value < 32 and (d := self.peek()) is not None and d in _OCTAL_DIGITS:
                    value = value * 8 + int(d)
                    self.pos += 1
            return value
        if ch in ("x", "u"):
            width = 2 if ch == "x" else 4
            digits = self.src[self.pos + 1 : self.pos + 1 + width]
            self.pos += 1
            if len(digits) == width and all(d in _HEX_DIGITS for d in digits):
                self.pos += width
                return int(digits, 16)
            return ord(ch)
        self.pos += 1
        return ord(ch)

    def interval(self) -> tuple[int, int] | None:
        """V8's `ParseIntervalQuantifier` at '{': the bounds and `pos` past '}', or None with `pos` unchanged."""
        start = self.pos
        self.pos += 1

        def number() -> int:
            value = 0
            while (d := self.peek()) is not None and d in _DECIMAL_DIGITS:
                value = min(value * 10 + int(d), _INFINITY)
                self.pos += 1
            return value

        if self.peek() is None or self.peek() not in _DECIMAL_DIGITS:
            self.pos = start
            return None
        low = number()
        if self.peek() == "}":
            self.pos += 1
            return low, low
        if self.peek() == ",":
            self.pos += 1
            if self.peek() == "}":
                self.pos += 1
                return low, _INFINITY
            if self.peek() is not None and self.peek() in _DECIMAL_DIGITS:
                high = number()
                if self.peek() == "}":
                    self.pos += 1
                    return low, high
        self.pos = start
        return None

    def quantified(self, atom: str, groups: range) -> str:
        ch = self.peek()
        if ch == "*":
            self.pos += 1
            quantifier, high = "*", _INFINITY
        elif ch == "+":
            self.pos += 1
            quantifier, high = "+", _INFINITY
        elif ch == "?":
            self.pos += 1
            quantifier, high = "?", 1
        elif ch == "{":
            bounds = self.interval()
            if bounds is None:
                return atom
            low, high = bounds
            if high < low:
                raise self.error("numbers out of order in {} quantifier")
            quantifier = f"{{{low},}}" if high == _INFINITY else f"{{{low},{high}}}"
        else:
            return atom
        if high > 1:
            self.repeated.update(groups)
        if self.peek() == "?":
            self.pos += 1
            quantifier += "?"
        return f"(?:{atom}){quantifier}"

    def character_class(self) -> str:
        self.pos += 1
        inverted = self.peek() == "^"
        if inverted:
            self.pos += 1
        ranges: list[tuple[int, int]] = []
        while (ch := self.peek()) is not None and ch != "]":
            first, first_set = self.class_atom()
            if self.peek() == "-":
                self.pos += 1
                if self.peek() is None:
                    break
                if self.peek() == "]":
                    ranges.extend(first_set or ((first, first),))
                    ranges.append((ord("-"), ord("-")))
                    break
                second, second_set = self.class_atom()
                if first_set is not None or second_set is not None:
                    # Annex B: a class escape at either end makes the '-' an ordinary character.
                    ranges.extend(first_set or ((first, first),))
                    ranges.append((ord("-"), ord("-")))
                    ranges.extend(second_set or ((second, second),))
                    continue
                if first > second:
                    raise self.error("Range out of order in character class")
                ranges.append((first, second))
            else:
                ranges.extend(first_set or ((first, first),))
        if self.peek() is None:
            raise self.error("Unterminated character class")
        self.pos += 1
        return _emit_class(tuple(sorted(set(ranges))), inverted)

    def class_atom(self) -> tuple[int, Ranges | None]:
        """V8's `ParseClassEscape`: a code unit, or a whole set for \\d \\s \\w and their capitals."""
        ch = self.peek()
        assert ch is not None
        if ch != "\\":
            self.pos += 1
            return ord(ch), None
        nxt = self.peek(1)
        if nxt is None:
            raise self.error("\\ at end of pattern")
        if nxt == "b":
            self.pos += 2
            return 0x08, None
        if nxt in _CLASS_ESCAPES:
            self.pos += 2
            return 0, _CLASS_ESCAPES[nxt]
        if nxt in "89":
            self.pos += 2
            return ord(nxt), None
        return self.character_escape(in_class=True), None


def _compile_js_regex(source: str) -> re.Pattern[str]:
    translated = _JsRegexTranslator(_utf16_units(source), source).translate()
    return re.compile(translated, re.ASCII)


# ---------------------------------------------------------------------------------------------------------------
# @balena/dockerignore 1.0.2 (IgnoreBase), as bundled in aws-cdk-lib, on POSIX (path.sep == '/').
# ---------------------------------------------------------------------------------------------------------------

# dockerignore caches answers in a plain `{}` and asks `path in cache` first, so these names inherited from
# Object.prototype are "cached" from the start as truthy values, meaning "kept": a top-level entry with one of
# these names is never ignored, whatever the patterns say.
_OBJECT_PROTOTYPE_KEYS = frozenset(
    {
        "constructor",
        "__defineGetter__",
        "__defineSetter__",
        "hasOwnProperty",
        "__lookupGetter__",
        "__lookupSetter__",
        "isPrototypeOf",
        "propertyIsEnumerable",
        "toString",
        "valueOf",
        "__proto__",
        "toLocaleString",
    }
)

_TRAILING_SLASH = re.compile("(?<=[^" + re.escape(_JS_LINE_TERMINATORS) + "])/\\Z")  # JavaScript's /(?<=.)\/$/
_LINE_SPLIT = re.compile(r"\r?\n")


def _clean_path(pattern: str) -> str:
    """dockerignore's `cleanPath`: `path.normalize`, then drop one trailing slash unless it is the whole string."""
    return _TRAILING_SLASH.sub("", _normalize(pattern), count=1)


@dataclass
class _Rule:
    pattern: str
    negative: bool
    dirs: list[str]
    _regex: re.Pattern[str] | None = field(default=None, repr=False)

    def regex(self) -> re.Pattern[str]:
        """dockerignore's `_compile`, built on first use as there (so a bad pattern fails only once matched)."""
        if self._regex is None:
            self._regex = _compile_js_regex(_regex_source(self.pattern))
        return self._regex

    def matches(self, path: str) -> bool:
        return self.regex().search(_canonical_text(path)) is not None


def _regex_source(pattern: str) -> str:
    """The JavaScript regex source dockerignore builds from a cleaned pattern (Go's filepath.Match, roughly).

    Only `*`, `?`, `.`, `$` and backslash are translated; everything else is copied into the regex as is. A
    trailing backslash is kept as a backslash, which then escapes the closing `$`.
    """
    out = ["^"]
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 1
                if i + 1 < n and pattern[i + 1] == "/":
                    i += 1
                out.append(".*" if i + 1 >= n else "(.*/)?")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch in ".$":
            out.append("\\" + ch)
        elif ch == "\\":
            if i + 1 < n:
                out.append("\\" + pattern[i + 1])
                i += 1
            else:
                out.append("\\")
        else:
            out.append(ch)
        i += 1
    out.append("$")
    return "".join(out)


def _create_rule(pattern: str) -> _Rule | None:
    """dockerignore's `_createRule`: clean the pattern twice, the second time with any '!' still in front."""
    negative = False
    if pattern[0] == "!":
        negative = True
        pattern = _js_trim(pattern[1:])
    if pattern:
        pattern = _clean_path(pattern)
        if len(pattern) > 1 and pattern[0] == "/":
            pattern = pattern[1:]
    if negative:
        pattern = "!" + pattern
    pattern = _js_trim(pattern)
    if not pattern:
        return None
    pattern = _clean_path(pattern)
    if pattern[0] == "!":
        if len(pattern) == 1:
            return None
        negative = True
        pattern = pattern[1:]
    else:
        negative = False
    return _Rule(pattern=pattern, negative=negative, dirs=pattern.split("/"))


class _IgnoreBase:
    """dockerignore's `IgnoreBase` with its default `ignorecase: true`."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._cache: dict[str, bool] = {}

    def add(self, pattern: str) -> None:
        for line in _LINE_SPLIT.split(pattern):
            if line and not line.startswith("#") and _js_trim(line):
                rule = _create_rule(_js_trim(line))
                if rule is not None:
                    self._rules.append(rule)
                    self._cache.clear()

    def ignores(self, path: str) -> bool:
        if not path:
            return True  # `_filter('')` is false, i.e. "not kept"
        if path in _OBJECT_PROTOTYPE_KEYS:
            return False
        kept = self._cache.get(path)
        if kept is None:
            kept = self._cache[path] = not self._matched(path)
        return not kept

    def _matched(self, file: str) -> bool:
        """dockerignore's `_test`: the last matching rule wins; a rule also matches when it matches a parent."""
        parent = _clean_path(_dirname(file))
        parent_dirs = parent.split("/")
        matched = False
        for rule in self._rules:
            match = rule.matches(file)
            if not match and parent != ".":
                if "**" in rule.dirs:
                    # '**' stands for any number of directories, so try every prefix that could still fit.
                    fixed = sum(1 for part in rule.dirs if part != "**")
                    for i in range(fixed, len(parent_dirs) + 1):
                        if rule.matches("/".join(parent_dirs[:i])):
                            match = True
                            break
                elif len(rule.dirs) <= len(parent_dirs):
                    match = rule.matches("/".join(parent_dirs[: len(rule.dirs)]))
            if match:
                matched = not rule.negative
        return matched


# CDK's `negativeIgnoreRegex`, /^\s*(\!|\/\!)(.*)/ with JavaScript's \s and '.'.
_NEGATIVE_PATTERN = re.compile(
    "\\A[" + re.escape(_JS_WHITESPACE) + "]*(!|/!)([^" + re.escape(_JS_LINE_TERMINATORS) + "]*)"
)


class DockerIgnore:
    """aws-cdk-lib's `DockerIgnoreStrategy(root, patterns)`: which paths a .dockerignore leaves out.

    Matching is @balena/dockerignore's, which differs from `docker build` in ways CDK inherits and this keeps:
    it is case-insensitive, a pattern is a JavaScript regex once `*`, `?`, `.` and `$` are translated, and a
    top-level name inherited from `Object.prototype` (`constructor`, `toString`, ...) is never ignored.

    `root` is used as given (CDK does not resolve symlinks here); paths are compared by text, relative to it.
    """

    def __init__(self, root: Path | str, patterns: Sequence[str]) -> None:
        root = os.fspath(root)
        if not root.startswith("/"):
            raise ValueError("DockerIgnoreStrategy expects an absolute file path")
        self._root = root
        self._ignore = _IgnoreBase()
        # Matches only directories that no exception can reach into; see completely_ignores.
        self._complete = _IgnoreBase()
        for pattern in patterns:
            self._add(pattern)

    def _add(self, pattern: str) -> None:
        """CDK's `add`: every `!` exception also re-includes each of its parent directories for traversal."""
        self._ignore.add(pattern)
        self._complete.add(pattern)
        negative = _NEGATIVE_PATTERN.match(pattern)
        if negative is not None:
            prefix, dirname = negative.group(1), negative.group(2)
            while True:
                dirname = _dirname(dirname)
                if dirname in ("/", "."):
                    break
                self._complete.add(prefix + dirname)

    def _relative(self, path: Path | str) -> str:
        path = os.fspath(path)
        if not path.startswith("/"):
            raise ValueError("DockerIgnoreStrategy.ignores() expects an absolute path")
        return _relative(self._root, path)

    def ignores(self, path: Path | str) -> bool:
        """CDK's `ignores(absoluteFilePath)`: whether the patterns leave this path out."""
        return self._ignore.ignores(self._relative(path))

    def completely_ignores(self, path: Path | str) -> bool:
        """CDK's `completelyIgnores(absoluteDirectoryPath)`: whether a directory can be skipped without looking in.

        True only when the directory is ignored and no `!` exception names something inside it.
        """
        relative = self._relative(path)
        return self._ignore.ignores(relative) and self._complete.ignores(relative)


# ---------------------------------------------------------------------------------------------------------------
# fingerprint.js and utils.js `walkDirectory`, with CDK's default SymlinkFollowMode.EXTERNAL.
# ---------------------------------------------------------------------------------------------------------------

_CHUNK = 8 * 1024
_FOLLOW = "external"  # SymlinkFollowMode.EXTERNAL
_IGNORE_MODE = "docker"  # IgnoreMode.DOCKER


def _content_fingerprint(file: str) -> str:
    """fingerprint.js `contentFingerprintMiss`: `size:sha256hex` of the content, text with CRLF made LF.

    Reproduced as written, including its quirks:
    * a file is binary when its first processed 8 KiB chunk holds a NUL; if that chunk ended in CR it was set
      aside unprocessed, so the test is redone on the next chunk;
    * text chunks are decoded as UTF-8 one at a time (a character split across chunks becomes U+FFFD) and
      re-encoded before hashing;
    * a chunk ending in CR is joined to the next so a CRLF across the boundary is normalised, but text still set
      aside at the end of the file is hashed without normalising and is not counted in `size`.
    """
    digest = hashlib.sha256()
    size = 0
    binary = False
    pending = ""
    fd = os.open(file, os.O_RDONLY)
    try:
        while chunk := os.read(fd, _CHUNK):
            if size == 0:
                binary = b"\0" in chunk
            if binary:
                size += len(chunk)
                digest.update(chunk)
                continue
            text = chunk.decode("utf-8", "replace")
            if text.endswith("\r"):
                pending += text
                continue
            data = (pending + text).replace("\r\n", "\n").encode("utf-8")
            pending = ""
            size += len(data)
            digest.update(data)
        if pending:
            digest.update(pending.encode("utf-8"))
    finally:
        os.close(fd)
    return f"{size}:{digest.hexdigest()}"


def _hash_field(digest: hashlib._Hash, header: str, value: str) -> None:
    digest.update(b"\x01" + header.encode("utf-8") + b"\x02" + value.encode("utf-8") + b"\x03")


@dataclass(frozen=True)
class _Visit:
    kind: str  # "file" (hashed by content) or "link" (hashed by target)
    relative: str  # path.relative(root, symbolic path), before hashKey turns backslashes into slashes
    real_path: str = ""
    link_value: str = ""


class _Walker:
    """utils.js `walkDirectory` with the visitor fingerprint.js passes (onFile, onSymlink, onUnsupported)."""

    def __init__(self, root: str, ignore: DockerIgnore) -> None:
        self.root = root
        self.ignore = ignore._ignore
        self.complete = ignore._complete
        self.ancestors: set[str] = set()

    def walk(self) -> Iterator[_Visit]:
        yield from self._walk("", self.root, _realpath_or_self(self.root))

    def _walk(self, relative: str, real_path: str, canonical_path: str) -> Iterator[_Visit]:
        if canonical_path in self.ancestors:
            return  # a followed symlink led back into a directory being walked
        self.ancestors.add(canonical_path)
        with os.scandir(real_path) as scan:
            entries = [(_node_string(entry.name), entry) for entry in scan]
        entries.sort(key=lambda item: _utf16_key(item[0]))
        for name, entry in entries:
            child = f"{relative}/{name}" if relative else name
            child_real = _join(real_path, name)
            if entry.is_symlink():
                yield from self._visit_symlink(child, child_real)
            elif entry.is_dir(follow_symlinks=False):
                yield from self._visit_directory(child, child_real, _join(canonical_path, name))
            elif entry.is_file(follow_symlinks=False):
                yield from self._visit_file(child, child_real)
        self.ancestors.discard(canonical_path)

    def _completely_ignores(self, relative: str) -> bool:
        return self.ignore.ignores(relative) and self.complete.ignores(relative)

    def _visit_directory(self, relative: str, real_path: str, canonical_path: str) -> Iterator[_Visit]:
        if not self._completely_ignores(relative):
            yield from self._walk(relative, real_path, canonical_path)

    def _visit_file(self, relative: str, real_path: str) -> Iterator[_Visit]:
        if not self.ignore.ignores(relative):
            yield _Visit("file", relative, real_path=real_path)

    def _visit_symlink(self, relative: str, real_path: str) -> Iterator[_Visit]:
        link_target = _node_string(os.readlink(real_path))
        # CDK resolves an absolute target on its own and a relative one against the link's folder; resolve()
        # already ignores everything left of an absolute part, so one call does both.
        resolved = _resolve(_dirname(real_path), link_target)
        resolved = _join(_realpath_or_self(_dirname(resolved)), _basename(resolved))
        internal = resolved == self.root or resolved.startswith(self.root + "/")
        target_stats = None
        if not internal:  # EXTERNAL: links leaving the tree are followed, links inside it are hashed as links
            try:
                target_stats = os.stat(resolved)
            except (OSError, ValueError):
                target_stats = None
        if target_stats is None:
            if not self.ignore.ignores(relative):
                if internal and link_target.startswith("/"):
                    value = _relative(self.root, resolved).replace("\\", "/")  # hashKey of the target
                else:
                    value = link_target
                yield _Visit("link", relative, link_value=value)
            return
        if stat.S_ISDIR(target_stats.st_mode):
            yield from self._visit_directory(relative, resolved, _realpath_or_self(resolved))
        elif stat.S_ISREG(target_stats.st_mode):
            yield from self._visit_file(relative, resolved)
        elif not self.ignore.ignores(relative):
            raise UnsupportedEntryError(
                f"Unable to hash {_join(self.root, relative)}: it is neither a file nor a directory"
            )


def _visits(directory: Path | str, exclude: Sequence[str]) -> tuple[str, bool, Iterator[_Visit]]:
    root = _realpath(os.fspath(directory))
    is_dir = stat.S_ISDIR(os.stat(root).st_mode)
    walker = _Walker(root, DockerIgnore(root, list(exclude)))
    return root, is_dir, walker.walk()


def fingerprint(directory: Path | str, *, exclude: Sequence[str] = ()) -> str:
    """`aws_cdk.FileSystem.fingerprint(str(directory), exclude=list(exclude), ignore_mode=IgnoreMode.DOCKER)`.

    sha256 over SOH header STX value ETX fields: `options.extra` (empty), `options.follow` ('external'),
    `options.ignoreMode` ('docker'), then, in the walk's order (entries sorted by UTF-16 name, directories
    entered where they appear), `file:<relative path>` = `size:sha256` of the content for every file kept, and
    `link:<relative path>` = target for every symlink inside the tree (or dangling) that is kept. Relative paths
    have backslashes turned into slashes, as CDK's `hashKey` does. Symlinks out of the tree are followed and
    hashed as what they point to. A file instead of a directory hashes as the single field `file:`.
    """
    root, is_dir, visits = _visits(directory, exclude)
    digest = hashlib.sha256()
    _hash_field(digest, "options.extra", "")
    _hash_field(digest, "options.follow", _FOLLOW)
    _hash_field(digest, "options.ignoreMode", _IGNORE_MODE)
    if not is_dir:
        _hash_field(digest, "file:", _content_fingerprint(root))
        return digest.hexdigest()
    for visit in visits:
        key = visit.relative.replace("\\", "/")
        if visit.kind == "file":
            _hash_field(digest, f"file:{key}", _content_fingerprint(visit.real_path))
        else:
            _hash_field(digest, f"link:{key}", visit.link_value)
    return digest.hexdigest()


def context_files(directory: Path | str, *, exclude: Sequence[str] = ()) -> Iterator[Path]:
    """The files `fingerprint` hashes by content, in its order: what the build context holds.

    These are the paths CDK's `FileSystem.copyDirectory` (same walk, same ignore strategy) copies as regular
    files, so this is what goes into the zip. Each is `<real directory>/<relative path>`; a file reached through
    a symlink leaving the tree is yielded under the symlink's path. Symlinks the fingerprint records by target
    (those pointing inside the tree, and dangling ones) are not files and are not yielded. A file given instead of
    a directory yields itself, as its fingerprint covers just that file.
    """
    root, is_dir, visits = _visits(directory, exclude)
    if not is_dir:
        yield Path(root)
        return
    for visit in visits:
        if visit.kind == "file":
            # Fail where fingerprint() (and CDK's copy) would, e.g. on a name that is not UTF-8, which Node cannot
            # open under the name it decoded; the zip would otherwise fail later or silently miss the file.
            os.close(os.open(visit.real_path, os.O_RDONLY))
            yield Path(root) / visit.relative
