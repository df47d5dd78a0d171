"""Running a zbus process: uvloop when available (it halves asyncio's per-call overhead)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

R = TypeVar("R")


def run(main: Coroutine[Any, Any, R]) -> R:
    """``asyncio.run(main)`` on uvloop's event loop if installed, else the default loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(main)
    return uvloop.run(main)
