"""The in-memory log ring: the last N lines of every service, and live followers."""

from __future__ import annotations

import asyncio
from collections import deque

DEFAULT_CAPACITY = 2000


class LogRing:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"log ring capacity must be at least 1 line, got {capacity}")
        self._lines: deque[str] = deque(maxlen=capacity)
        self._followers: set[asyncio.Queue[str]] = set()
        self.capacity = capacity

    def append(self, line: str) -> None:
        self._lines.append(line)
        for queue in self._followers:
            if queue.full():  # a slow follower loses its oldest lines, never blocks services
                queue.get_nowait()
            queue.put_nowait(line)

    def snapshot(self) -> list[str]:
        return list(self._lines)

    def follow(self) -> tuple[list[str], asyncio.Queue[str]]:
        """The current lines and a queue of every later one (atomically: nothing is lost)."""
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=self.capacity)
        self._followers.add(queue)
        return self.snapshot(), queue

    def unfollow(self, queue: asyncio.Queue[str]) -> None:
        self._followers.discard(queue)


def service_line(service: str, text: str, stderr: bool) -> str:
    return f"[{'-' if stderr else '+'}] {service}: {text}"


def start_line(service: str) -> str:
    return f"[-] {service}: ------------ [start] ------------"
