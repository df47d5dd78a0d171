"""The ``zbus`` command: ``zbus status`` (a module's readiness probe) and ``zbus call``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import msgpack  # type: ignore[import-untyped]

from .broker import DEFAULT_BROKER
from .client import Client
from .codec import unpack
from .errors import ZbusError
from .protocol import ObjectID, Request
from .runtime import run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zbus", description="zbus v1.0 tools")
    sub = parser.add_subparsers(dest="command", required=True)

    status = sub.add_parser("status", help="print a module's objects and workers (readiness check)")
    status.add_argument("--broker", default=DEFAULT_BROKER, help="broker URL (default %(default)s)")
    status.add_argument("--timeout", type=float, default=3.0, help="seconds (default %(default)s)")
    status.add_argument("module")

    call = sub.add_parser("call", help="call a method with JSON arguments (debugging)")
    call.add_argument("--broker", default=DEFAULT_BROKER, help="broker URL (default %(default)s)")
    call.add_argument("--timeout", type=float, default=10.0, help="seconds (default %(default)s)")
    call.add_argument("module")
    call.add_argument("object", help="NAME@VERSION, e.g. storage@0.0.1")
    call.add_argument("method", help="Go method name, e.g. VolumeList")
    call.add_argument("args", nargs="*", help="one JSON value per argument")
    return parser


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, msgpack.Timestamp):
        return value.to_datetime().isoformat()
    if isinstance(value, dict):
        return {str(_jsonable(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


async def _status(broker: str, module: str, timeout: float) -> int:  # noqa: ASYNC109
    async with Client(broker, timeout=timeout) as bus:
        status = await bus.status(module, timeout=timeout)
    print(f"module {module}")
    print(status.describe())
    return 0


async def _call(
    broker: str,
    module: str,
    obj: str,
    method: str,
    args: list[str],
    timeout: float,  # noqa: ASYNC109
) -> int:
    name, _, version = obj.partition("@")
    try:
        values = [json.loads(a) for a in args]
    except json.JSONDecodeError as exc:
        print(f"zbus call: argument is not JSON: {exc}", file=sys.stderr)
        return 2
    inputs = [msgpack.packb(v, use_bin_type=True) for v in values]
    object_id = ObjectID(name, version)
    async with Client(broker, timeout=timeout) as bus:
        response = await bus.request(object_id.queue(module), Request(object_id, method, inputs))
    if response.protocol_error:
        print(f"protocol error: {response.protocol_error}", file=sys.stderr)
        return 1
    data = None if response.data is None else unpack(response.data)
    print(json.dumps(_jsonable(data), indent=2, default=str))
    if response.call_error:
        print(f"call error: {response.call_error}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "status":
            return run(_status(args.broker, args.module, args.timeout))
        return run(
            _call(args.broker, args.module, args.object, args.method, args.args, args.timeout)
        )
    except (ZbusError, ValueError) as exc:
        print(f"zbus {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
