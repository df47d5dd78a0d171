"""Client and server on a real redis-server: replies, error texts, deadlines, status, streams."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

import zos_zbus as zbus
from zos_zbus.broker import Broker
from zos_zbus.conformance import ADD_REQUEST, golden, response
from zos_zbus.examples import client as example_client
from zos_zbus.examples import server as example_server
from zos_zbus.examples.api import Calculator, Utils
from zos_zbus.protocol import ObjectID, Request

pytestmark = pytest.mark.real

CALC_QUEUE = "server.calculator@1.0"


@contextlib.asynccontextmanager
async def running(server: zbus.Server) -> AsyncIterator[zbus.Server]:
    task = asyncio.create_task(server.run())
    await asyncio.sleep(0.05)
    try:
        yield server
    finally:
        server.stop()
        await asyncio.wait_for(task, 2)


@pytest.fixture
async def example(zbus_broker: str) -> AsyncIterator[zbus.Server]:
    async with running(example_server.build(zbus_broker)) as server:
        yield server


@pytest.fixture
async def raw(zbus_broker: str) -> AsyncIterator[aioredis.Redis]:
    r = Broker.parse(zbus_broker).redis()
    yield r
    await r.aclose()


@pytest.fixture
async def bus(zbus_broker: str) -> AsyncIterator[zbus.Client]:
    async with zbus.Client(zbus_broker, timeout=5) as client:
        yield client


async def roundtrip(raw: aioredis.Redis, queue: str, payload: bytes, reply_to: str) -> bytes:
    await raw.rpush(queue, payload)
    item = await raw.blpop([reply_to], timeout=5)
    assert item is not None, "no reply"
    return bytes(item[1])


async def test_example_client_gets_every_expected_reply(
    example: zbus.Server, zbus_broker: str
) -> None:
    assert await example_client.run(zbus_broker, ticks=1) == []


async def test_golden_add_request_gets_the_golden_reply(
    example: zbus.Server, raw: aioredis.Redis
) -> None:
    uuid = "5b0e3f5c-1d64-4c3b-8a57-0123456789ab"
    reply = await roundtrip(raw, CALC_QUEUE, golden(ADD_REQUEST, uuid), uuid)
    assert reply == response("add", uuid)
    ttl = await raw.ttl(uuid)
    assert ttl == -2 or 0 < ttl <= 300  # popped already, or expiring within 300 s


async def test_request_bytes_are_golden() -> None:
    request = Request(
        ObjectID("calculator", "1.0"), "Add", [zbus.encode(3.0, float), zbus.encode(4.0, float)]
    )
    assert request.encode() == golden(ADD_REQUEST, request.id)


async def test_divide_by_zero_sends_zero_value_and_error(
    example: zbus.Server, raw: aioredis.Redis
) -> None:
    request = Request(
        ObjectID("calculator", "1.0"), "Divide", [zbus.encode(1.0, float), zbus.encode(0.0, float)]
    )
    reply = await roundtrip(raw, CALC_QUEUE, request.encode(), request.id)
    assert reply == response("divide_by_zero", request.id)


async def test_unknown_object_golden(example: zbus.Server, raw: aioredis.Redis) -> None:
    request = Request(ObjectID("abacus", "1.0"), "Add", [])
    reply = await roundtrip(raw, CALC_QUEUE, request.encode(), request.id)
    assert reply == response("unknown_object", request.id)


@pytest.mark.parametrize(
    ("obj", "method", "inputs", "text"),
    [
        ("calculator", "Add", [3.0, 4.0], None),
        ("calculator", "Nope", [], "not a function"),
        ("calculator", "add", [3.0, 4.0], "not a function"),  # case-sensitive Go names
        ("utils", "TikTok", [], "not a function"),  # a stream is not callable
        ("calculator", "Add", [3.0], "invalid number of arguments expecting 2 got 1"),
        ("calculator", "Add", [1.0, 2.0, 3.0], "invalid number of arguments expecting 2 got 3"),
        ("calculator", "Add", [3.0, "four"], "invalid argument type [1] expecting float64 got"),
        ("calculator", "Avg", [{"a": 1}], "invalid argument type [0] expecting []float64 got"),
        ("utils", "Sleep", ["1s"], "invalid argument type [0] expecting time.Duration got"),
        ("utils", "Panic", [], "remote method call utils@1.0.Panic() paniced: Aaaaah!"),
    ],
)
async def test_protocol_error_texts_are_upstreams(
    example: zbus.Server,
    bus: zbus.Client,
    obj: str,
    method: str,
    inputs: list[object],
    text: str | None,
) -> None:
    import msgpack

    request = Request(ObjectID(obj, "1.0"), method, [msgpack.packb(i) for i in inputs])
    reply = await bus.request(f"server.{obj}@1.0", request)
    assert reply.protocol_error == text
    if text is not None:
        assert reply.data is None
        with pytest.raises(zbus.ProtocolError) as info:
            zbus.client._raise_for(reply)
        assert info.value.text == text


async def test_typed_stub_raises_typed_errors(example: zbus.Server, bus: zbus.Client) -> None:
    calc = bus.stub(Calculator)
    assert await calc.add(1, 2) == 3.0
    assert await calc.add_sub(a=5.0, b=1.0) == (6.0, 4.0)
    with pytest.raises(zbus.RemoteCallError, match="division by zero") as info:
        await calc.divide(1.0, 0.0)
    assert isinstance(info.value, zbus.CallError)
    with pytest.raises(zbus.ProtocolError, match="paniced: Aaaaah!"):
        await bus.stub(Utils).panic()
    with pytest.raises(zbus.CodecError, match="argument a"):
        await calc.add("one", 2.0)  # type: ignore[arg-type]
    assert await bus.call(Calculator.pow, 2.0, 3.0) == 8.0


async def test_call_to_a_missing_module_times_out_and_is_withdrawn(
    zbus_broker: str, raw: aioredis.Redis
) -> None:
    async with zbus.Client(zbus_broker, timeout=0.3) as client:
        with pytest.raises(zbus.CallTimeout, match="not picked up") as info:
            await client.stub(Calculator).add(1.0, 2.0)
    assert info.value.picked_up is False
    assert await raw.llen(CALC_QUEUE) == 0  # the request will never run late


async def test_late_reply_expires(
    example: zbus.Server, bus: zbus.Client, raw: aioredis.Redis
) -> None:
    utils = bus.stub(Utils, timeout=0.2)
    with pytest.raises(zbus.CallTimeout, match="no reply within") as info:
        await utils.sleep(timedelta(seconds=0.5))
    assert info.value.picked_up is True
    await asyncio.sleep(0.5)
    keys = [k for k in await raw.keys("*") if len(k) == 36]
    assert len(keys) == 1, "the late reply is left in redis"
    assert 0 < await raw.ttl(keys[0]) <= 300


async def test_queued_request_survives_a_server_restart(zbus_broker: str, bus: zbus.Client) -> None:
    call = asyncio.create_task(bus.stub(Calculator).add(20.0, 22.0))
    await asyncio.sleep(0.2)  # queued while no server runs
    async with running(example_server.build(zbus_broker)):
        assert await asyncio.wait_for(call, 5) == 42.0
    # and once more across a stop/start
    async with running(example_server.build(zbus_broker)):
        assert await bus.stub(Calculator).add(1.0, 1.0) == 2.0


async def test_status_answers_while_every_worker_is_busy(
    example: zbus.Server, bus: zbus.Client
) -> None:
    sleeping = asyncio.create_task(bus.stub(Utils).sleep(timedelta(seconds=1)))
    await asyncio.sleep(0.2)
    status = await bus.status("server", timeout=0.5)
    assert [str(o) for o in status.objects] == ["calculator@1.0", "utils@1.0"]
    assert len(status.workers) == 1
    worker = status.workers[0]
    assert worker.state == "busy"
    assert worker.action == "[utils@1.0].Sleep()"
    assert worker.start_time.year >= 2024
    await sleeping
    status = await bus.status("server", timeout=0.5)
    assert status.workers[0].state == "free"


async def test_dispatcher_pops_only_when_a_worker_is_free(
    example: zbus.Server, bus: zbus.Client, raw: aioredis.Redis
) -> None:
    utils = bus.stub(Utils)
    calls = [asyncio.create_task(utils.sleep(timedelta(milliseconds=300))) for _ in range(3)]
    await asyncio.sleep(0.15)
    assert await raw.llen("server.utils@1.0") == 2  # the backlog stays in redis
    await asyncio.gather(*calls)


async def test_more_workers_run_calls_concurrently(zbus_broker: str, bus: zbus.Client) -> None:
    async with running(example_server.build(zbus_broker, workers=4)):
        utils = bus.stub(Utils)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.gather(*(utils.sleep(timedelta(milliseconds=300)) for _ in range(4)))
        assert loop.time() - start < 0.9


async def test_status_of_a_missing_module_times_out(bus: zbus.Client) -> None:
    with pytest.raises(zbus.CallTimeout):
        await bus.status("nobody", timeout=0.2)


async def test_unavailable_broker_is_an_exception(tmp_path: object) -> None:
    async with zbus.Client("unix:///nonexistent/zbus.sock", timeout=1) as client:
        with pytest.raises(zbus.BusUnavailable):
            await client.stub(Calculator).add(1.0, 2.0)


async def test_a_broken_server_never_hangs_or_crashes_the_client(
    bus: zbus.Client, raw: aioredis.Redis
) -> None:
    async def broken_server(reply: bytes) -> None:
        item = await raw.blpop([CALC_QUEUE], timeout=5)
        assert item is not None
        request_id = zbus.protocol.parse_request(bytes(item[1])).reply_to
        await raw.rpush(request_id, reply)

    calc = bus.stub(Calculator)
    for garbage, error in [
        (b"\x93\x01", "not valid msgpack"),
        (b"\xa3abc", "not a msgpack map"),
        (zbus.Response("x", data=b"\xa3abc").encode(), "unreadable reply"),
        (zbus.Response("x", data=b"\xc1").encode(), "unreadable reply"),
    ]:
        server = asyncio.create_task(broken_server(garbage))
        with pytest.raises(zbus.ProtocolError, match=error):
            await calc.add(1.0, 2.0)
        await server


@zbus.interface(module="gauges", object="meter", version="0.0.1")
class Meter:
    @zbus.stream("Level")
    def level(self) -> AsyncGenerator[int, None]:
        raise NotImplementedError


class MeterImpl(Meter):
    def __init__(self) -> None:
        self.values: asyncio.Queue[int] = asyncio.Queue()

    async def level(self) -> AsyncGenerator[int, None]:
        while True:
            yield await self.values.get()


@pytest.mark.parametrize(("policy", "expected"), [("keep_latest", [3, 4]), ("drop_new", [1, 4])])
async def test_stream_drop_policy(
    zbus_broker: str, bus: zbus.Client, policy: zbus.DropPolicy, expected: list[int]
) -> None:
    impl = MeterImpl()
    server = zbus.Server("gauges", zbus_broker)
    server.register(impl)
    async with running(server), bus.subscribe(Meter.level, policy=policy) as levels:
        for v in (1, 2, 3):
            impl.values.put_nowait(v)
        await asyncio.sleep(0.2)  # the consumer is busy: 3 events, 1 slot
        got = [await anext(levels)]
        impl.values.put_nowait(4)
        got.append(await asyncio.wait_for(anext(levels), 2))
        assert got == expected
        assert levels.dropped == 2


async def test_stream_skips_undecodable_messages(
    zbus_broker: str, bus: zbus.Client, raw: aioredis.Redis
) -> None:
    async with bus.stub(Meter).level() as levels:
        await raw.publish("gauges.meter@0.0.1.Level", b"\xa3abc")
        await raw.publish("gauges.meter@0.0.1.Level", zbus.encode(7, int))
        assert await asyncio.wait_for(anext(levels), 2) == 7


def test_sync_facade(zbus_broker: str) -> None:
    async def serve_for(seconds: float) -> None:
        async with running(example_server.build(zbus_broker)):
            await asyncio.sleep(seconds)

    import threading

    thread = threading.Thread(target=asyncio.run, args=(serve_for(1.5),))
    thread.start()
    try:
        with zbus.SyncClient(zbus_broker, timeout=3) as bus:
            calc = bus.stub(Calculator)
            assert calc.add(1.0, 2.0) == 3.0
            assert bus.call(Calculator.add_sub, 3.0, 1.0) == (4.0, 2.0)
            with pytest.raises(zbus.RemoteCallError):
                calc.divide(1.0, 0.0)
            assert bus.status("server").objects[0].name == "calculator"
    finally:
        thread.join()


def test_registering_is_checked(zbus_broker: str) -> None:
    server = zbus.Server("server", zbus_broker)
    server.register(example_server.CalculatorImpl())
    with pytest.raises(zbus.InterfaceError, match="object already exists"):
        server.register(example_server.CalculatorImpl())
    with pytest.raises(zbus.InterfaceError, match="does not implement"):
        server.register(Utils())
    with pytest.raises(zbus.InterfaceError, match="belongs to module"):
        server.register(MeterImpl())
    with pytest.raises(zbus.InterfaceError, match="object id is reserved"):
        zbus.interface(module="x", object="zbus", version="1.0")(type("Reserved", (), {}))
    with pytest.raises(ValueError, match="invalid number of workers"):
        zbus.Server("server", zbus_broker, workers=0)


async def test_a_cancelled_call_is_withdrawn(zbus_broker: str, raw: aioredis.Redis) -> None:
    async with zbus.Client(zbus_broker, timeout=5) as client:
        call = asyncio.create_task(client.stub(Calculator).add(1.0, 2.0))
        await asyncio.sleep(0.1)
        assert await raw.llen(CALC_QUEUE) == 1
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.sleep(0.1)
        assert await raw.llen(CALC_QUEUE) == 0
        # the client still works afterwards
        async with running(example_server.build(zbus_broker)):
            assert await client.stub(Calculator).add(1.0, 2.0) == 3.0


async def test_stop_within_a_second_even_with_a_call_in_flight(
    zbus_broker: str, bus: zbus.Client
) -> None:
    server = example_server.build(zbus_broker)
    task = asyncio.create_task(server.run())
    await asyncio.sleep(0.05)
    call = asyncio.create_task(bus.stub(Utils).sleep(timedelta(seconds=10)))
    await asyncio.sleep(0.2)
    loop = asyncio.get_running_loop()
    start = loop.time()
    server.stop()
    await asyncio.wait_for(task, 2)
    assert loop.time() - start < 1.0
    # the caller is told instead of waiting for its deadline
    with pytest.raises(zbus.ProtocolError, match=r"Sleep\(\) paniced: server shutting down"):
        await asyncio.wait_for(call, 2)


async def test_a_busy_object_does_not_starve_the_others(
    zbus_broker: str, bus: zbus.Client, raw: aioredis.Redis
) -> None:
    server = zbus.Server("server", zbus_broker)
    server.register(example_server.UtilsImpl())  # utils first: BLPOP would always prefer it
    server.register(example_server.CalculatorImpl())
    sleep = zbus.encode(timedelta(milliseconds=40), zbus.Duration)
    for _ in range(10):  # 400 ms of work queued on utils@1.0
        request = Request(ObjectID("utils", "1.0"), "Sleep", [sleep])
        await raw.rpush("server.utils@1.0", request.encode())
    async with running(server):
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert await bus.stub(Calculator).add(1.0, 1.0) == 2.0
        assert loop.time() - start < 0.2, "the calculator waited for the whole utils backlog"
