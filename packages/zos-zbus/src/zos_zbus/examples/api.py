"""The interfaces of upstream zbus's example server (``examples/server/api``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import zos_zbus as zbus

MODULE = "server"


@zbus.interface(module=MODULE, object="calculator", version="1.0")
class Calculator:
    @zbus.method("Add")
    async def add(self, a: float, b: float) -> float:
        """a + b"""
        raise NotImplementedError

    @zbus.method("AddSub")
    async def add_sub(self, a: float, b: float) -> tuple[float, float]:
        """(a + b, a - b)"""
        raise NotImplementedError

    @zbus.method("Divide")
    async def divide(self, a: float, b: float) -> float:
        """a / b; CallError("division by zero") when b is 0"""
        raise NotImplementedError

    @zbus.method("Pow")
    async def pow(self, a: float, b: float) -> float:
        """a ** b"""
        raise NotImplementedError

    @zbus.method("Avg")
    async def avg(self, values: list[float]) -> float:
        """the mean, 0 for no values"""
        raise NotImplementedError


@zbus.interface(module=MODULE, object="utils", version="1.0")
class Utils:
    @zbus.method("Capitalize")
    async def capitalize(self, s: str) -> str:
        """upper case"""
        raise NotImplementedError

    @zbus.method("Tuple")
    async def tuple(self) -> tuple[int, str, float]:
        """(10, "hello world", 0.5)"""
        raise NotImplementedError

    @zbus.stream("TikTok")
    def tik_tok(self) -> AsyncGenerator[datetime, None]:
        """the time, once a second"""
        raise NotImplementedError

    @zbus.method("Panic")
    async def panic(self) -> int:
        """always panics with "Aaaaah!" """
        raise NotImplementedError

    @zbus.method("Sleep")
    async def sleep(self, duration: zbus.Duration) -> None:
        """sleeps ``duration``"""
        raise NotImplementedError


def interfaces(module: str = MODULE) -> tuple[type[Calculator], type[Utils]]:
    """The two interfaces, declared under another module name when ``module`` differs."""
    if module == MODULE:
        return Calculator, Utils
    calc = zbus.interface(module=module, object="calculator", version="1.0")(
        type("Calculator", (Calculator,), {})
    )
    utils = zbus.interface(module=module, object="utils", version="1.0")(
        type("Utils", (Utils,), {})
    )
    return calc, utils
