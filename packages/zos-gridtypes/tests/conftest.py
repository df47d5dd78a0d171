"""Fixtures of the zos-gridtypes tests: the shared reference vectors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest


def shared_vectors_dir() -> Path:
    """``shared/vectors``: from ``$ZOS_SHARED_DIR``, else the first ``shared/`` found walking up
    from this file (the repository's checkout has ``shared/`` beside it)."""
    env = os.environ.get("ZOS_SHARED_DIR")
    if env:
        path = Path(env)
        return path / "vectors" if (path / "vectors").is_dir() else path
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "vectors"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("shared/vectors not found beside the repository; set ZOS_SHARED_DIR")


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    with (shared_vectors_dir() / "gridtypes_vectors.json").open() as f:
        return json.load(f)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def cases() -> dict[str, Any]:
    with (shared_vectors_dir() / "gridtypes_cases.json").open() as f:
        return json.load(f)  # type: ignore[no-any-return]
