"""The development chain as a small HTTP JSON service, shared by a node, clients and tests.

Protocol (all JSON):

- ``POST /v1/<method>`` with an object of the method's arguments (names as in
  `zos_chain.api.ChainBackend`; bytes as hex strings) -> ``200 {"result": ...}``.
- Errors -> ``{"error": {"kind", "code", "message", "field"}}`` with 400 (malformed request or
  invalid value; ``field`` names it), 403 (not the signer's), 404 (unknown method or record
  not found; code 1), 409 (duplicate), 503 (the "unreachable" switch is off).
- ``GET /v1/health`` -> ``{"result": {"block": N}}``;
  ``GET /kyc/v1/status/<ss58 address>`` -> ``{"result": {"status": "VERIFIED" | "UNVERIFIED"}}``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import threading
import typing
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model

from zos_chain.api import (
    U64,
    AccountId,
    ChainUnreachableError,
    ConflictError,
    HexBytes,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    SubstrateError,
    ss58_decode,
)
from zos_chain.devchain import SERVICE_METHODS, DevChain

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024

_STATUS: dict[type[SubstrateError], HTTPStatus] = {
    InvalidRequestError: HTTPStatus.BAD_REQUEST,
    PermissionDeniedError: HTTPStatus.FORBIDDEN,
    NotFoundError: HTTPStatus.NOT_FOUND,
    ConflictError: HTTPStatus.CONFLICT,
    ChainUnreachableError: HTTPStatus.SERVICE_UNAVAILABLE,
}


def wire_type(annotation: Any, name: str = "") -> Any:
    """The JSON-side type of an argument or result: bytes travel as hex."""
    if annotation is bytes:
        return AccountId if name == "account" else HexBytes
    # every integer the chain takes is an id, a count or a time: never negative
    if annotation is int:
        return U64
    if annotation == int | None:
        return U64 | None
    return annotation


@cache
def method_schema(name: str) -> tuple[type[BaseModel], TypeAdapter[Any]]:
    """The argument model (unknown fields forbidden) and result adapter of a method."""
    function = getattr(DevChain, name)
    hints = typing.get_type_hints(function, include_extras=True)
    fields: dict[str, Any] = {}
    for param in list(inspect.signature(function).parameters.values())[1:]:
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (wire_type(hints[param.name], param.name), default)
    model = create_model(
        f"{name}_arguments", __config__=ConfigDict(extra="forbid"), **fields
    )
    result = hints.get("return", type(None))
    return model, TypeAdapter(HexBytes if result is bytes else result)


def error_body(error: SubstrateError) -> dict[str, Any]:
    return {"error": {"kind": error.kind, "code": int(error.code), "message": error.message,
                      "field": getattr(error, "field", None)}}


def _describe(error: ValidationError) -> InvalidRequestError:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    kind = first["type"]
    if kind == "missing":
        message = f"missing field {field!r}"
    elif kind == "extra_forbidden":
        message = f"unknown field {field!r}"
    else:
        message = f"invalid field {field!r}: {first['msg']}"
    return InvalidRequestError(message, field=field)


class ChainService:
    """Dispatches decoded requests to a `DevChain` (kept separate from HTTP for tests)."""

    def __init__(self, chain: DevChain) -> None:
        self.chain = chain

    def call(self, method: str, body: bytes) -> tuple[HTTPStatus, dict[str, Any]]:
        if method not in SERVICE_METHODS:
            return HTTPStatus.NOT_FOUND, error_body(
                NotFoundError(f"unknown method {method!r}"))
        try:
            try:
                payload = json.loads(body or b"{}")
            except ValueError as exc:
                raise InvalidRequestError(f"request body is not JSON: {exc}") from None
            if not isinstance(payload, dict):
                raise InvalidRequestError("request body must be a JSON object of arguments")
            arguments, result_adapter = method_schema(method)
            try:
                parsed = arguments.model_validate(payload)
            except ValidationError as exc:
                raise _describe(exc) from None
            function: Callable[..., Any] = getattr(self.chain, method)
            result = function(**{name: getattr(parsed, name) for name in type(parsed).model_fields})
            return HTTPStatus.OK, {"result": result_adapter.dump_python(result, mode="json")}
        except SubstrateError as exc:
            status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)),
                          HTTPStatus.BAD_REQUEST)
            return status, error_body(exc)

    def kyc_status(self, address: str) -> tuple[HTTPStatus, dict[str, Any]]:
        try:
            try:
                account = ss58_decode(address)
            except ValueError as exc:
                raise InvalidRequestError(str(exc), field="address") from None
            verified = self.chain.is_kyc_verified(self.chain.get_twin_by_pub_key(account))
        except SubstrateError as exc:
            status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)),
                          HTTPStatus.BAD_REQUEST)
            return status, error_body(exc)
        return HTTPStatus.OK, {"result": {"status": "VERIFIED" if verified else "UNVERIFIED"}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse one connection
    # headers and body go out in separate writes: without this, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every response
    disable_nagle_algorithm = True
    server: _Server

    def _send(self, status: HTTPStatus, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        if not self.path.startswith("/v1/"):
            self._send(HTTPStatus.NOT_FOUND, error_body(NotFoundError(f"no route {self.path}")))
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self._send(HTTPStatus.BAD_REQUEST, error_body(InvalidRequestError(
                f"Content-Length must be between 0 and {MAX_BODY}")))
            return
        body = self.rfile.read(length)
        self._send(*self.server.service.call(self.path[len("/v1/"):], body))

    def do_GET(self) -> None:
        if self.path == "/v1/health":
            try:
                block = self.server.service.chain.get_block()
                self._send(HTTPStatus.OK, {"result": {"block": block}})
            except SubstrateError as exc:
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, error_body(exc))
        elif self.path.startswith("/kyc/v1/status/"):
            self._send(*self.server.service.kyc_status(self.path.rsplit("/", 1)[1]))
        else:
            self._send(HTTPStatus.NOT_FOUND, error_body(NotFoundError(f"no route {self.path}")))

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.client_address[0], *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: ChainService) -> None:
        self.service = service
        super().__init__(address, _Handler)


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"listen address must be HOST:PORT, got {listen!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


class ChainServer:
    """An HTTP chain service on a background thread (for in-process use and tests)."""

    def __init__(self, chain: DevChain, listen: str = "127.0.0.1:0") -> None:
        self._server = _Server(parse_listen(listen), ChainService(chain))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> ChainServer:
        self._thread = threading.Thread(target=self.serve_forever, name="chain-http",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> ChainServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def dev_node_url(state_dir: Path) -> str:
    """The chain service URL of the development node whose state is ``state_dir``.

    A loopback port derived from the state dir, so several development nodes on one machine
    (tests) do not collide and every module computes the same URL without asking.
    """
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).digest()
    return f"http://127.0.0.1:{20000 + int.from_bytes(digest[:2], 'big') % 20000}"
