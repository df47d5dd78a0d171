"""identityd in the development node."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from zos_chain.service import dev_node_url
from zos_cli.node_modules import NodeContext

DEV_FARM_ID = 1  # the farm the development chain creates (see zos_api_gateway.node)


class IdentitydModule:
    name = "identityd"
    order = 30
    zbus_module = "identityd"

    def prepare(self, ctx: NodeContext) -> None:
        ctx.module_root(self.name)

    def services(self, ctx: NodeContext) -> Mapping[str, Mapping[str, Any]]:
        command = [ctx.python, "-m", "zos_identityd", "--broker", ctx.broker, "--root",
                   str(ctx.module_root(self.name)), "--farm-id", str(DEV_FARM_ID),
                   "--chain-url", dev_node_url(ctx.state_dir)]
        return {"identityd": {"exec": shlex.join(command), "after": ["storaged"]}}

    def cleanup(self, ctx: NodeContext) -> None:
        """Nothing: the seed is the node's identity and outlives the node (zos#2501)."""


module = IdentitydModule()
