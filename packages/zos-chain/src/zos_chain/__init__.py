"""zos_chain: the node's chain interface and an embedded development chain.

Clients import `zos_chain.api` (types, errors, the `SubstrateGateway` and `ChainBackend`
interfaces). The development chain is `DevChain` (in-process, sqlite), `ChainServer` /
``zos-chain serve`` (HTTP JSON) and `ChainClient` (its client); `ChainGateway` binds a backend
to the node's key.
"""

from zos_chain.client import ChainClient
from zos_chain.devchain import DevChain
from zos_chain.gateway import BusGateway, ChainGateway
from zos_chain.service import ChainServer

__all__ = ["BusGateway", "ChainClient", "ChainGateway", "ChainServer", "DevChain"]
__version__ = "0.1.0"
