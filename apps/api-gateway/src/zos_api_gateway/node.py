"""The development chain and the api-gateway in the development node."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from zos_chain.devchain import DevChain
from zos_chain.service import dev_node_url
from zos_cli.node_modules import NodeContext

DEV_FARMER_KEY = bytes.fromhex("fa" * 32)  # the development farmer's account
DEV_FARM_NAME = "dev-farm"


class ChainModule:
    """The development chain service, with a farm (id 1) for the node to join."""

    name = "chain"
    order = 33

    def prepare(self, ctx: NodeContext) -> None:
        chain = DevChain(ctx.module_root(self.name) / "chain.sqlite")
        try:
            if not chain.list_farms():
                chain.create_twin(DEV_FARMER_KEY)
                chain.create_farm(DEV_FARMER_KEY, DEV_FARM_NAME)
        finally:
            chain.close()

    def services(self, ctx: NodeContext) -> Mapping[str, Mapping[str, Any]]:
        url = dev_node_url(ctx.state_dir)
        listen = url.removeprefix("http://")
        serve = [ctx.python, "-m", "zos_chain.cli", "serve", "--db",
                 str(ctx.module_root(self.name) / "chain.sqlite"), "--listen", listen]
        ping = [ctx.python, "-m", "zos_chain.cli", "ping", "--url", url]
        return {"chain": {"exec": shlex.join(serve), "test": shlex.join(ping)}}

    def cleanup(self, ctx: NodeContext) -> None:
        """Nothing: the chain's records outlive the node, like a real chain's."""


class GatewayModule:
    name = "api-gateway"
    order = 35
    zbus_module = "api-gateway"

    def prepare(self, ctx: NodeContext) -> None:
        """Nothing to create."""

    def services(self, ctx: NodeContext) -> Mapping[str, Mapping[str, Any]]:
        command = [ctx.python, "-m", "zos_api_gateway", "--broker", ctx.broker,
                   "--chain-url", dev_node_url(ctx.state_dir)]
        return {"api-gateway": {"exec": shlex.join(command), "after": ["identityd", "chain"]}}

    def cleanup(self, ctx: NodeContext) -> None:
        """Nothing was created."""


chain_module = ChainModule()
gateway_module = GatewayModule()
