"""JSON from outside, read so that nothing a client sends can crash or poison what follows.

Python's ``json`` accepts more than JSON: ``NaN`` and ``Infinity``, numbers such as ``1e400``
that overflow to infinity, strings holding a lone surrogate (``"\\ud800"``, which no database
can store as UTF-8) or a NUL (``"\\u0000"``, which PostgreSQL's text refuses), and nesting deep
enough to raise ``RecursionError``. ``loads`` refuses all of them with one ``JSONRejected`` (a
``ValueError``) saying why, so every way in — the REST API's parser, the positioning apps'
endpoints, the websockets — answers 400, never 500.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Deeper than any payload GridCity reads (a batch of fixes is three levels, GeoJSON five);
# a shallow limit also keeps the Python-level walks below far from the interpreter's.
MAX_DEPTH = 64

# A \uD800–\uDFFF escape (either half of a surrogate pair, or a lone one) or a \u0000. Only
# when the text holds one is the parsed value walked to find strings that cannot be stored.
_SURROGATE_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0000)")


class JSONRejected(ValueError):
    """The text is not JSON GridCity accepts; ``str()`` says why, for a 400's message."""


def _refuse_constant(name: str):
    raise JSONRejected(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JSONRejected(f"the number {text[:32]} is too large")
    return number


def _depth_and_strings(value: Any, *, check_strings: bool) -> None:
    """Walk the value without recursion: depth within MAX_DEPTH, strings encodable.

    Only containers (and strings, when they need checking) are visited: the numbers of a
    thousand fixes are not worth a loop turn each.
    """
    visited = (dict, list, str) if check_strings else (dict, list)
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if type(item) is str:
            _encodable(item)
            continue
        if depth > MAX_DEPTH:
            raise JSONRejected(f"nested deeper than {MAX_DEPTH} levels")
        if type(item) is dict:
            if check_strings:
                for key in item:
                    _encodable(key)
            item = item.values()
        stack.extend((sub, depth + 1) for sub in item if isinstance(sub, visited))


def _encodable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JSONRejected("a string holds a lone surrogate (not valid Unicode)") from None
    if "\x00" in text:
        raise JSONRejected("a string holds a NUL character")


def _encodable_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JSONRejected("the text holds a lone surrogate (not valid Unicode)") from None


def loads(data: bytes | bytearray | str) -> Any:
    """Parse JSON text, refusing NaN/Infinity, overflowing numbers, lone surrogates, NUL
    characters in strings and nesting deeper than ``MAX_DEPTH``. Bytes are read as UTF-8 (a
    BOM is allowed)."""
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise JSONRejected(f"not UTF-8: {error.reason} at byte {error.start}") from None
    else:
        # Text given as str (a websocket frame) may hold a surrogate as a character rather than
        # as an escape, which the escape search below would not see.
        _encodable_text(data)
    try:
        value = json.loads(
            data,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            # Integers keep json's own conversion, which refuses more than 4,300 digits
            # (ValueError): a number that long is no coordinate or count anyway.
        )
    except JSONRejected:
        raise
    except RecursionError:
        raise JSONRejected(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:  # json.JSONDecodeError, int() of a huge number
        raise JSONRejected(str(error)) from None
    if isinstance(value, dict | list):
        _depth_and_strings(value, check_strings=bool(_SURROGATE_ESCAPE.search(data)))
    elif isinstance(value, str) and _SURROGATE_ESCAPE.search(data):
        _encodable(value)
    return value
