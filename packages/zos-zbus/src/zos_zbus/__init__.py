"""zbus v1.0: RPC between ZOS modules over redis, wire-compatible with threefoldtech/zbus.

Define an interface (``@interface`` + ``@method``/``@stream`` with Go names), serve an
implementation with :class:`Server`, call it through ``Client(url).stub(Interface)``.
"""

from .broker import DEFAULT_BROKER
from .client import DEFAULT_TIMEOUT, Client, DropPolicy, Subscription
from .codec import GO_ZERO_TIME, decode, encode, encode_zero, go_type_name, zero
from .errors import (
    BusUnavailable,
    CallError,
    CallTimeout,
    CodecError,
    InterfaceError,
    ProtocolError,
    RemoteCallError,
    ZbusError,
)
from .gotypes import (
    F32,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    Duration,
    Embed,
    GoError,
    GoName,
    GoTypeName,
    OmitEmpty,
    Uint,
    go_field,
)
from .interface import InterfaceSpec, MethodSpec, interface, method, spec_of, stream
from .protocol import ObjectID, Request, Response
from .server import Server, serve
from .status import ObjectStatus, Status, WorkerStatus
from .sync import SyncClient

__all__ = [
    "DEFAULT_BROKER",
    "DEFAULT_TIMEOUT",
    "F32",
    "GO_ZERO_TIME",
    "I8",
    "I16",
    "I32",
    "I64",
    "U8",
    "U16",
    "U32",
    "U64",
    "BusUnavailable",
    "CallError",
    "CallTimeout",
    "Client",
    "CodecError",
    "DropPolicy",
    "Duration",
    "Embed",
    "GoError",
    "GoName",
    "GoTypeName",
    "InterfaceError",
    "InterfaceSpec",
    "MethodSpec",
    "ObjectID",
    "ObjectStatus",
    "OmitEmpty",
    "ProtocolError",
    "RemoteCallError",
    "Request",
    "Response",
    "Server",
    "Status",
    "Subscription",
    "SyncClient",
    "Uint",
    "WorkerStatus",
    "ZbusError",
    "decode",
    "encode",
    "encode_zero",
    "go_field",
    "go_type_name",
    "interface",
    "method",
    "serve",
    "spec_of",
    "stream",
    "zero",
]
