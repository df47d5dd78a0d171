"""Go ``encoding/json`` decoding and encoding of the models, driven by their annotations.

Decoding follows Go, not pydantic: keys match exactly, else case-insensitively; unknown keys
are ignored; the last duplicate wins and a repeated object merges into the earlier one; ``null``
leaves a scalar or struct as it was and empties a list, map or optional object; integers must
be integer literals in range (no floats, strings or negatives for unsigned fields); no
coercion between strings, numbers and booleans.
"""

from __future__ import annotations

import calendar
import json
import re
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from ._fastpath import fast_decode
from ._gotypes import GoHex, GoName, GoTimestamp, GoUint, OmitEmpty
from ._jsontext import Float, Obj, Plan, Raw, clean_text, fold_key, parse, to_text
from .errors import ValidationError
from .netaddr import IP, IPNet
from .rawjson import LazySource, RawJSON

Decoder = Callable[[Any, Any], Any]
Encoder = Callable[[Any], str]


class DecodeError(Exception):
    """A decoding failure; struct decoders add the field path on the way up."""

    def __init__(self, problem: str, go_type: str = "", mismatch: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.go_type = go_type
        self.mismatch = mismatch  # Go's UnmarshalTypeError (vs an UnmarshalText error)
        self.path: list[str] = []
        self.struct = ""

    def message(self, top_type: str) -> str:
        field = ".".join(self.path)
        if self.mismatch:
            if field:
                return (
                    f"json: cannot unmarshal {self.problem} into Go struct field "
                    f"{self.struct}.{field} of type {self.go_type}"
                )
            return f"json: cannot unmarshal {self.problem} into Go value of type {self.go_type}"
        if field:
            return f"json: cannot decode Go struct field {self.struct}.{field}: {self.problem}"
        return self.problem


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return f"number {value}"
    if isinstance(value, Float):
        return f"number {value.text}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, (list, tuple)) and not isinstance(value, Obj):
        return "array"
    return "object"


def _mismatch(value: Any, go_type: str) -> DecodeError:
    kind = _kind(value)
    if kind.startswith("number"):
        kind = "number"  # Go names the literal only when the field is numeric
    return DecodeError(kind, go_type, mismatch=True)


def _uint(bits: int, go_name: str) -> Decoder:
    limit = (1 << bits) - 1

    def dec(value: Any, current: Any) -> Any:
        if type(value) is int:
            if 0 <= value <= limit:
                return value
            raise DecodeError(f"number {value}", go_name, mismatch=True)
        if value is None:
            return current
        if isinstance(value, (Float, float)):  # Go names the literal for a numeric field
            raise DecodeError(_kind(value), go_name, mismatch=True)
        raise _mismatch(value, go_name)

    return dec


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})\Z"
)
_TS_ERROR = "unknown timestamp format, expecting a timestamp or an ISO-8601 date"


def _timestamp(value: Any, current: Any) -> Any:
    if type(value) is int:
        if -(2**63) <= value < 2**63:
            return value
        raise DecodeError(_TS_ERROR)
    if value is None:
        return 0  # Go decodes null into a fresh int64: the timestamp becomes 0
    if isinstance(value, str):
        m = _RFC3339.match(value)
        if m is not None:
            year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
            zone = m.group(8)
            try:
                moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except ValueError:
                raise DecodeError(_TS_ERROR) from None
            seconds = calendar.timegm(moment.utctimetuple())
            if zone not in ("Z", "z"):
                sign = 1 if zone[0] == "+" else -1
                offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
                if offset >= timedelta(hours=24):
                    raise DecodeError(_TS_ERROR)
                seconds -= sign * int(offset.total_seconds())
            return seconds
    raise DecodeError(_TS_ERROR)


def _string(go_name: str) -> Decoder:
    def dec(value: Any, current: Any) -> Any:
        if type(value) is str:
            return clean_text(value)
        if value is None:
            return current
        raise _mismatch(value, go_name)

    return dec


def _bool(value: Any, current: Any) -> Any:
    if value is True or value is False:
        return value
    if value is None:
        return current
    raise _mismatch(value, "bool")


def _hex(go_name: str) -> Decoder:
    def dec(value: Any, current: Any) -> Any:
        if type(value) is str:
            return decode_hex(value)
        if value is None:
            return b""
        raise _mismatch(value, go_name)

    return dec


def decode_hex(text: str) -> bytes:
    """Go's ``hex.DecodeString`` with its error texts (a bad byte is reported first)."""
    end = _HEX.match(text).end()  # type: ignore[union-attr]
    if end != len(text):
        ch = text[end]
        raise DecodeError(f"encoding/hex: invalid byte: U+{ord(ch):04X} '{ch}'")
    if len(text) % 2:
        raise DecodeError("encoding/hex: odd length hex string")
    return bytes.fromhex(text)


_HEX = re.compile(r"[0-9a-fA-F]*")


def _ipnet(value: Any, current: Any) -> Any:
    if type(value) is str:
        try:
            return IPNet.parse(value)
        except ValueError as e:
            raise DecodeError(str(e)) from None
    if value is None:
        return current
    raise _mismatch(value, "gridtypes.IPNet")


def _ip(value: Any, current: Any) -> Any:
    if type(value) is str:
        try:
            return IP.parse(value)
        except ValueError as e:
            raise DecodeError(str(e)) from None
    if value is None:
        return IP()
    raise _mismatch(value, "net.IP")


def _raw(value: Any, current: Any) -> Any:
    if isinstance(value, Raw):
        return RawJSON(value.text, value.value)
    return RawJSON(None, value)


def _list(element: Decoder, go_name: str, zero: Callable[[], Any]) -> Decoder:
    def one(item: Any) -> Any:
        new = element(item, None)
        return zero() if new is None else new  # a null element is the zero value

    def dec(value: Any, current: Any) -> Any:
        if isinstance(value, list) and not isinstance(value, Obj):
            return [one(item) for item in value]
        if value is None:
            return []
        raise _mismatch(value, go_name)

    return dec


def _string_map(value: Any, current: Any) -> Any:
    items = _pairs(value)
    if items is not None:
        out = dict(current) if current else {}
        for key, item in items:
            if item is None:
                out[clean_text(key)] = ""
            elif type(item) is str:
                out[clean_text(key)] = clean_text(item)
            else:
                raise _mismatch(item, "string")
        return out
    if value is None:
        return {}
    raise _mismatch(value, "map[string]string")


def _pairs(value: Any) -> list[tuple[str, Any]] | None:
    if isinstance(value, Obj):
        return value
    if isinstance(value, dict):
        return list(value.items())
    return None


class FieldCodec:
    """How one model field is read from and written to JSON."""

    __slots__ = ("attr", "decode", "encode", "json_name", "nullable", "omit_empty")

    def __init__(
        self,
        attr: str,
        json_name: str,
        decode: Decoder,
        encode: Encoder,
        omit_empty: bool,
        nullable: bool,
    ) -> None:
        self.attr = attr
        self.json_name = json_name
        self.decode = decode
        self.encode = encode
        self.omit_empty = omit_empty
        self.nullable = nullable  # None is a value (Go pointer), not "leave as it was"


_new_object = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


class StructCodec:
    """Decoding/encoding of one model class, built once from its annotations."""

    def __init__(self, cls: type[GoModel]) -> None:
        self.cls = cls
        self.go_name = cls.go_type_name()
        self.short_name = self.go_name.rsplit(".", 1)[-1]
        self.fields: list[FieldCodec] = []
        self.exact: dict[str, FieldCodec] = {}
        self.folded: dict[str, FieldCodec] = {}
        self.static_defaults: dict[str, Any] = {}
        self.factories: list[tuple[str, Callable[[], Any]]] = []
        self.fast_kinds: list[str | int | None] = []
        self.direct_decoders: list[Decoder | None] = []
        for attr, info in cls.model_fields.items():
            json_name = info.alias or attr
            decode, encode = _codec_for(info.annotation, info.metadata)
            omit = any(isinstance(m, OmitEmpty) for m in info.metadata)
            nullable = _is_optional(info.annotation)
            fc = FieldCodec(attr, json_name, decode, encode, omit, nullable)
            self.fields.append(fc)
            self.fast_kinds.append(_fast_kind(info.annotation, info.metadata))
            self.direct_decoders.append(None)
            self.exact[json_name] = fc
            self.folded.setdefault(fold_key(json_name), fc)
            if info.default_factory is None:
                self.static_defaults[attr] = info.default
            else:
                self.factories.append((attr, _fast_factory(info.annotation, info.default_factory)))
        self.field_count = len(self.fields)

    def decode_one(self, key: str, value: Any, values: dict[str, Any]) -> None:
        """Apply one key/value pair (any case, null, errors): the general path."""
        fc = self.exact.get(key)
        if fc is None:
            fc = self.folded.get(fold_key(key))
            if fc is None:
                return  # unknown keys are ignored, as in Go
        try:
            new = fc.decode(value, values.get(fc.attr))
        except DecodeError as e:
            e.path.insert(0, fc.json_name)
            if not e.struct:
                e.struct = self.short_name
            raise
        if new is not None or fc.nullable:
            values[fc.attr] = new

    def _annotate(self, e: DecodeError, fc: FieldCodec) -> None:
        e.path.insert(0, fc.json_name)
        if not e.struct:
            e.struct = self.short_name

    def decode_fields(self, pairs: list[tuple[str, Any]], values: dict[str, Any]) -> None:
        self.decode_fields = self._compile()  # type: ignore[method-assign,assignment]
        self.decode_fields(pairs, values)

    def _compile(self) -> Callable[[list[tuple[str, Any]], dict[str, Any]], None]:
        """A decode loop specialised for this struct: exact keys of plain scalars are handled
        inline (the common case), everything else goes through :meth:`decode_one`."""
        for i, info in enumerate(self.cls.model_fields.values()):
            ann = info.annotation
            if isinstance(ann, type) and issubclass(ann, GoModel):
                self.direct_decoders[i] = ann.go_codec().decode_into
        lines = ["def decode_fields(pairs, values):", "    for key, value in pairs:"]
        env: dict[str, Any] = {
            "slow": self.decode_one,
            "DecodeError": DecodeError,
            "annotate": self._annotate,
        }
        first = True
        for i, fc in enumerate(self.fields):
            kw = "if" if first else "elif"
            first = False
            lines.append(f"        {kw} key == {fc.json_name!r}:")
            kind = self.fast_kinds[i]
            attr = repr(fc.attr)
            if kind is None:
                env[f"d{i}"] = self.direct_decoders[i] or fc.decode
                env[f"f{i}"] = fc
                lines.append("            try:")
                lines.append(f"                new = d{i}(value, values.get({attr}))")
                lines.append("            except DecodeError as e:")
                lines.append(f"                annotate(e, f{i})")
                lines.append("                raise")
                if fc.nullable:
                    lines.append(f"            values[{attr}] = new")
                else:
                    lines.append("            if new is not None:")
                    lines.append(f"                values[{attr}] = new")
                lines.append("            continue")
            elif kind == "str":
                lines.append("            if type(value) is str and value.isascii():")
                lines.append(f"                values[{attr}] = value")
                lines.append("                continue")
            elif kind == "bool":
                lines.append("            if value is True or value is False:")
                lines.append(f"                values[{attr}] = value")
                lines.append("                continue")
            else:
                lines.append(f"            if type(value) is int and 0 <= value <= {kind}:")
                lines.append(f"                values[{attr}] = value")
                lines.append("                continue")
        lines.append("        slow(key, value, values)")
        namespace: dict[str, Any] = {}
        exec("\n".join(lines), env, namespace)
        return typing.cast(
            Callable[[list[tuple[str, Any]], dict[str, Any]], None], namespace["decode_fields"]
        )

    def build(self, values: dict[str, Any]) -> GoModel:
        """The model holding ``values`` (already valid), missing fields at their defaults."""
        if len(values) != self.field_count:
            for attr, factory in self.factories:
                if attr not in values:
                    values[attr] = factory()
        obj = _new_object(self.cls)
        _set_dict(obj, values)
        _set_fields_set(obj, set(values))
        _set_extra(obj, None)
        _set_private(obj, None)
        return obj

    def new_default(self) -> GoModel:
        return self.build(dict(self.static_defaults))

    def decode_into(self, value: Any, current: GoModel | None) -> GoModel | None:
        pairs = _pairs(value)
        if pairs is None:
            if value is None:
                return current
            raise _mismatch(value, self.go_name)
        values = dict(current.__dict__) if current is not None else dict(self.static_defaults)
        self.decode_fields(pairs, values)
        return self.build(values)

    def encode(self, model: GoModel) -> str:
        parts = []
        d = model.__dict__
        for fc in self.fields:
            value = d[fc.attr]
            if fc.omit_empty and (value is None or value == [] or value == ""):
                continue
            parts.append(f"{json.dumps(fc.json_name)}:{fc.encode(value)}")
        return "{" + ",".join(parts) + "}"


def _fast_kind(annotation: Any, metadata: list[Any]) -> str | int | None:
    """How a field's common case is decoded inline: "str", "bool", an int limit, or None."""
    for m in metadata:
        if isinstance(m, GoUint):
            return (1 << m.bits) - 1
        if isinstance(m, GoName):
            return "str"
        if isinstance(m, (GoTimestamp, GoHex)):
            return None
    if annotation is str:
        return "str"
    if annotation is bool:
        return "bool"
    return None


def _is_optional(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    return origin in (types.UnionType, typing.Union) and type(None) in typing.get_args(annotation)


def _fast_factory(annotation: Any, factory: Callable[..., Any]) -> Callable[[], Any]:
    if isinstance(annotation, type) and issubclass(annotation, GoModel):
        return lambda: annotation.go_codec().new_default()
    return typing.cast(Callable[[], Any], factory)


def _struct(cls: type[GoModel], optional: bool) -> Decoder:
    codec: list[StructCodec] = []

    def dec(value: Any, current: Any) -> Any:
        if optional and value is None:
            return None
        if not codec:
            codec.append(cls.go_codec())
        return codec[0].decode_into(value, current)

    return dec


def _enc_str(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _enc_bool(value: Any) -> str:
    return "true" if value else "false"


def _enc_int(value: Any) -> str:
    return str(int(value))


def _enc_text(value: Any) -> str:
    return json.dumps(str(value), ensure_ascii=False)


def _enc_hex(value: Any) -> str:
    return '"' + bytes(value).hex() + '"'


def _enc_raw(value: RawJSON) -> str:
    return value.text or "null"


def _enc_map(value: dict[str, str]) -> str:
    return json.dumps(dict(sorted(value.items(), key=lambda kv: kv[0].encode())),
                      ensure_ascii=False, separators=(",", ":"))


def _enc_model(value: Any) -> str:
    if value is None:
        return "null"
    return typing.cast(GoModel, value).go_codec().encode(value)


def _enc_list(element: Encoder) -> Encoder:
    def enc(value: Any) -> str:
        return "[" + ",".join(element(v) for v in value) + "]"

    return enc


def _codec_for(annotation: Any, metadata: list[Any]) -> tuple[Decoder, Encoder]:
    for m in metadata:
        if isinstance(m, GoUint):
            return _uint(m.bits, m.go_name), _enc_int
        if isinstance(m, GoTimestamp):
            return _timestamp, _enc_int
        if isinstance(m, GoHex):
            return _hex(m.go_name), _enc_hex
        if isinstance(m, GoName):
            return _string(m.go_name), _enc_str
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _codec_for(args[0], list(args[1:]))
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and isinstance(inner[0], type) and issubclass(inner[0], GoModel):
            return _struct(inner[0], optional=True), _enc_model
        if inner == [str]:
            return _optional_string, _enc_optional_str
        raise TypeError(f"unsupported optional field type {annotation!r}")
    if origin is list:
        el_dec, el_enc = _codec_for(args[0], [])
        go_name = "[]" + _go_name_of(args[0])
        return _list(el_dec, go_name, _zero_of(args[0])), _enc_list(el_enc)
    if origin is dict:
        return _string_map, _enc_map
    if annotation is str:
        return _string("string"), _enc_str
    if annotation is bool:
        return _bool, _enc_bool
    if annotation is IPNet:
        return _ipnet, _enc_text
    if annotation is IP:
        return _ip, _enc_text
    if annotation is RawJSON:
        return _raw, _enc_raw
    if isinstance(annotation, type) and issubclass(annotation, GoModel):
        return _struct(annotation, optional=False), _enc_model
    raise TypeError(f"unsupported field type {annotation!r}")


def _zero_of(annotation: Any) -> Callable[[], Any]:
    if isinstance(annotation, type) and issubclass(annotation, GoModel):
        return lambda: annotation.go_codec().new_default()
    if annotation is IPNet:
        return IPNet
    if annotation is IP:
        return IP
    if annotation is str:
        return str
    raise TypeError(f"no zero value for list element {annotation!r}")


def _optional_string(value: Any, current: Any) -> Any:
    if value is None:
        return None
    if type(value) is str:
        return clean_text(value)
    raise _mismatch(value, "gridtypes.Name")


def _enc_optional_str(value: Any) -> str:
    return "null" if value is None else _enc_str(value)


def _go_name_of(annotation: Any) -> str:
    if isinstance(annotation, type) and issubclass(annotation, GoModel):
        return annotation.go_type_name()
    if annotation is IPNet:
        return "gridtypes.IPNet"
    if annotation is str:
        return "string"
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        for m in typing.get_args(annotation)[1:]:
            if isinstance(m, (GoName, GoUint, GoHex)):
                return m.go_name
    return "interface {}"


def describe_pydantic_error(model: str, error: PydanticValidationError) -> str:
    """One line per problem: ``Model.field.path: message``."""
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"])
        problems.append(f"{model}.{where}: {item['msg']}" if where else f"{model}: {item['msg']}")
    return "; ".join(problems)


_generation = 0
"""Bumped by every attribute assignment on a grid model: memoised values older than it may be
stale (see ``Deployment.challenge_hash``)."""


def generation() -> int:
    return _generation


class GoModel(BaseModel):
    """Base of every grid type: pydantic model with Go JSON decoding and encoding.

    ``model_validate_json``/``model_validate`` decode like the Go node (see module doc) and
    raise :class:`~zos_gridtypes.ValidationError`; ``model_dump_json`` writes what the Go node
    returns. Keyword construction (``ZMount(size=...)``) uses pydantic's strict validation.
    """

    go_type: ClassVar[str] = ""
    """The Go type name used in error texts, e.g. ``zos.ZMount``."""

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except PydanticValidationError as e:
            raise ValidationError(describe_pydantic_error(type(self).__name__, e)) from None

    def __setattr__(self, name: str, value: Any) -> None:
        # Any assignment to any grid model may change a memoised challenge (``Deployment``).
        global _generation
        _generation += 1
        super().__setattr__(name, value)

    raw_plan: ClassVar[Plan | None] = None
    """Which values of this type's JSON are kept as raw text (see ``_jsontext``)."""

    @classmethod
    def go_type_name(cls) -> str:
        return cls.__dict__.get("go_type") or cls.go_type or cls.__name__

    @classmethod
    def go_codec(cls) -> StructCodec:
        codec = cls.__dict__.get("_go_codec_cache")
        if codec is None:
            codec = StructCodec(cls)
            cls._go_codec_cache = codec  # type: ignore[attr-defined]
        return typing.cast(StructCodec, codec)

    @classmethod
    def go_decode(cls, value: Any) -> typing.Self:
        """Decode an already parsed JSON value; raises ``DecodeError`` (internal)."""
        codec = cls.go_codec()
        pairs = _pairs(value)
        if pairs is None:
            if value is None:
                return typing.cast(typing.Self, codec.new_default())
            raise _mismatch(value, codec.go_name)
        values = dict(codec.static_defaults)
        codec.decode_fields(pairs, values)
        return typing.cast(typing.Self, codec.build(values))

    @classmethod
    def model_validate_json(
        cls,
        json_data: str | bytes | bytearray,
        *,
        strict: bool | None = None,
        extra: Any = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> typing.Self:
        """Decode JSON text the way the Go node does; raises ``ValidationError``."""
        model = fast_decode(cls, json_data)  # the common case, in compiled code
        if model is None:  # anything else (and every error): the exact decoder
            return cls.exact_validate_json(json_data)
        return typing.cast(typing.Self, model)

    @classmethod
    def exact_validate_json(cls, json_data: str | bytes | bytearray) -> typing.Self:
        """``model_validate_json`` without the fast path: the Go-like decoder for any input."""
        text = to_text(json_data)
        value = parse(text)
        try:
            model = cls.go_decode(value)
        except DecodeError as e:
            raise ValidationError(e.message(cls.go_type_name())) from None
        if cls.raw_plan is not None:
            model.attach_source(LazySource(text, cls.raw_plan), ())
        return model

    def attach_source(self, source: LazySource, path: tuple[str | int, ...]) -> None:
        """Tell the raw ``data`` values where their exact text is (see ``LazySource``)."""

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        extra: Any = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> typing.Self:
        """Decode an already parsed JSON value (e.g. from ``json.loads``) like the Go node."""
        if isinstance(obj, cls):
            return obj
        try:
            return cls.go_decode(obj)
        except DecodeError as e:
            raise ValidationError(e.message(cls.go_type_name())) from None
        except RecursionError:
            raise ValidationError("invalid JSON: exceeded max nesting depth") from None

    def model_dump_json(self, **kwargs: Any) -> str:
        """The Go node's JSON encoding of this value (compact; keyword options are ignored)."""
        return self.go_codec().encode(self)

