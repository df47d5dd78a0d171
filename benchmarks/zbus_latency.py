"""zbus latency and throughput, beside a bare redis list ping-pong measured in the same run.

    hatch run python benchmarks/zbus_latency.py [--calls 3000] [--seconds 3]

Everything runs on a private redis-server (unix socket). Each measurement uses two
processes, like the spec's reference points (spec §15):

1. floor: bare RPUSH/BLPOP ping-pong between two Python processes (redis-py, sync), 100 B;
2. zbus, 1 caller: Python asyncio client -> Python server (1 worker), Echo(100 B);
3. zbus, 8 callers with 1 and with 4 workers, handler service time 1 ms (asyncio.sleep).

Targets (issue 3): zbus p50 at most 1.2x the floor's p50; 4 workers at least 2x the
single-worker throughput with a 1 ms service time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import timedelta

import redis

import zos_zbus as zbus
from zos_zbus.runtime import run
from zos_zbus.testing import RedisServer

PAYLOAD = b"x" * 100


@zbus.interface(module="bench", object="bench", version="1.0")
class Bench:
    @zbus.method("Echo")
    async def echo(self, data: bytes) -> bytes:
        raise NotImplementedError

    @zbus.method("Work")
    async def work(self, service: zbus.Duration) -> None:
        raise NotImplementedError


class BenchImpl(Bench):
    async def echo(self, data: bytes) -> bytes:
        return data

    async def work(self, service: timedelta) -> None:
        await asyncio.sleep(service.total_seconds())


# -- child processes ------------------------------------------------------------------------


def serve_zbus(broker: str, workers: int) -> None:
    server = zbus.Server("bench", broker, workers=workers)
    server.register(BenchImpl())
    run(zbus.serve(server))


def serve_bare(socket_path: str) -> None:
    r = redis.Redis(unix_socket_path=socket_path)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        item = r.blpop(["bare:req"], timeout=1)
        if item is not None:
            r.rpush("bare:rep", item[1])


def spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, __file__, *args])


def stop(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGTERM)
    process.wait(timeout=10)


# -- measurements ---------------------------------------------------------------------------


def summary(label: str, samples_ns: list[int], elapsed: float) -> dict[str, float]:
    ms = sorted(s / 1e6 for s in samples_ns)
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    rate = len(ms) / elapsed
    print(f"{label:<44} {rate:8.0f} calls/s   p50 {p50:6.3f} ms   p99 {p99:6.3f} ms")
    return {"rate": rate, "p50": p50, "p99": p99}


def bare_pingpong(socket_path: str, calls: int, *, pipelined: bool) -> dict[str, float]:
    server = spawn("--serve-bare", socket_path)
    r = redis.Redis(unix_socket_path=socket_path)
    try:
        samples: list[int] = []
        pipe = r.pipeline(transaction=False)
        for i in range(calls + 200):
            start = time.perf_counter_ns()
            if pipelined:
                pipe.rpush("bare:req", PAYLOAD)
                pipe.blpop(["bare:rep"], timeout=5)
                pipe.execute()
            else:
                r.rpush("bare:req", PAYLOAD)
                r.blpop(["bare:rep"], timeout=5)
            if i == 200:
                began = time.perf_counter()
            if i >= 200:
                samples.append(time.perf_counter_ns() - start)
        elapsed = time.perf_counter() - began
    finally:
        stop(server)
        r.close()
    label = "bare RPUSH/BLPOP ping-pong" + (" (pipelined)" if pipelined else "")
    return summary(label, samples, elapsed)


async def wait_ready(bus: zbus.Client) -> None:
    for _ in range(100):
        try:
            await bus.status("bench", timeout=0.2)
            return
        except zbus.CallTimeout:
            await asyncio.sleep(0.05)
    raise RuntimeError("bench server did not start")


async def zbus_single(broker: str, calls: int) -> dict[str, float]:
    server = spawn("--serve-zbus", broker, "1")
    try:
        async with zbus.Client(broker, timeout=10) as bus:
            await wait_ready(bus)
            bench = bus.stub(Bench)
            samples: list[int] = []
            for _ in range(200):
                await bench.echo(PAYLOAD)
            began = time.perf_counter()
            for _ in range(calls):
                start = time.perf_counter_ns()
                await bench.echo(PAYLOAD)
                samples.append(time.perf_counter_ns() - start)
            elapsed = time.perf_counter() - began
    finally:
        stop(server)
    return summary("zbus Echo(100 B), 1 caller, 1 worker", samples, elapsed)


async def zbus_callers(broker: str, workers: int, callers: int, seconds: float) -> dict[str, float]:
    server = spawn("--serve-zbus", broker, str(workers))
    service = timedelta(milliseconds=1)
    try:
        async with zbus.Client(broker, timeout=10) as bus:
            await wait_ready(bus)
            bench = bus.stub(Bench)
            samples: list[int] = []
            deadline = time.perf_counter() + seconds

            async def caller() -> None:
                while time.perf_counter() < deadline:
                    start = time.perf_counter_ns()
                    await bench.work(service)
                    samples.append(time.perf_counter_ns() - start)

            began = time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(callers)))
            elapsed = time.perf_counter() - began
    finally:
        stop(server)
    return summary(f"zbus Work(1 ms), {callers} callers, {workers} worker(s)", samples, elapsed)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--serve-zbus", nargs=2, metavar=("BROKER", "WORKERS"))
    parser.add_argument("--serve-bare", metavar="SOCKET")
    args = parser.parse_args()
    if args.serve_zbus:
        serve_zbus(args.serve_zbus[0], int(args.serve_zbus[1]))
        return
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return

    with RedisServer() as server:
        print(f"redis-server on {server.socket_path}; {args.calls} calls, {args.seconds:g} s runs")
        bare = bare_pingpong(str(server.socket_path), args.calls, pipelined=False)
        bare_pipelined = bare_pingpong(str(server.socket_path), args.calls, pipelined=True)
        single = run(zbus_single(server.url, args.calls))
        one = run(zbus_callers(server.url, 1, 8, args.seconds))
        four = run(zbus_callers(server.url, 4, 8, args.seconds))

    ratio = single["p50"] / bare["p50"]
    scale = four["rate"] / one["rate"]
    print()
    print(
        f"zbus p50 / bare p50:            {ratio:5.2f}x  (target <= 1.2x)  {_verdict(ratio <= 1.2)}"
    )
    piped = single["p50"] / bare_pipelined["p50"]
    print(f"zbus p50 / bare pipelined p50:  {piped:5.2f}x  (information)")
    print(
        f"4 workers / 1 worker, 1 ms:     {scale:5.2f}x  (target >= 2x)    {_verdict(scale >= 2)}"
    )


def _verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


if __name__ == "__main__":
    main()
