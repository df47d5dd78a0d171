"""The kernel's mount table (``/proc/self/mountinfo``) and unmounting."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

_ESCAPE = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


@dataclass(frozen=True)
class MountEntry:
    target: str
    device: str
    """``major:minor`` of the mounted file system."""
    fstype: str
    source: str
    root: str
    options: str
    super_options: str

    def super_option(self, name: str) -> str | None:
        for item in self.super_options.split(","):
            key, _, value = item.partition("=")
            if key == name:
                return value
        return None


def list_mounts() -> list[MountEntry]:
    entries = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            entries.append(
                MountEntry(
                    target=_unescape(fields[4]),
                    device=fields[2],
                    root=_unescape(fields[3]),
                    options=fields[5],
                    fstype=fields[sep + 1],
                    source=_unescape(fields[sep + 2]),
                    super_options=fields[sep + 3] if len(fields) > sep + 3 else "",
                )
            )
    return entries


def _canonical(path: str | os.PathLike[str]) -> str:
    # realpath would stat a dead FUSE mount (ENOTCONN); resolve only the parent.
    p = Path(path).absolute()
    return str(Path(os.path.realpath(p.parent)) / p.name)


def mount_entry(path: str | os.PathLike[str]) -> MountEntry | None:
    """The topmost mount on exactly ``path``, if any."""
    want = _canonical(path)
    found = None
    for entry in list_mounts():
        if entry.target == want:
            found = entry
    return found


def is_mountpoint(path: str | os.PathLike[str]) -> bool:
    return mount_entry(path) is not None


def unmount(path: str | os.PathLike[str], lazy: bool = False) -> None:
    """Unmount ``path`` (``umount``; ``-l`` when lazy). Raises with umount's stderr."""
    args = ["umount", *(["-l"] if lazy else []), str(path)]
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise OSError(f"{' '.join(args)}: {result.stderr.strip()}")
