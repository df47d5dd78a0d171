"""A small progress line on stderr for long work (pack, unpack, clone)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts items and bytes; redraws at most 5 times a second, only on a terminal."""

    def __init__(self, what: str, total_bytes: int = 0, stream: TextIO | None = None,
                 enabled: bool | None = None) -> None:
        self.what = what
        self.total_bytes = total_bytes
        self.items = 0
        self.bytes = 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self._drawn = 0.0

    def advance(self, items: int = 0, nbytes: int = 0) -> None:
        self.items += items
        self.bytes += nbytes
        now = time.monotonic()
        if self.enabled and now - self._drawn >= 0.2:
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float, end: str = "") -> None:
        elapsed = max(now - self.started, 1e-9)
        mib = self.bytes / 2**20
        rate = self.bytes / elapsed / 1e6
        total = f"/{self.total_bytes / 2**20:.1f}" if self.total_bytes else ""
        pct = f" {100 * self.bytes / self.total_bytes:3.0f}%" if self.total_bytes else ""
        self.stream.write(
            f"\r{self.what}: {self.items} items, {mib:.1f}{total} MiB{pct}, {rate:.1f} MB/s{end}"
        )
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self._draw(time.monotonic(), end="\n")
