"""zos_identity: the node identity (seed file, node id, chain address, crypto).

Clients of identityd import `zos_identity.api`. `NodeIdentityManager` is the implementation;
`zos_identity.seed` reads and writes upstream's seed-file formats.
"""

from zos_identity.keys import KeyPair, encrypt, verify
from zos_identity.manager import NodeIdentityManager

__all__ = ["KeyPair", "NodeIdentityManager", "encrypt", "verify"]
__version__ = "0.1.0"
