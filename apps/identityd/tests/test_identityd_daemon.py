"""identityd's start-up: farm from the kernel command line, bad seeds stop it."""

from __future__ import annotations

from pathlib import Path

import pytest

from zos_identityd.daemon import EXIT_BAD_SEED, farm_from_cmdline, main


def test_farm_from_cmdline(tmp_path: Path) -> None:
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("console=ttyS0 farmer_id=42 farm_secret=s3cret quiet\n")
    assert farm_from_cmdline(cmdline) == (42, "s3cret")
    cmdline.write_text("farmer_id=abc")
    assert farm_from_cmdline(cmdline) == (None, "")
    assert farm_from_cmdline(tmp_path / "missing") == (None, "")


def test_bad_seed_exits_without_touching_it(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    seed = tmp_path / "seed.txt"
    seed.write_bytes(b'"9.9.9"whatever')
    assert main(["--root", str(tmp_path), "--broker", "unix:///nonexistent.sock"]) == (
        EXIT_BAD_SEED)
    assert "unknown version '9.9.9'" in capsys.readouterr().err
    assert seed.read_bytes() == b'"9.9.9"whatever'
