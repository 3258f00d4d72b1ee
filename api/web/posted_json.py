"""JSON that a form carries (a pasted network document, a project's spec), read so that no text
makes the page fail: every way it cannot be read is a ``json.JSONDecodeError`` with a place.

``json.loads`` raises two other errors on text a browser may post: ``RecursionError`` for arrays
or objects nested deeper than the interpreter recurses, and ``ValueError`` for an integer of
more than 4300 digits (Python's limit on converting a string to an int).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

_LONG_NUMBER = re.compile(r"\d{%d,}" % (sys.get_int_max_str_digits() + 1))


def loads(text: str) -> Any:
    """The value of ``text``; ``json.JSONDecodeError`` (its message, line and column) when it
    has none this process can hold."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, _deepest(text)) from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # the only other one json.loads raises on a str: a number too long
        found = _LONG_NUMBER.search(text)
        raise json.JSONDecodeError("a number with too many digits", text,
                                   found.start() if found else 0) from None


def _deepest(text: str) -> int:
    """Where the deepest bracket outside strings opens (only read after a RecursionError)."""
    depth = deepest = at = 0
    quoted = escaped = False
    for i, ch in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest, at = depth, i
        elif ch in "]}":
            depth -= 1
    return at
