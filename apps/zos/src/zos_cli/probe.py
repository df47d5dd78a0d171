"""The readiness probe of a module daemon: the one place that says how it is checked.

A module service is Running once ``zbus status --broker URL MODULE`` (the ``zbus`` command of
zos-zbus) exits 0, i.e. the daemon serves its zbus object. zinit runs it every 2 s until it
passes (the service file's ``test``).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from zos_cli.node_modules import NodeContext


def zbus_command(ctx: NodeContext) -> str:
    """The ``zbus`` command of the node's environment (beside its interpreter)."""
    return str(Path(ctx.python).parent / "zbus")


def readiness_probe(ctx: NodeContext, zbus_module: str) -> str:
    return shlex.join([zbus_command(ctx), "status", "--broker", ctx.broker, zbus_module])
