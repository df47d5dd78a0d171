"""``python -m zos_zbus.examples.server --broker URL [--module server]``: the example server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
from collections.abc import AsyncGenerator, Sequence
from datetime import UTC, datetime, timedelta

import zos_zbus as zbus
from zos_zbus.runtime import run

from .api import MODULE, Calculator, Utils, interfaces


class CalculatorImpl(Calculator):
    async def add(self, a: float, b: float) -> float:
        return a + b

    async def add_sub(self, a: float, b: float) -> tuple[float, float]:
        return a + b, a - b

    async def divide(self, a: float, b: float) -> float:
        if b == 0:
            raise zbus.CallError("division by zero")
        return a / b

    async def pow(self, a: float, b: float) -> float:
        return math.pow(a, b)

    async def avg(self, values: list[float]) -> float:
        return sum(values) / len(values) if values else 0.0


class UtilsImpl(Utils):
    async def capitalize(self, s: str) -> str:
        return s.upper()

    async def tuple(self) -> tuple[int, str, float]:
        return 10, "hello world", 0.5

    async def tik_tok(self) -> AsyncGenerator[datetime, None]:
        while True:
            await asyncio.sleep(1)
            yield datetime.now(UTC)

    async def panic(self) -> int:
        raise RuntimeError("Aaaaah!")

    async def sleep(self, duration: timedelta) -> None:
        await asyncio.sleep(duration.total_seconds())


def build(broker: str, module: str = MODULE, workers: int = 1) -> zbus.Server:
    """The example server for ``module`` (``server`` unless told otherwise)."""
    calculator, utils = interfaces(module)
    server = zbus.Server(module, broker, workers=workers)
    server.register(CalculatorImpl(), calculator)
    server.register(UtilsImpl(), utils)
    return server


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="zbus example server (calculator@1.0, utils@1.0)")
    parser.add_argument("--broker", default=zbus.DEFAULT_BROKER)
    parser.add_argument("--module", default=MODULE)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    run(zbus.serve(build(args.broker, args.module, args.workers)))


if __name__ == "__main__":
    main()
