"""The ZOS bus map (spec §13): every upstream module's objects and methods, to check Python
interfaces against (module / object / version, Go method names, arity, return count).

In a module's tests::

    from zos_zbus.busmap import check_interface
    assert check_interface(StorageModule) == []
"""

from __future__ import annotations

from dataclasses import dataclass

from .interface import spec_of

VERSION = "0.0.1"
"""Every ZOS object is at this version."""


@dataclass(frozen=True)
class Method:
    args: int
    """Fixed arguments (the Go context excluded)."""
    returns: int
    """Non-error returns (for a stream: 1, the event)."""
    variadic: bool = False
    stream: bool = False


def _m(spec: str) -> Method:
    """``"2>1"``: 2 args, 1 return; ``"3+>0"``: 3 args then variadic; ``"~"``: a stream."""
    if spec == "~":
        return Method(0, 1, stream=True)
    args, returns = spec.split(">")
    variadic = args.endswith("+")
    return Method(int(args.rstrip("+")), int(returns), variadic)


def _obj(**methods: str) -> dict[str, Method]:
    return {name: _m(spec) for name, spec in methods.items()}


BUS_MAP: dict[tuple[str, str], dict[str, Method]] = {
    ("identityd", "manager"): _obj(
        NodeID="0>1", Address="0>1", FarmID="0>1", Farm="0>1", FarmSecret="0>1",
        StoreKind="0>1", PrivateKey="0>1", Sign="1>1", Verify="2>0", Encrypt="1>1",
        Decrypt="1>1", EncryptECDH="2>1", DecryptECDH="2>1",
    ),
    ("identityd", "monitor"): _obj(GetVersion="0>1", Version="~"),
    ("registrar", "registrar"): _obj(NodeID="0>1", TwinID="0>1"),
    ("node", "system"): _obj(
        NodeID="0>1", GetNodeFeatures="0>1", CPU="~", Memory="~", Disks="~", Nics="~"
    ),
    ("node", "host"): _obj(Uptime="~"),
    ("node", "performance-monitor"): _obj(Get="1>1", GetAll="0>1"),
    ("storage", "storage"): _obj(
        Cache="0>1", Total="1>1", Devices="0>1", DeviceAllocate="1>1", DeviceLookup="1>1",
        BrokenPools="0>1", BrokenDevices="0>1", VolumeCreate="2>1", VolumeUpdate="2>0",
        VolumeDelete="1>0", VolumeExists="1>1", VolumeLookup="1>1", VolumeList="0>1",
        DiskCreate="2>1", DiskResize="2>1", DiskWrite="2>0", DiskFormat="1>0",
        DiskDelete="1>0", DiskExists="1>1", DiskLookup="1>1", DiskList="0>1", Metrics="0>1",
        Monitor="~",
    ),
    ("network", "network"): _obj(
        Ready="0>0", EnsureZDBPrepare="1>1", ZDBDestroy="1>0", MigrateZdbMacvlanToVeth="0>0",
        QSFSNamespace="1>1", QSFSYggIP="1>1", QSFSPrepare="1>2", QSFSDestroy="1>0",
        SetupPrivTap="2>1", SetupYggTap="1>1", SetupMyceliumTap="3>1", TapExists="1>1",
        RemoveTap="1>0", SetupPubTap="1>1", PubTapExists="1>1", RemovePubTap="1>0",
        DisconnectPubTap="1>0", SetupPubIPFilter="5>0", PubIPFilterExists="1>1",
        RemovePubIPFilter="1>0", CreateNR="2>1", DeleteNR="1>0", Namespace="1>1",
        GetNet="1>1", GetSubnet="1>1", GetDefaultGwIP="1>2", GetIPv6From4="2>1",
        SetPublicConfig="1>0", UnsetPublicConfig="0>0", GetPublicConfig="0>1",
        GetPublicExitDevice="0>1", SetPublicExitDevice="1>0", GetPublicIPv6Subnet="0>1",
        GetPublicIPV6Gateway="0>1", PublicIPv4Support="0>1", Addrs="2>2", Interfaces="2>1",
        WireguardPorts="0>1", Metrics="0>1", ZOSAddresses="~", DMZAddresses="~",
        YggAddresses="~", PublicAddresses="~",
    ),
    ("flist", "flist"): _obj(
        Mount="3>1", UpdateMountSize="2>1", Unmount="1>0", HashFromRootPath="1>1",
        FlistHash="1>1", Exists="1>1",
    ),
    ("container", "container"): _obj(
        Run="2>1", Inspect="2>1", Delete="2>0", SignalDelete="2>0", Exec="3+>0", Logs="2>1",
        List="1>1", ListNS="0>1",
    ),
    ("vmd", "manager"): _obj(
        Run="1>1", Inspect="1>1", Delete="1>0", Exists="1>1", Lock="2>0", List="0>1",
        Logs="1>1", Metrics="0>1", StreamCreate="2>0", StreamDelete="1>0",
    ),
    ("provision", "provision"): _obj(
        CreateOrUpdate="3>0", Get="2>1", List="1>1", Changes="2>1", ListPublicIPs="0>1",
        ListPrivateIPs="2>1", GetWorkloadStatus="1>2", DecommissionCached="2>0",
    ),
    ("provision", "statistics"): _obj(
        Total="0>1", Current="0>1", Workloads="0>1", GetCounters="0>1", ListGPUs="0>1",
        ReservedStream="~",
    ),
    ("gateway", "manager"): _obj(
        SetNamedProxy="2>1", SetFQDNProxy="2>0", DeleteNamedProxy="1>0", Metrics="0>1"
    ),
    ("qsfsd", "manager"): _obj(Mount="2>1", UpdateMount="2>1", SignalDelete="1>0", Metrics="0>1"),
    ("zui", "zui"): _obj(PushErrors="2>0"),
    ("api-gateway", "api-gateway"): _obj(
        GetNode="1>1", GetNodes="1>1", GetNodeByTwinID="1>2", GetNodeContracts="1>1",
        GetNodeRentContract="1>2", GetFarm="1>1", GetTwin="1>1", GetTwinByPubKey="1>2",
        GetContract="1>2", GetContractIDByNameRegistration="1>2", GetPowerTarget="1>1",
        GetTime="0>1", GetZosVersion="0>1", CreateNode="1>1", UpdateNode="1>1",
        CreateTwin="2>1", EnsureAccount="3>1", Report="1>1", SetContractConsumption="0+>0",
        SetNodePowerState="1>1", UpdateNodeUptimeV2="2>1",
    ),
}  # fmt: skip


def check_interface(iface: type, *, require_all: bool = True) -> list[str]:
    """Differences between ``iface`` and the bus map (empty when it matches).

    ``require_all=False`` tolerates methods of the map that the interface does not declare
    (yet); declared methods must always exist in the map with the same shape.
    """
    spec = spec_of(iface).resolve()
    where = f"{spec.module}.{spec.object}"
    expected = BUS_MAP.get((spec.module, spec.object.name))
    if expected is None:
        return [f"{where}: no such object in the ZOS bus map"]
    problems: list[str] = []
    if spec.object.version != VERSION:
        problems.append(f"{where}: version must be {VERSION}")
    for name, m in spec.methods.items():
        want = expected.get(name)
        if want is None:
            problems.append(f"{where}.{name}: not a method of this object upstream")
            continue
        if want.stream != m.is_stream:
            kind = "a stream" if want.stream else "a method"
            problems.append(f"{where}.{name}: must be {kind}")
            continue
        if want.stream:
            continue
        if len(m.params) != want.args:
            problems.append(f"{where}.{name}: {len(m.params)} arguments, upstream has {want.args}")
        if (m.variadic is not None) != want.variadic:
            problems.append(f"{where}.{name}: variadic must be {want.variadic}")
        if len(m.returns) != want.returns:
            problems.append(
                f"{where}.{name}: {len(m.returns)} non-error returns, upstream has {want.returns}"
            )
    if require_all:
        problems += [
            f"{where}.{name}: missing (declared upstream)"
            for name in expected
            if name not in spec.methods
        ]
    return problems
