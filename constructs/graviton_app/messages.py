"""How a one-line refusal quotes what it refuses: every value, key and name it shows goes through here, so none can
break the line (a newline, a NUL, a line separator) or fill the terminal (a 300-character value). Standard library
only: the context reader and every command use it too.
"""

from __future__ import annotations

import json
from typing import Any

# The most characters of a value or name a refusal shows; a longer one is cut, ending in ELLIPSIS.
SHOWN_CHARS = 60
ELLIPSIS = "…"


def shown(value: Any) -> str:
    """A scalar as JSON (a string in double quotes), a list or an object by its type (`<list>`, `<dict>`): at most
    SHOWN_CHARS characters, anything that is not printable escaped."""
    if isinstance(value, str | int | float | bool | None):
        return cut(_printable(json.dumps(value, ensure_ascii=False)))
    return f"<{type(value).__name__}>"


def name(text: Any) -> str:
    """A key, a name or an argument as a refusal quotes it (in its own quotes): at most SHOWN_CHARS characters,
    anything that is not printable escaped (`\\n`, `\\u0000`)."""
    return cut(_printable(json.dumps(str(text), ensure_ascii=False)[1:-1]))


def cut(text: str) -> str:
    """`text` at most SHOWN_CHARS characters, a longer one cut and ending in ELLIPSIS."""
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + ELLIPSIS


def _printable(text: str) -> str:
    """JSON escapes the control characters below U+0020 only; the others that end a line (U+0085, U+2028, U+2029)
    or show nothing (DEL, U+200B, ...) as `\\uXXXX` too."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


__all__ = ["ELLIPSIS", "SHOWN_CHARS", "cut", "name", "shown"]
