"""flistd in the development node: its root under the state dir, its service, its cleanup.

``cleanup`` unmounts whatever flistd left mounted under its root (workload mounts first, then
the shared read-only FUSE mounts), so a crashed node leaves no mount behind.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from zos_flist.mounts import list_mounts


class _Context(Protocol):
    """The part of ``zos_cli.node_modules.NodeContext`` flistd uses."""

    @property
    def state_dir(self) -> Path: ...
    @property
    def broker(self) -> str: ...
    @property
    def python(self) -> str: ...
    def module_root(self, name: str) -> Path: ...


def unmount_under(root: Path) -> list[str]:
    """Lazily unmount every mount below ``root``, deepest first; return what was unmounted."""
    prefix = str(root.resolve()) + "/"
    done = []
    for entry in sorted(list_mounts(), key=lambda e: -len(e.target)):
        if entry.target.startswith(prefix):
            subprocess.run(["umount", "-l", entry.target], check=False, capture_output=True)
            done.append(entry.target)
    return done


@dataclass(frozen=True)
class FlistdModule:
    name: str = "flistd"
    order: int = 40

    def prepare(self, ctx: _Context) -> None:
        ctx.module_root(self.name)

    def services(self, ctx: _Context) -> Mapping[str, Mapping[str, Any]]:
        root = ctx.module_root(self.name)
        argv = [ctx.python, "-m", "zos_flistd", "--broker", ctx.broker, "--root", str(root)]
        probe = [ctx.python, "-m", "zos_zbus.cli", "status", "--broker", ctx.broker, "flist"]
        return {
            "flistd": {
                "exec": shlex.join(argv),
                "test": shlex.join(probe),
                "after": ["redis", "storaged"],
            }
        }

    def cleanup(self, ctx: _Context) -> None:
        root = ctx.state_dir / "modules" / self.name
        if root.exists():
            unmount_under(root)


module = FlistdModule()
