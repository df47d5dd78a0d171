"""A compiled fast path for decoding the common case of client JSON.

The exact Go-like decoder (``_gocodec``) runs in Python and costs more than a signature check.
Most documents a node receives are plain, though: every key spelled exactly as Go writes it,
each key once, every value of its field's JSON type and in range, no ``null`` in place of a
value, and workloads of known types. For those, pydantic-core parses the text and builds the
very same models in one compiled call.

The fast path only ever *accepts* a document the exact decoder decodes to the same models, and
declines everything else (returns None), so the caller falls back to the exact decoder for any
doubt, and every error message comes from the exact decoder. Declined in particular: a key in
another case or unknown (Go folds case and ignores unknown keys), a duplicated key (Go merges
repeated objects), ``null`` (Go keeps the previous value or resets), floats, negative or
out-of-range integers, RFC 3339 timestamps, invalid UTF-8 or unpaired surrogates (the exact
decoder substitutes U+FFFD), unknown workload types, workload ``data`` that does not decode into
its type (the error is raised later, by ``valid()``), and a result ``data`` other than ``null``.

The models built here match the exact decoder's byte for byte: the same field values (default
values from the same factories), every field in ``model_fields_set``, no extra, and a workload's
``data`` as lazily recovered raw text with its typed decoding already cached.
"""

from __future__ import annotations

import re
import threading
import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic_core import SchemaValidator, core_schema

from . import _cfast
from ._gotypes import GoHex, GoName, GoTimestamp, GoUint
from .netaddr import _V4_MAPPED_PREFIX, IP, IPNet
from .rawjson import LazySource, RawJSON

if TYPE_CHECKING:
    from ._gocodec import GoModel

CoreSchema = core_schema.CoreSchema


class _Unsupported(Exception):
    """The type has no fast path (its decoding is special): always use the exact decoder."""


Fields = tuple[dict[str, Any], Any, set[str]]


def _completer(raw_attrs: tuple[str, ...]) -> Callable[[Fields, Any], Fields]:
    """The step after a model's fields are validated, as the exact decoder would leave them."""

    def complete(fields: Fields, info: Any) -> Fields:
        values, _, present = fields
        info.context[0] += len(present)  # keys seen, for the duplicate check
        for attr in raw_attrs:
            if values[attr] is None:
                values[attr] = RawJSON(None, None)  # what ``"data": null`` decodes to
        # Every field is marked as set (absent ones hold their default), no extra.
        return values, None, set(values)

    return complete


def _workload_complete(fields: Fields, info: Any) -> Fields:
    # ``data`` was decoded into its type's model; keep it as raw JSON (its text recovered
    # from the source when asked for) with that decoding cached, as ``workload_data`` would.
    values, _, present = fields
    context = info.context
    context[0] += len(present)
    typed = values["data"]
    raw = RawJSON(None)
    raw.cache(type(typed), typed)
    values["data"] = raw
    source = context[1]
    if source is not None:  # a deployment's workloads, validated in order
        index = context[2]
        context[2] = index + 1
        raw.attach(source, ("workloads", index, "data"))
        values["result"].data.attach(source, ("workloads", index, "result", "data"))
    return values, None, set(values)


def _count_map(value: dict[str, str], info: Any) -> dict[str, str]:
    info.context[0] += len(value)
    return value


def _hex(text: str) -> bytes:
    try:
        return _decode_hex(text)
    except Exception as e:  # the exact decoder's DecodeError
        raise ValueError(str(e)) from None


_OCTET = r"(0|[1-9][0-9]{0,2})"
_CIDR4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}/(0|[1-9][0-9]?)")


def _ipnet(text: str) -> IPNet:
    """``IPNet.parse``, with its most common case (canonical IPv4 CIDR text) done first."""
    m = _CIDR4.fullmatch(text)
    if m is not None:
        a, b, c, d, n = int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5])
        if a < 256 and b < 256 and c < 256 and d < 256 and n <= 32:
            return IPNet(_V4_MAPPED_PREFIX + bytes((a, b, c, d)), n, True, text)
    return IPNet.parse(text)


_STR = core_schema.str_schema(strict=True)
_BOOL = core_schema.bool_schema(strict=True)


def _after(function: Callable[[Any], Any], schema: CoreSchema) -> CoreSchema:
    return core_schema.no_info_after_validator_function(function, schema)


def field_kind(annotation: Any, metadata: list[Any]) -> tuple[str, Any]:
    """How a field's plain JSON value decodes, for both fast paths: ``(kind, argument)``.

    Kinds: ``uint`` (the maximum), ``int64``, ``hex``, ``str``, ``bool``, ``list`` (the item
    annotation), ``map`` (string to string), ``ipnet``, ``ip``, ``raw`` (only ``null``), and
    ``model`` (the class). ``_Unsupported`` for anything else; an optional field is its inner
    type (``null`` is declined: Go's rules differ).
    """
    for m in metadata:
        if isinstance(m, GoUint):
            return "uint", (1 << m.bits) - 1
        if isinstance(m, GoTimestamp):
            return "int64", None
        if isinstance(m, GoHex):
            return "hex", None
        if isinstance(m, GoName):
            return "str", None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return field_kind(args[0], list(args[1:]))
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return field_kind(inner[0], [])
        raise _Unsupported(annotation)
    if origin is list:
        return "list", args[0]
    if origin is dict and args == (str, str):
        return "map", None
    simple = {str: "str", bool: "bool", IPNet: "ipnet", IP: "ip", RawJSON: "raw"}
    if isinstance(annotation, type) and annotation in simple:
        return simple[annotation], None
    if isinstance(annotation, type) and _is_go_model(annotation):
        return "model", annotation
    raise _Unsupported(annotation)


class _SchemaBuilder:
    """pydantic-core schemas mirroring ``_gocodec``'s decoders, restricted to the plain case."""

    def __init__(self) -> None:
        self.schemas: dict[type[Any], CoreSchema] = {}

    def field(self, annotation: Any, metadata: list[Any]) -> CoreSchema:
        kind, arg = field_kind(annotation, metadata)
        if kind == "uint":
            return core_schema.int_schema(strict=True, ge=0, le=arg)
        if kind == "int64":
            return core_schema.int_schema(strict=True, ge=-(2**63), le=2**63 - 1)
        if kind == "list":
            return core_schema.list_schema(self.field(arg, []), strict=True)
        if kind == "map":
            return core_schema.with_info_after_validator_function(
                _count_map, core_schema.dict_schema(_STR, _STR, strict=True)
            )
        if kind == "model":
            return self.model(arg)
        if kind == "raw":
            return core_schema.none_schema()  # made RawJSON by the model's completer
        convert = {"hex": _hex, "ipnet": _ipnet, "ip": IP.parse}.get(kind)
        if convert is not None:
            return _after(convert, _STR)
        return _BOOL if kind == "bool" else _STR

    def model(self, cls: type[GoModel]) -> CoreSchema:
        # Inlined, not referenced: no type is recursive, and references cost a recursion
        # guard per value.
        schema = self.schemas.get(cls)
        if schema is None:
            from ._gocodec import GoModel

            if cls.go_decode.__func__ is not GoModel.go_decode.__func__:  # type: ignore[attr-defined]
                raise _Unsupported(cls)  # decoding has its own rules
            if cls.__name__ == "Workload" and cls.__module__.endswith(".deployment"):
                schema = self.workload(cls)
            else:
                raw_attrs = tuple(
                    attr for attr, info in cls.model_fields.items() if info.annotation is RawJSON
                )
                complete = core_schema.with_info_after_validator_function(
                    _completer(raw_attrs), self.fields(cls, {})
                )
                schema = core_schema.model_schema(cls, complete)
            self.schemas[cls] = schema
        return schema

    def fields(self, cls: type[GoModel], override: dict[str, CoreSchema]) -> CoreSchema:
        from ._gocodec import _fast_factory

        fields: dict[str, core_schema.ModelField] = {}
        for attr, info in cls.model_fields.items():
            json_name = info.alias or attr
            schema = override.get(attr)
            if schema is None:
                schema = self.field(info.annotation, info.metadata)
                if info.default_factory is None:
                    schema = core_schema.with_default_schema(schema, default=info.default)
                else:
                    factory = _fast_factory(info.annotation, info.default_factory)
                    schema = core_schema.with_default_schema(schema, default_factory=factory)
            fields[attr] = core_schema.model_field(
                schema, validation_alias=json_name if json_name != attr else None
            )
        return core_schema.model_fields_schema(
            fields, extra_behavior="forbid", model_name=cls.__name__
        )

    def workload(self, cls: type[GoModel]) -> CoreSchema:
        """A workload: its ``type`` selects the model its ``data`` must decode into."""
        from .workload_data import WORKLOAD_TYPES

        choices: dict[str, CoreSchema] = {}
        for type_name, data_cls in WORKLOAD_TYPES.items():
            try:
                data = self.model(data_cls)
            except _Unsupported:
                continue
            override = {"type": core_schema.literal_schema([type_name]), "data": data}
            complete = core_schema.with_info_after_validator_function(
                _workload_complete, self.fields(cls, override)
            )
            choices[type_name] = core_schema.model_schema(cls, complete)
        return core_schema.tagged_union_schema(choices, "type", strict=True)


def _is_go_model(cls: type[Any]) -> bool:
    from ._gocodec import GoModel

    return issubclass(cls, GoModel)


_validators: dict[type[Any], SchemaValidator | None] = {}
# Set with the first validator (import cycle): the hex decoder, and the class whose workloads
# are attached to their source while they are validated.
_decode_hex: Callable[[str], bytes]
_deployment_class: type[Any] | None = None
_LOCK = threading.Lock()
use_c = True
"""Whether the C fast path (``_cfast``) is used when built; tests turn it off to cover this one."""


def _validator(cls: type[GoModel]) -> SchemaValidator | None:
    if cls in _validators:
        return _validators[cls]
    global _decode_hex, _deployment_class
    from ._gocodec import decode_hex
    from .deployment import Deployment

    _decode_hex = decode_hex
    _deployment_class = Deployment
    builder = _SchemaBuilder()
    validator: SchemaValidator | None
    try:
        top = builder.model(cls)
    except _Unsupported:
        validator = None
    else:
        # pydantic-core reuses a complete model class's own validator (its keyword
        # construction schema) for any model schema of that class; these schemas must be
        # used instead, so the classes are shown as incomplete while the validator is built.
        classes = [c for c in builder.schemas if c.__dict__.get("__pydantic_complete__")]
        with _LOCK:
            try:
                for c in classes:
                    type.__setattr__(c, "__pydantic_complete__", False)
                validator = SchemaValidator(top)
            finally:
                for c in classes:
                    type.__setattr__(c, "__pydantic_complete__", True)
    _validators[cls] = validator
    return validator


def fast_decode(cls: type[GoModel], json_data: str | bytes | bytearray) -> Any:
    """``cls`` decoded from ``json_data`` when the document is plain; None to decline.

    The model comes with its raw-text source attached. With the C extension built (and
    ``use_c``), ``_cfast`` decides instead of pydantic-core.
    """
    if _cfast.AVAILABLE and use_c:
        try:
            data = json_data if isinstance(json_data, bytes) else _to_bytes(json_data)
        except Exception:
            return None
        return _cfast.fast_decode(cls, data)
    validator = _validators.get(cls, False)
    if validator is False:
        validator = _validator(cls)
    if validator is None:
        return None
    plan = cls.raw_plan
    try:
        data = json_data if isinstance(json_data, bytes) else _to_bytes(json_data)
        keys = _key_count(data)
        if keys is None:
            return None
        source = LazySource(data, plan) if plan is not None else None
        # [keys seen, the source when the workload step attaches it, next workload index]
        context = [0, source if cls is _deployment_class else None, 0]
        model = validator.validate_json(data, context=context)  # type: ignore[union-attr]
    except Exception:  # any doubt: the exact decoder decides (and words the error)
        return None
    # pydantic-core keeps one of a repeated key; Go applies each in turn (merging objects).
    if context[0] != keys:
        return None
    if source is not None and context[1] is None:
        model.attach_source(source, ())
    return model


_SPACED_KEY = re.compile(rb'"[ \t\n\r]+:')


def _key_count(data: bytes) -> int | None:
    """How many object keys the JSON text holds, or None when that is not simply counted.

    Every key ends with ``":`` (whitespace before the colon: declined). Within strings a quote
    is escaped, so ``\\":`` is not a key's end, unless the backslash is itself escaped: text
    with an escaped backslash is declined. Compared with the distinct keys the models used,
    this finds a repeated key anywhere in the document.
    """
    # (Each scan costs about a microsecond: single bytes first, the rest only when needed.)
    escaped = 0
    if b"\\" in data:  # few backslashes: split at them (memchr) rather than scan twice
        for piece in data.split(b"\\")[1:]:
            if not piece:
                return None  # an escaped backslash
            if piece[:2] == b'":':
                escaped += 1
    if (
        b"\n" in data or b"\r" in data or b"\t" in data or b" :" in data
    ) and _SPACED_KEY.search(data) is not None:
        return None
    return data.count(b'":') - escaped


def _to_bytes(json_data: str | bytes | bytearray | memoryview) -> bytes:
    if isinstance(json_data, str):
        return json_data.encode()  # unpaired surrogates raise: declined
    return bytes(json_data)
