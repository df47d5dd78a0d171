"""A workload's ``data`` (and a result's ``data``): raw JSON text, decoded per type on demand."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from ._jsontext import Float, Obj, parse
from .errors import ValidationError

_UNPARSED = object()


class RawJSON:
    """JSON text kept exactly as received (``""`` when the key was absent, Go's nil).

    The parsed value and the typed decodings are cached, so decoding the same data for the
    challenge, validation and capacity costs one parse.
    """

    __slots__ = ("_typed", "_value", "text")

    def __init__(self, text: str = "", value: Any = _UNPARSED) -> None:
        self.text = text
        self._value = value
        self._typed: dict[type[Any], Any] = {}

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
        return cls(json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":")), value)

    def value(self) -> Any:
        """The parsed JSON value (objects as ordered pairs); ``ValidationError`` if not JSON."""
        if self._value is _UNPARSED:
            if self.text == "":
                raise ValidationError("unexpected end of JSON input")
            self._value = parse(self.text)
        return self._value

    def cached(self, cls: type[Any]) -> Any:
        return self._typed.get(cls)

    def cache(self, cls: type[Any], typed: Any) -> None:
        self._typed[cls] = typed

    def __bool__(self) -> bool:
        return self.text not in ("", "null")

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
