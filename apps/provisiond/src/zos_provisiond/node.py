"""provisiond in the development node: its service, and a boot marker per `zos node up`.

``prepare`` removes the boot marker, so each `zos node up` is a boot for provisiond: every
active deployment is re-provisioned from its store, which survives `zos node down` (a
restart of the daemon alone, by the supervisor, re-runs nothing). ``cleanup`` removes the
marker too; the store stays, like the cache disk of a real node.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


class _Context(Protocol):
    """The part of ``zos_cli.node_modules.NodeContext`` provisiond uses."""

    @property
    def state_dir(self) -> Path: ...
    @property
    def broker(self) -> str: ...
    @property
    def python(self) -> str: ...
    def module_root(self, name: str) -> Path: ...


@dataclass(frozen=True)
class ProvisiondModule:
    name: str = "provisiond"
    order: int = 90
    zbus_module: str = "provision"

    def boot_marker(self, ctx: _Context) -> Path:
        return ctx.state_dir / "run" / "provisiond.booted"

    def prepare(self, ctx: _Context) -> None:
        self.boot_marker(ctx).unlink(missing_ok=True)

    def services(self, ctx: _Context) -> Mapping[str, Mapping[str, Any]]:
        root = ctx.module_root(self.name)
        argv = [
            ctx.python,
            "-m",
            "zos_provisiond",
            "--broker",
            ctx.broker,
            "--root",
            str(root),
            "--boot-marker",
            str(self.boot_marker(ctx)),
        ]
        probe = [ctx.python, "-m", "zos_zbus.cli", "status", "--broker", ctx.broker, "provision"]
        return {
            "provisiond": {
                "exec": shlex.join(argv),
                "test": shlex.join(probe),
                "after": ["redis", "storaged", "noded", "api-gateway", "chain"],
            }
        }

    def cleanup(self, ctx: _Context) -> None:
        self.boot_marker(ctx).unlink(missing_ok=True)


module = ProvisiondModule()
