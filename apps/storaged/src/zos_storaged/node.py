"""storaged in the development node: three loop-file disks and its service.

``prepare`` creates sparse files in the node's state dir and attaches a loop device to each
(2 SSD-typed, 1 HDD-typed); a manifest records file, device and type, and an allowlist file
(``DEVICE=type`` lines) is what the service passes to storaged: ``services`` may be called
before ``prepare``, so it names that file rather than the devices. ``cleanup`` unmounts
what storaged mounted under its root, then detaches only loop devices that still map our
files (found through the files themselves, so it also works after a crash without manifest).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from zos_storage import loopdisk

GIB = 1024**3
DISK_LAYOUT = (("ssd0", "ssd"), ("ssd1", "ssd"), ("hdd0", "hdd"))
DISK_SIZE = 20 * GIB
"""Sparse: only what storaged writes takes real space."""


class _Context(Protocol):
    """The part of ``zos_cli.node_modules.NodeContext`` storaged uses."""

    @property
    def state_dir(self) -> Path: ...
    @property
    def broker(self) -> str: ...
    @property
    def python(self) -> str: ...
    @property
    def tag(self) -> str: ...
    def module_root(self, name: str) -> Path: ...


@dataclass(frozen=True)
class StoragedModule:
    name: str = "storaged"
    order: int = 20
    zbus_module: str = "storage"

    def _disks_dir(self, ctx: _Context) -> Path:
        return ctx.state_dir / "disks"

    def _manifest(self, ctx: _Context) -> Path:
        return self._disks_dir(ctx) / "storaged-disks.json"

    def allowlist(self, ctx: _Context) -> Path:
        """The ``--disks-file`` of the service, written by ``prepare``."""
        return self._disks_dir(ctx) / "storaged-allowlist"

    def disk_files(self, ctx: _Context) -> list[tuple[Path, str]]:
        return [
            (self._disks_dir(ctx) / f"storaged-{ctx.tag}-{name}.img", kind)
            for name, kind in DISK_LAYOUT
        ]

    def prepare(self, ctx: _Context) -> None:
        disks = []
        for file, kind in self.disk_files(ctx):
            attached = loopdisk.devices_of(file) if file.exists() else []
            device = attached[0] if attached else loopdisk.attach(file, DISK_SIZE).device
            disks.append({"file": str(file), "device": device, "type": kind})
        self._manifest(ctx).write_text(json.dumps(disks, indent=2))
        self.allowlist(ctx).write_text("".join(f"{d['device']}={d['type']}\n" for d in disks))

    def disks(self, ctx: _Context) -> list[dict[str, str]]:
        """What ``prepare`` recorded: file, device and type of each disk."""
        manifest = self._manifest(ctx)
        if not manifest.exists():
            return []
        data: list[dict[str, str]] = json.loads(manifest.read_text())
        return data

    def services(self, ctx: _Context) -> Mapping[str, Mapping[str, Any]]:
        root = ctx.module_root(self.name)
        argv = [ctx.python, "-m", "zos_storaged", "--broker", ctx.broker, "--root", str(root)]
        argv += ["--label-prefix", f"{ctx.tag}-", "--disks-file", str(self.allowlist(ctx))]
        cache = shlex.quote(str(root / "cache"))
        probe = shlex.join(
            [ctx.python, "-m", "zos_zbus.cli", "status", "--broker", ctx.broker, self.zbus_module]
        )
        return {
            "storaged": {
                "exec": shlex.join(argv),
                # upstream's readiness (the cache is mounted) and the node's (zbus answers)
                "test": shlex.join(["sh", "-c", f"mountpoint -q {cache} && {probe}"]),
                "after": ["redis", "node-ready"],
            }
        }

    def cleanup(self, ctx: _Context) -> None:
        root = ctx.state_dir / "modules" / self.name
        if root.exists():
            loopdisk.unmount_under(root)
        for file, _ in self.disk_files(ctx):
            for device in loopdisk.devices_of(file):
                loopdisk.detach(loopdisk.LoopDisk(file=file, device=device))
            file.unlink(missing_ok=True)
        self._manifest(ctx).unlink(missing_ok=True)
        self.allowlist(ctx).unlink(missing_ok=True)


module = StoragedModule()
