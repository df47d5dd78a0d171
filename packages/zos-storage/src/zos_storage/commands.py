"""The one place storaged runs external programs: logged, and failures raise with stderr."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Sequence

from zos_storage.api import StorageError

log = logging.getLogger(__name__)


class CommandError(StorageError):
    """An external program failed; the message carries its stderr."""

    def __init__(self, argv: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        detail = stderr.strip() or stdout.strip() or "no output"
        super().__init__(f"{' '.join(argv)} failed (exit {returncode}): {detail}")
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def run(argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (no shell); raise :class:`CommandError` on a non-zero exit if ``check``."""
    log.debug("run: %s", " ".join(argv))
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stdout, proc.stderr)
    return proc


def available(program: str) -> bool:
    """Optional programs (partprobe, udevadm, seektime, ...) are skipped when absent."""
    return shutil.which(program) is not None


def run_optional(argv: Sequence[str]) -> None:
    """Run an optional helper; absence or failure is only logged."""
    if not available(argv[0]):
        return
    proc = run(argv, check=False)
    if proc.returncode != 0:
        log.info("%s exited %d: %s", argv[0], proc.returncode, proc.stderr.strip())
