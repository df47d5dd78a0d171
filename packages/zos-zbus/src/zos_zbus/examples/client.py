"""``python -m zos_zbus.examples.client --broker URL``: call every method of the example
server (ours or upstream's Go one) and check the replies; exits 1 on any mismatch."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import zos_zbus as zbus
from zos_zbus import runtime

from .api import MODULE, interfaces

PANIC_TEXT = "remote method call utils@1.0.Panic() paniced: Aaaaah!"


async def run(broker: str, module: str = MODULE, *, ticks: int = 2) -> list[str]:
    """Call everything; return the failures (empty when all replies are as expected)."""
    calculator_iface, utils_iface = interfaces(module)
    failures: list[str] = []

    async def check(label: str, call: Callable[[], Awaitable[Any]], expected: Any) -> None:
        try:
            got: Any = await call()
        except zbus.RemoteCallError as exc:
            got = f"call error: {exc.message}"
        except zbus.ProtocolError as exc:
            got = f"protocol error: {exc.text}"
        except zbus.ZbusError as exc:
            got = f"{type(exc).__name__}: {exc}"
        ok = got == expected
        print(
            f"{'ok  ' if ok else 'FAIL'} {label} = {got!r}"
            + ("" if ok else f" (expected {expected!r})")
        )
        if not ok:
            failures.append(label)

    async with zbus.Client(broker, timeout=10) as bus:
        calc = bus.stub(calculator_iface)
        utils = bus.stub(utils_iface)
        await check("Add(3, 4)", lambda: calc.add(3.0, 4.0), 7.0)
        await check("AddSub(10, 3)", lambda: calc.add_sub(10.0, 3.0), (13.0, 7.0))
        await check("Divide(10, 4)", lambda: calc.divide(10.0, 4.0), 2.5)
        await check("Divide(1, 0)", lambda: calc.divide(1.0, 0.0), "call error: division by zero")
        await check("Pow(2, 10)", lambda: calc.pow(2.0, 10.0), 1024.0)
        await check("Avg([1, 2, 3, 4])", lambda: calc.avg([1.0, 2.0, 3.0, 4.0]), 2.5)
        await check("Avg([])", lambda: calc.avg([]), 0.0)
        await check("Capitalize('hello')", lambda: utils.capitalize("hello"), "HELLO")
        await check("Tuple()", lambda: utils.tuple(), (10, "hello world", 0.5))
        await check("Panic()", lambda: utils.panic(), f"protocol error: {PANIC_TEXT}")
        await check("Sleep(10ms)", lambda: utils.sleep(timedelta(milliseconds=10)), None)
        if ticks:
            async with contextlib.aclosing(utils.tik_tok()) as events:

                async def first_ticks() -> int:
                    seen = 0
                    async for _ in events:
                        seen += 1
                        if seen == ticks:
                            break
                    return seen

                await check(
                    f"TikTok ({ticks} ticks)",
                    lambda: asyncio.wait_for(first_ticks(), ticks + 3),
                    ticks,
                )
    return failures


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="zbus example client")
    parser.add_argument("--broker", default=zbus.DEFAULT_BROKER)
    parser.add_argument("--module", default=MODULE)
    parser.add_argument("--ticks", type=int, default=2, help="TikTok events to wait for (0: skip)")
    args = parser.parse_args(argv)
    failures = runtime.run(run(args.broker, args.module, ticks=args.ticks))
    if failures:
        print(f"{len(failures)} mismatch(es): {', '.join(failures)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
