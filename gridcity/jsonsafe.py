"""JSON from outside, read so that nothing a client sends can crash or poison what follows.

Python's ``json`` accepts more than JSON: ``NaN`` and ``Infinity``, numbers such as ``1e400``
that overflow to infinity, strings holding a lone surrogate (``"\\ud800"``, which no database
can store as UTF-8), and nesting deep enough to raise ``RecursionError``. ``loads`` refuses all
of them with one ``JSONRejected`` (a ``ValueError``) saying why, so every way in — the REST
API's parser, the positioning apps' endpoints, the websockets — answers 400, never 500.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# Deeper than any payload GridCity reads (a batch of fixes is three levels, GeoJSON five);
# a shallow limit also keeps the Python-level walks below far from the interpreter's.
MAX_DEPTH = 64

# A \uD800–\uDFFF escape: either half of a surrogate pair, or a lone one. Only when the text
# holds one is the parsed value walked to find strings that cannot be encoded.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class JSONRejected(ValueError):
    """The text is not JSON GridCity accepts; ``str()`` says why, for a 400's message."""


def _refuse_constant(name: str):
    raise JSONRejected(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JSONRejected(f"the number {text[:32]} is too large")
    return number


def _finite_int(text: str) -> int:
    # Python's int() refuses texts of more than 4,300 digits (ValueError); a number that long
    # is no coordinate or count anyway.
    return int(text)


def _depth_and_strings(value: Any, *, check_strings: bool) -> None:
    """Walk the value without recursion: depth within MAX_DEPTH, strings encodable."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_DEPTH:
                raise JSONRejected(f"nested deeper than {MAX_DEPTH} levels")
            for key, sub in item.items():
                if check_strings:
                    _encodable(key)
                stack.append((sub, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_DEPTH:
                raise JSONRejected(f"nested deeper than {MAX_DEPTH} levels")
            stack.extend((sub, depth + 1) for sub in item)
        elif check_strings and isinstance(item, str):
            _encodable(item)


def _encodable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JSONRejected("a string holds a lone surrogate (not valid Unicode)") from None


def loads(data: bytes | bytearray | str) -> Any:
    """Parse JSON text, refusing NaN/Infinity, overflowing numbers, lone surrogates and
    nesting deeper than ``MAX_DEPTH``. Bytes are read as UTF-8 (a BOM is allowed)."""
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise JSONRejected(f"not UTF-8: {error.reason} at byte {error.start}") from None
    try:
        value = json.loads(
            data,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_finite_int,
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
