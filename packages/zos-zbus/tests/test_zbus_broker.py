"""Broker URLs and password authentication (a user part in the URL is the password)."""

from __future__ import annotations

import asyncio

import pytest

import zos_zbus as zbus
from zos_zbus.broker import Broker
from zos_zbus.examples import server as example_server
from zos_zbus.examples.api import Calculator
from zos_zbus.testing import RedisServer


def test_broker_urls() -> None:
    unix = Broker.parse("unix:///var/run/redis.sock")
    assert (unix.unix_path, unix.password) == ("/var/run/redis.sock", None)
    tcp = Broker.parse("tcp://secret@10.0.0.1:6380")
    assert (tcp.host, tcp.port, tcp.password) == ("10.0.0.1", 6380, "secret")
    assert Broker.parse("tcp://localhost").port == 6379
    assert Broker.parse("unix://pw@/tmp/r.sock").password == "pw"
    for bad in ("http://x", "unix://", "tcp://:1"):
        with pytest.raises(ValueError, match="broker URL"):
            Broker.parse(bad)


@pytest.mark.real
async def test_password_protected_broker(tmp_path_factory: pytest.TempPathFactory) -> None:
    with RedisServer(tmp_path_factory.mktemp("zbus-auth"), password="s3cret") as redis:
        server = example_server.build(redis.url)
        task = asyncio.create_task(server.run())
        try:
            async with zbus.Client(redis.url, timeout=5) as bus:
                assert await bus.stub(Calculator).add(1.0, 2.0) == 3.0
                assert (await bus.status("server")).objects
            wrong = redis.url.replace("s3cret", "wrong")
            async with zbus.Client(wrong, timeout=1) as bus:
                with pytest.raises(zbus.BusUnavailable, match="refused the password"):
                    await bus.stub(Calculator).add(1.0, 2.0)
        finally:
            server.stop()
            await task


@pytest.mark.real
async def test_shared_redis_fixture(zbus_shared_broker: str) -> None:
    async with zbus.Client(zbus_shared_broker, timeout=1) as bus:
        with pytest.raises(zbus.CallTimeout):
            await bus.status("nobody-shared", timeout=0.1)


@pytest.mark.real
async def test_server_and_client_survive_a_redis_restart(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.mktemp("zbus-restart")
    redis = RedisServer(folder).start()
    server = example_server.build(redis.url)
    task = asyncio.create_task(server.run())
    try:
        async with zbus.Client(redis.url, timeout=2) as bus:
            calc = bus.stub(Calculator)
            assert await calc.add(1.0, 2.0) == 3.0
            redis.stop()
            with pytest.raises(zbus.BusUnavailable):
                await calc.add(1.0, 2.0)
            redis = RedisServer(folder).start()
            await asyncio.sleep(1.5)  # the server reconnects after a second
            assert await calc.add(2.0, 2.0) == 4.0
            assert not task.done()
    finally:
        server.stop()
        await asyncio.wait_for(task, 3)
        redis.stop()
