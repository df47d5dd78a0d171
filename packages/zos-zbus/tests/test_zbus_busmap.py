"""The bus map check other modules use on their interfaces; and variadic methods."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import msgpack
import pytest

import zos_zbus as zbus
from zos_zbus.busmap import BUS_MAP, check_interface
from zos_zbus.protocol import ObjectID, Request


@zbus.interface(module="container", object="container", version="0.0.1")
class ContainerModule:
    @zbus.method("Exec")
    async def exec(self, ns: str, id: str, wait: zbus.Duration, *args: str) -> None:
        raise NotImplementedError

    @zbus.method("ListNS")
    async def list_ns(self) -> list[str]:
        raise NotImplementedError


@zbus.interface(module="container", object="container", version="1.0")
class WrongContainer:
    @zbus.method("Exec")
    async def exec(self, ns: str, id: str) -> str:
        raise NotImplementedError

    @zbus.method("Bogus")
    async def bogus(self) -> None:
        raise NotImplementedError


def test_bus_map_check() -> None:
    assert check_interface(ContainerModule, require_all=False) == []
    missing = check_interface(ContainerModule)
    assert "container.container@0.0.1.Run: missing (declared upstream)" in missing
    problems = check_interface(WrongContainer, require_all=False)
    assert problems == [
        "container.container@1.0: version must be 0.0.1",
        "container.container@1.0.Exec: 2 arguments, upstream has 3",
        "container.container@1.0.Exec: variadic must be True",
        "container.container@1.0.Exec: 1 non-error returns, upstream has 0",
        "container.container@1.0.Bogus: not a method of this object upstream",
    ]
    assert len(BUS_MAP[("network", "network")]) == 43


class Container(ContainerModule):
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, timedelta, tuple[str, ...]]] = []

    async def exec(self, ns: str, id: str, wait: timedelta, *args: str) -> None:
        self.calls.append((ns, id, wait, args))

    async def list_ns(self) -> list[str]:
        return []


@pytest.mark.real
async def test_variadic_arguments_are_flattened(zbus_broker: str) -> None:
    impl = Container()
    server = zbus.Server("container", zbus_broker)
    server.register(impl)
    task = asyncio.create_task(server.run())
    try:
        async with zbus.Client(zbus_broker, timeout=5) as bus:
            c = bus.stub(ContainerModule)
            await c.exec("ns", "id", timedelta(seconds=2), "ls", "-l", "/")
            await c.exec("ns", "id", timedelta(0))
            assert impl.calls == [
                ("ns", "id", timedelta(seconds=2), ("ls", "-l", "/")),
                ("ns", "id", timedelta(0), ()),
            ]
            queue = "container.container@0.0.1"
            obj = ObjectID("container", "0.0.1")
            few = await bus.request(queue, Request(obj, "Exec", [msgpack.packb("ns")]))
            assert few.protocol_error == "invalid number of arguments expecting 3 got 1"
            inputs = [msgpack.packb(v) for v in ("ns", "id", 5, "ok", 7)]
            bad = await bus.request(queue, Request(obj, "Exec", inputs))
            assert bad.protocol_error is not None
            assert bad.protocol_error.startswith("invalid argument type [")
            assert bad.protocol_error.endswith("expecting string")
    finally:
        server.stop()
        await task
