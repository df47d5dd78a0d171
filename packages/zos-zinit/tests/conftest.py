"""A real supervisor per test: ``zinit init --container`` in a private temp folder."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from zos_zinit.testing import RunningZinit


@pytest.fixture
async def zinit() -> AsyncIterator[RunningZinit]:
    # Short path: unix socket paths are limited to 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="zinit-", dir="/tmp"))
    z = RunningZinit(root)
    try:
        yield z
    finally:
        z.stop()
        shutil.rmtree(root, ignore_errors=True)
