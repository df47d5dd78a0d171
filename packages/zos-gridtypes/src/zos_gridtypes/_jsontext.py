"""JSON text → Python values with Go ``encoding/json`` semantics where they differ.

* Objects become :class:`Obj` (a list of key/value pairs): duplicate keys and their order are
  kept so the decoder can apply them in order (the last one wins, nested objects merge).
* Floats become :class:`Float` holding their text: no grid field accepts one, and the error
  names the literal as Go does (``number 1.5``).
* ``NaN``/``Infinity`` and a leading BOM are syntax errors, as in Go.
* Selected values (a workload's ``data``) are returned as :class:`Raw` with their exact source
  text, found with the C scanner's end offsets, so the node can echo what the client sent.
"""

from __future__ import annotations

import json
import json.scanner
import re
from collections.abc import Callable
from typing import Any

from .errors import ValidationError


class Obj(list[tuple[str, Any]]):
    """A JSON object as its ordered key/value pairs (duplicates kept)."""

    __slots__ = ()


class Float:
    """A JSON number that is not an integer literal, kept as text."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Float({self.text})"


class Raw:
    """The exact text of one JSON value, with its parsed form cached."""

    __slots__ = ("text", "value")

    def __init__(self, text: str, value: Any) -> None:
        self.text = text
        self.value = value

    def __repr__(self) -> str:
        return f"Raw({self.text!r})"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


_decoder = json.JSONDecoder(
    object_pairs_hook=Obj, parse_float=Float, parse_constant=_reject_constant
)
_scan: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(_decoder)  # type: ignore[arg-type]

_WS = re.compile(r"[ \t\n\r]*")
_KEY = re.compile(r'[ \t\n\r]*"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*')


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(s: str) -> str:
    """``s`` with unpaired surrogates replaced by U+FFFD, as Go's decoder does (valid UTF-8)."""
    if s.isascii():
        return s
    return _SURROGATE.sub("\ufffd", s)


def to_text(raw: str | bytes | bytearray | memoryview) -> str:
    """Decode input bytes as Go does: UTF-8, invalid sequences become U+FFFD."""
    if isinstance(raw, str):
        return clean_text(raw)
    if isinstance(raw, memoryview):
        raw = raw.tobytes()
    return bytes(raw).decode("utf-8", "replace")


def _syntax(text: str, pos: int, what: str) -> ValidationError:
    line = text.count("\n", 0, pos) + 1
    return ValidationError(f"invalid JSON: {what} (line {line}, offset {pos})")


def _value(text: str, pos: int) -> tuple[Any, int]:
    try:
        return _scan(text, pos)
    except StopIteration:
        if pos >= len(text):
            raise _syntax(text, pos, "unexpected end of JSON input") from None
        raise _syntax(
            text, pos, f"invalid character {text[pos]!r} looking for beginning of value"
        ) from None
    except json.JSONDecodeError as e:
        raise _syntax(text, e.pos, e.msg) from None
    except RecursionError:
        raise _syntax(text, pos, "exceeded max nesting depth") from None
    except ValueError as e:  # NaN/Infinity, integers beyond Python's digit limit
        raise _syntax(text, pos, str(e)) from None


# A *plan* says which values to keep raw while parsing: a dict from folded key to sub-plan for
# an object, a one-element list holding the plan of every element for an array, and RAW.
RAW = "raw"
Plan = dict[str, Any] | list[Any] | str


def fold_key(key: str) -> str:
    """Go's key folding (bytes.EqualFold): ASCII case, plus the Kelvin sign and long s."""
    if not key.isascii():
        key = key.replace("\u212a", "k").replace("\u017f", "s")
    return key.lower()


def _planned(text: str, pos: int, plan: Plan | None) -> tuple[Any, int]:
    if plan is None:
        return _value(text, pos)
    if plan == RAW:
        value, end = _value(text, pos)
        return Raw(text[pos:end], value), end
    opener = text[pos : pos + 1]
    if isinstance(plan, dict) and opener == "{":
        return _object(text, pos + 1, plan)
    if isinstance(plan, list) and opener == "[":
        return _array(text, pos + 1, plan[0])
    return _value(text, pos)


def _object(text: str, pos: int, plan: dict[str, Any]) -> tuple[Obj, int]:
    out = Obj()
    pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
    if text.startswith("}", pos):
        return out, pos + 1
    while True:
        m = _KEY.match(text, pos)
        if m is not None:
            key = m.group(1)
            pos = m.end()
        else:
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if not text.startswith('"', pos):
                raise _syntax(text, pos, "expected a string key in object")
            key, pos = _value(text, pos)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if not text.startswith(":", pos):
                raise _syntax(text, pos, "expected ':' after object key")
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
        sub = plan.get(key)
        if sub is None:
            sub = plan.get(fold_key(key))
        value, pos = _planned(text, pos, sub)
        out.append((key, value))
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        ch = text[pos : pos + 1]
        if ch == ",":
            pos += 1
            continue
        if ch == "}":
            return out, pos + 1
        raise _syntax(text, pos, "expected ',' or '}' after object value")


def _array(text: str, pos: int, plan: Plan) -> tuple[list[Any], int]:
    out: list[Any] = []
    pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
    if text.startswith("]", pos):
        return out, pos + 1
    while True:
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        value, pos = _planned(text, pos, plan)
        out.append(value)
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        ch = text[pos : pos + 1]
        if ch == ",":
            pos += 1
            continue
        if ch == "]":
            return out, pos + 1
        raise _syntax(text, pos, "expected ',' or ']' after array element")


def parse(raw: str | bytes | bytearray | memoryview, plan: Plan | None = None) -> Any:
    """Parse a whole JSON document; values at ``plan``'s RAW places come back as :class:`Raw`."""
    text = to_text(raw)
    pos = _WS.match(text).end()  # type: ignore[union-attr]
    value, pos = _planned(text, pos, plan)
    end = _WS.match(text, pos).end()  # type: ignore[union-attr]
    if end != len(text):
        raise _syntax(text, end, f"invalid character {text[end]!r} after top-level value")
    return value
