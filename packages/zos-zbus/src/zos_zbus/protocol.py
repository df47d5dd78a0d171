"""The zbus v1.0 messages: Request and Response, byte-exact with upstream (spec §2, §3)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import msgpack  # type: ignore[import-untyped]

from .codec import write_array_header, write_bin, write_map_header, write_nil, write_str

RESPONSE_TTL = 300
"""Seconds a reply list lives in redis (EXPIRE after RPUSH)."""

STATUS_OBJECT = "zbus"
STATUS_VERSION = "1.0"

# Protocol error texts, exactly as upstream's server sends them.
UNKNOWN_OBJECT = "unknown object"
NOT_A_FUNCTION = "not a function"


def arity_error(expected: int, got: int) -> str:
    return f"invalid number of arguments expecting {expected} got {got}"


def argument_error(index: int, go_type: str) -> str:
    return f"invalid argument type [{index}] expecting {go_type} got"


def variadic_argument_error(index: int, go_type: str) -> str:
    return f"invalid argument type [{index}] expecting {go_type}"


def panic_error(obj: ObjectID, method: str, value: object) -> str:
    return f"remote method call {obj}.{method}() paniced: {value}"


@dataclass(frozen=True)
class ObjectID:
    name: str
    version: str = ""

    def __str__(self) -> str:
        return f"{self.name}@{self.version}" if self.version else self.name

    def queue(self, module: str) -> str:
        """The request list of this object in ``module``."""
        return f"{module}.{self}"


def status_object() -> ObjectID:
    return ObjectID(STATUS_OBJECT, STATUS_VERSION)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Request:
    object: ObjectID
    method: str
    inputs: list[bytes] = field(default_factory=list)
    id: str = field(default_factory=new_id)
    reply_to: str = ""

    def __post_init__(self) -> None:
        if not self.reply_to:
            self.reply_to = self.id

    def encode(self) -> bytes:
        out = bytearray()
        write_map_header(out, 5)
        write_str(out, "ID")
        write_str(out, self.id)
        write_str(out, "Inputs")
        write_array_header(out, len(self.inputs))
        for item in self.inputs:
            write_bin(out, item)
        write_str(out, "Object")
        write_map_header(out, 2)
        write_str(out, "Name")
        write_str(out, self.object.name)
        write_str(out, "Version")
        write_str(out, self.object.version)
        write_str(out, "ReplyTo")
        write_str(out, self.reply_to)
        write_str(out, "Method")
        write_str(out, self.method)
        return bytes(out)


class BadRequest(Exception):
    """A request that cannot be served; ``reply_to`` is set when the caller can be told."""

    def __init__(self, reason: str, *, reply_to: str | None = None, id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reply_to = reply_to
        self.id = id


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return None


def _partial_map(data: bytes) -> dict[Any, Any]:
    """The key/value pairs readable before the point where ``data`` breaks."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, unicode_errors="surrogateescape")
    unpacker.feed(data)
    result: dict[Any, Any] = {}
    try:
        n = unpacker.read_map_header()
        for _ in range(n):
            key = unpacker.unpack()
            value = unpacker.unpack()
            if isinstance(key, str | bytes | int):
                result[key] = value
    except Exception:
        pass
    return result


def parse_request(data: bytes) -> Request:
    """Read a Request leniently (like Go: unknown keys skipped, missing keys empty).

    Raises BadRequest with the ReplyTo when one could be read, so the caller can be told.
    """
    try:
        obj = msgpack.unpackb(
            data, raw=False, strict_map_key=False, timestamp=0, unicode_errors="surrogateescape"
        )
        problem = None if isinstance(obj, dict) else "request is not a msgpack map"
    except Exception as exc:
        obj = None
        problem = f"request is not valid msgpack: {exc or type(exc).__name__}"
    if problem is not None or not isinstance(obj, dict):
        partial = _partial_map(data)
        raise BadRequest(
            f"invalid request: {problem}",
            reply_to=_text(partial.get("ReplyTo")) or None,
            id=_text(partial.get("ID")),
        )
    reply_to = _text(obj.get("ReplyTo")) or None
    rid = _text(obj.get("ID"))
    if rid is None:
        rid = ""
    obj_field = obj.get("Object")
    if isinstance(obj_field, dict):
        name = _text(obj_field.get("Name")) or ""
        version = _text(obj_field.get("Version")) or ""
    elif isinstance(obj_field, list | tuple) and len(obj_field) == 2:
        name = _text(obj_field[0]) or ""
        version = _text(obj_field[1]) or ""
    elif obj_field is None:
        name, version = "", ""
    else:
        raise BadRequest("invalid request: Object is not a map", reply_to=reply_to, id=rid)
    method = obj.get("Method")
    method_text = _text(method) if method is not None else ""
    if method_text is None:
        raise BadRequest("invalid request: Method is not a string", reply_to=reply_to, id=rid)
    raw_inputs = obj.get("Inputs")
    if raw_inputs is None:
        raw_inputs = []
    if not isinstance(raw_inputs, list):
        raise BadRequest("invalid request: Inputs is not an array", reply_to=reply_to, id=rid)
    inputs: list[Any] = list(raw_inputs)
    request = Request(ObjectID(name, version), method_text, inputs, id=rid, reply_to=reply_to or "")
    if not reply_to:
        request.reply_to = ""
    return request


@dataclass
class Response:
    id: str
    data: bytes | None = None
    """msgpack of the return value(s), or None."""
    call_error: str | None = None
    """``Output.Error.Message`` (the Go error return), None or empty for no error."""
    protocol_error: str | None = None
    """Top-level ``Error``."""

    def encode(self) -> bytes:
        out = bytearray()
        write_map_header(out, 3)
        write_str(out, "ID")
        write_str(out, self.id)
        write_str(out, "Output")
        write_map_header(out, 2)
        write_str(out, "Data")
        if self.data is None:
            write_nil(out)
        else:
            write_bin(out, self.data)
        write_str(out, "Error")
        if self.call_error is None:
            write_nil(out)
        else:
            write_map_header(out, 1)
            write_str(out, "Message")
            write_str(out, self.call_error)
        write_str(out, "Error")
        if self.protocol_error is None:
            write_nil(out)
        else:
            write_str(out, self.protocol_error)
        return bytes(out)


def parse_response(data: bytes) -> Response:
    """Read a Response; raises ValueError with what is wrong."""
    try:
        obj = msgpack.unpackb(
            data, raw=False, strict_map_key=False, timestamp=0, unicode_errors="surrogateescape"
        )
    except Exception as exc:
        raise ValueError(f"reply is not valid msgpack: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError("reply is not a msgpack map")
    rid = _text(obj.get("ID")) or ""
    top = obj.get("Error")
    protocol_error = _text(top) if top is not None else None
    if top is not None and protocol_error is None:
        raise ValueError("reply Error is not a string")
    output = obj.get("Output")
    data_field: bytes | None = None
    call_error: str | None = None
    if isinstance(output, dict):
        raw = output.get("Data")
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if raw is not None and not isinstance(raw, bytes):
            raise ValueError("reply Output.Data is not bytes")
        data_field = raw
        err = output.get("Error")
        if isinstance(err, dict):
            call_error = _text(err.get("Message"))
        elif err is not None:
            call_error = _text(err)
    elif output is not None:
        raise ValueError("reply Output is not a map")
    return Response(rid, data_field, call_error or None, protocol_error or None)
