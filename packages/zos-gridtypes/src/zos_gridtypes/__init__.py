"""zos-gridtypes: the ThreeFold grid's deployment data model, byte-exact with the Go node.

Decode a deployment as the node does, compute its challenge hash, sign and verify it, check it,
plan an update, and compute its capacity::

    d = Deployment.model_validate_json(raw)
    d.valid()
    d.challenge_hash().hex()          # what goes into the node contract
    d.sign(42, seed)                  # ed25519 by default; "sr25519" too
    d.verify(lambda twin: keys[twin])
"""

from . import workload_types
from ._gocodec import GoModel
from .deployment import (
    Deployment,
    Result,
    ResultState,
    Signature,
    SignatureRequest,
    SignatureRequirement,
    Workload,
)
from .errors import SignatureError, ValidationError
from .gateway import (
    GatewayFQDNProxy,
    GatewayFQDNResult,
    GatewayNameProxy,
    GatewayProxyResult,
    backend_error,
)
from .keys import (
    KEY_TYPES,
    KeyPair,
    KeyType,
    generate_mnemonic,
    mini_secret_from_mnemonic,
    ss58_address,
    verify_signature,
)
from .machine import (
    MachineCapacity,
    MachineInterface,
    MachineMount,
    MachineNetwork,
    MachineNetworkLight,
    MyceliumIP,
    ZLogs,
    ZMachine,
    ZMachineLight,
    ZMachineLightResult,
    ZMachineResult,
    min_root_size,
)
from .names import (
    base58,
    deployment_id,
    is_sharable,
    name_error,
    network_id,
    parse_workload_id,
    unique_name,
    workload_id,
    workload_id_path,
)
from .netaddr import IP, IPNet
from .network import Mycelium, Network, NetworkLight, Peer, PublicIP, PublicIP4, PublicIPResult
from .rawjson import RawJSON
from .signing import signed_message
from .storage import (
    ZDB,
    Encryption,
    QuantumCompression,
    QuantumSafeConfig,
    QuantumSafeFS,
    QuantumSafeFSConfig,
    QuantumSafeFSResult,
    QuantumSafeMeta,
    Volume,
    VolumeResult,
    ZdbBackend,
    ZdbGroup,
    ZDBResult,
    ZMount,
    ZMountResult,
)
from .units import Capacity, GiB, KiB, MiB, TiB
from .upgrade import UpgradeOp, node_upgrade_plan, plan_upgrade
from .workload_data import WORKLOAD_TYPES, NetworkLightVariant, WorkloadData

unique = unique_name
"""Alias: ``unique(wid, name)``, Go's ``WorkloadID.Unique``."""

__version__ = "0.1.0"

__all__ = [
    "IP",
    "KEY_TYPES",
    "WORKLOAD_TYPES",
    "ZDB",
    "Capacity",
    "Deployment",
    "Encryption",
    "GatewayFQDNProxy",
    "GatewayFQDNResult",
    "GatewayNameProxy",
    "GatewayProxyResult",
    "GiB",
    "GoModel",
    "IPNet",
    "KeyPair",
    "KeyType",
    "KiB",
    "MachineCapacity",
    "MachineInterface",
    "MachineMount",
    "MachineNetwork",
    "MachineNetworkLight",
    "MiB",
    "Mycelium",
    "MyceliumIP",
    "Network",
    "NetworkLight",
    "NetworkLightVariant",
    "Peer",
    "PublicIP",
    "PublicIP4",
    "PublicIPResult",
    "QuantumCompression",
    "QuantumSafeConfig",
    "QuantumSafeFS",
    "QuantumSafeFSConfig",
    "QuantumSafeFSResult",
    "QuantumSafeMeta",
    "RawJSON",
    "Result",
    "ResultState",
    "Signature",
    "SignatureError",
    "SignatureRequest",
    "SignatureRequirement",
    "TiB",
    "UpgradeOp",
    "ValidationError",
    "Volume",
    "VolumeResult",
    "Workload",
    "WorkloadData",
    "ZDBResult",
    "ZLogs",
    "ZMachine",
    "ZMachineLight",
    "ZMachineLightResult",
    "ZMachineResult",
    "ZMount",
    "ZMountResult",
    "ZdbBackend",
    "ZdbGroup",
    "__version__",
    "backend_error",
    "base58",
    "deployment_id",
    "generate_mnemonic",
    "is_sharable",
    "min_root_size",
    "mini_secret_from_mnemonic",
    "name_error",
    "network_id",
    "node_upgrade_plan",
    "parse_workload_id",
    "plan_upgrade",
    "signed_message",
    "ss58_address",
    "unique",
    "unique_name",
    "verify_signature",
    "workload_id",
    "workload_id_path",
    "workload_types",
]
