"""A workload's ``data`` (and a result's ``data``): raw JSON text, decoded per type on demand."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from ._jsontext import Float, Obj, Plan, Raw, fold_key, parse
from .errors import ValidationError

_UNPARSED = object()


class LazySource:
    """The source text of a decoded document, parsed again only if raw text is asked for.

    The hot path (decode, hash, check, verify) never needs the exact text of ``data``, so the
    document is parsed once by the C scanner; the exact text is found on first use by a second
    parse that keeps the planned values raw.
    """

    __slots__ = ("_tree", "plan", "text")

    def __init__(self, text: str, plan: Plan) -> None:
        self.text = text
        self.plan = plan
        self._tree: Any = _UNPARSED

    def find(self, path: tuple[str | int, ...]) -> str | None:
        if self._tree is _UNPARSED:
            try:
                self._tree = parse(self.text, self.plan)
            except ValidationError:
                self._tree = None
        found = _find(self._tree, path)
        return found.text if isinstance(found, Raw) else None


def _find(value: Any, path: tuple[str | int, ...]) -> Any:
    # The last match wins, as in Go's decoder (a repeated object merges into the earlier one).
    if not path:
        return value
    step, rest = path[0], path[1:]
    if isinstance(step, int):
        if isinstance(value, list) and not isinstance(value, Obj) and step < len(value):
            return _find(value[step], rest)
        return None
    if not isinstance(value, Obj):
        return None
    found = None
    for key, item in value:
        if fold_key(key) == step:
            candidate = _find(item, rest)
            if candidate is not None:
                found = candidate
    return found


class RawJSON:
    """JSON text kept as received (``""`` when the key was absent, Go's nil).

    The parsed value and the typed decodings are cached, so decoding the same data for the
    challenge, validation and capacity costs one parse.
    """

    __slots__ = ("_challenges", "_source", "_text", "_typed", "_value")

    def __init__(self, text: str | None = "", value: Any = _UNPARSED) -> None:
        self._text = text
        self._value = value
        self._typed: dict[type[Any], Any] | None = None
        self._challenges: dict[tuple[type[Any], str], str] | None = None
        self._source: tuple[LazySource, tuple[str | int, ...]] | None = None

    @property
    def text(self) -> str:
        """The JSON text exactly as received (re-encoded only for values built in Python)."""
        if self._text is None:
            found = None
            if self._source is not None:
                found = self._source[0].find(self._source[1])
            if found is None:
                found = json.dumps(
                    _plain(self._value), ensure_ascii=False, separators=(",", ":")
                )
            self._text = found
        return self._text

    def attach(self, source: LazySource, path: tuple[str | int, ...]) -> None:
        if self._text is None:
            self._source = (source, path)

    @classmethod
    def from_value(cls, value: Any) -> RawJSON:
        """Raw JSON for a Python value: a model (its Go encoding), JSON text, or plain data."""
        if isinstance(value, RawJSON):
            return value
        if isinstance(value, BaseModel):
            return cls(value.model_dump_json())
        if isinstance(value, (bytes, bytearray)):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str):
            raw = cls(value)
            raw.value()  # reject text that is not JSON now, not when it is used
            return raw
        return cls(None, value)

    def value(self) -> Any:
        """The parsed JSON value (objects as ordered pairs); ``ValidationError`` if not JSON."""
        if self._value is _UNPARSED:
            if self._text == "":
                raise ValidationError("unexpected end of JSON input")
            self._value = parse(self.text)
        return self._value

    def cached(self, cls: type[Any]) -> Any:
        return self._typed.get(cls) if self._typed is not None else None

    def cache(self, cls: type[Any], typed: Any) -> None:
        if self._typed is None:
            self._typed = {}
        self._typed[cls] = typed

    def cached_challenge(self, cls: type[Any], variant: str) -> str | None:
        return self._challenges.get((cls, variant)) if self._challenges is not None else None

    def cache_challenge(self, cls: type[Any], variant: str, challenge: str) -> None:
        if self._challenges is None:
            self._challenges = {}
        self._challenges[(cls, variant)] = challenge

    def is_absent(self) -> bool:
        return self._text == "" and self._value is _UNPARSED

    def __bool__(self) -> bool:
        """False when absent or ``null``."""
        if self.is_absent():
            return False
        if self._value is not _UNPARSED:
            return self._value is not None
        return self.text.strip() != "null"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RawJSON):
            return self.text == other.text
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"RawJSON({self.text!r})"

    def __str__(self) -> str:
        return self.text

    @classmethod
    def _coerce(cls, value: Any) -> RawJSON:
        try:
            return cls.from_value(value)
        except ValidationError as e:
            raise ValueError(str(e)) from None

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._coerce,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda v: json.loads(v.text) if v.text else None
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"description": "raw JSON, decoded according to the workload type"}


def _plain(value: Any) -> Any:
    """Turn parsed values (ordered pairs, float literals) back into json.dumps input."""
    if isinstance(value, Obj):
        return {k: _plain(v) for k, v in value}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Float):
        return float(value.text)
    return value
