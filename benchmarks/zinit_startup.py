"""zinit supervisor: time from `zinit init` to 50 trivial services Running, idle CPU and RSS.

Baselines in the same run: the interpreter's own start-up (`python -c pass`), the supervisor
with no service (start-up to socket answering), and spawning 50 processes directly with
subprocess.Popen. Run: hatch run python benchmarks/zinit_startup.py
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zos_zinit import Client

SERVICES = 50
ROUNDS = 3
IDLE_SECONDS = 10.0
TICKS = os.sysconf("SC_CLK_TCK")


def write_services(config: Path, count: int, test: bool) -> None:
    for i in range(count):
        text = "exec: sleep 1000\n" + ("test: 'true'\n" if test else "")
        (config / f"svc{i:02d}.yaml").write_text(text)


async def until_running(client: Client, count: int, deadline: float) -> None:
    while time.perf_counter() < deadline:
        try:
            states = await client.list()
        except OSError:
            await asyncio.sleep(0.005)
            continue
        if len(states) == count and all(s == "Running" for s in states.values()):
            return
        await asyncio.sleep(0.005)
    raise TimeoutError("services did not reach Running")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def launch(sock: Path, config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zos_zinit",
            "-s",
            str(sock),
            "init",
            "-c",
            str(config),
            "--container",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def run_supervisor(count: int, test: bool, idle: bool) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="zbench-", dir="/tmp"))
    config = root / "cfg"
    config.mkdir()
    write_services(config, count, test)
    sock = root / "zinit.sock"
    client = Client(sock)
    result: dict[str, float] = {}
    start = time.perf_counter()
    proc = launch(sock, config)
    try:
        await until_running(client, count, start + 60)
        result["ready_s"] = time.perf_counter() - start
        if idle:
            await asyncio.sleep(1.0)  # let start-up settle
            cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
            await asyncio.sleep(IDLE_SECONDS)
            cpu1, t1 = cpu_seconds(proc.pid), time.perf_counter()
            result["idle_cpu_pct"] = 100 * (cpu1 - cpu0) / (t1 - t0)
            result["rss_mib"] = rss_mib(proc.pid)
        stop = time.perf_counter()
        await client.shutdown()
        proc.wait(60)
        result["shutdown_s"] = time.perf_counter() - stop
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)
    return result


def direct_spawn(count: int) -> float:
    start = time.perf_counter()
    procs = [
        subprocess.Popen(["sleep", "1000"], stdin=subprocess.DEVNULL, process_group=0)
        for _ in range(count)
    ]
    elapsed = time.perf_counter() - start
    for p in procs:
        p.kill()
        p.wait()
    return elapsed


def python_startup() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


async def main() -> None:
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {ROUNDS} rounds (median)")
    base_py = median([python_startup() for _ in range(ROUNDS)])
    base_spawn = median([direct_spawn(SERVICES) for _ in range(ROUNDS)])
    empty = [await run_supervisor(0, False, False) for _ in range(ROUNDS)]
    plain = [await run_supervisor(SERVICES, False, False) for _ in range(ROUNDS - 1)]
    plain.append(await run_supervisor(SERVICES, False, True))
    tested = [await run_supervisor(SERVICES, True, False) for _ in range(ROUNDS)]

    print(f"baseline: python -c pass                        {base_py * 1000:8.1f} ms")
    print(f"baseline: Popen {SERVICES} x sleep directly              {base_spawn * 1000:8.1f} ms")
    print(
        "zinit init, 0 services, to socket answering     "
        f"{median([r['ready_s'] for r in empty]) * 1000:8.1f} ms"
    )
    print(
        f"zinit init to {SERVICES} services Running               "
        f"{median([r['ready_s'] for r in plain]) * 1000:8.1f} ms"
    )
    print(
        f"zinit init to {SERVICES} services Running (test: true)  "
        f"{median([r['ready_s'] for r in tested]) * 1000:8.1f} ms"
    )
    print(
        f"shutdown of {SERVICES} services                         "
        f"{median([r['shutdown_s'] for r in plain]) * 1000:8.1f} ms"
    )
    idle = plain[-1]
    print(
        f"idle CPU with {SERVICES} services over {IDLE_SECONDS:.0f} s              "
        f"{idle['idle_cpu_pct']:8.2f} %"
    )
    print(f"RSS with {SERVICES} services                            {idle['rss_mib']:8.1f} MiB")


if __name__ == "__main__":
    asyncio.run(main())
