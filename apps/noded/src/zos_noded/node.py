"""noded in the development node."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from zos_chain.service import dev_node_url
from zos_cli.node_modules import NodeContext


class NodedModule:
    name = "noded"
    order = 50
    zbus_module = "node"

    def prepare(self, ctx: NodeContext) -> None:
        ctx.module_root(self.name)

    def services(self, ctx: NodeContext) -> Mapping[str, Mapping[str, Any]]:
        command = [ctx.python, "-m", "zos_noded", "--broker", ctx.broker, "--root",
                   str(ctx.module_root(self.name)), "--chain-url", dev_node_url(ctx.state_dir)]
        return {"noded": {"exec": shlex.join(command),
                          "after": ["identityd", "api-gateway", "storaged", "networkd"]}}

    def cleanup(self, ctx: NodeContext) -> None:
        """Nothing outside the module root (the event feed position stays with the node)."""


module = NodedModule()
