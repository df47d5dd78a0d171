"""Virtual machines (``zmachine``, ``zmachine-light``) and their log streams (``zlogs``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from . import workload_types as wt
from ._gocodec import GoModel
from ._gotypes import OMIT_EMPTY, U8, GoHex, Name, Unit
from ._gourl import URLError, parse_url
from .errors import ValidationError
from .netaddr import IP, UNSET_IP
from .units import Capacity, GiB, MiB
from .workload_data import NetworkLightVariant, WorkloadData, b, register

if TYPE_CHECKING:
    from .deployment import Deployment

MYCELIUM_SEED_LENGTH = 6
MIN_MEMORY = 250 * MiB
RESERVED_NETWORK_NAMES = ("ygg", "pub", "mycelium")

_U64 = (1 << 64) - 1


def min_root_size(cpu: int, memory: int) -> int:
    """The smallest root disk of a VM: 2 GiB when cpu × memory ≥ 8 GiB, else 500 MiB."""
    if ((cpu * memory) & _U64) // (8 * GiB) >= 1:
        return 2 * GiB
    return 500 * MiB


class MachineInterface(GoModel):
    """A VM's interface on a private network, with its fixed IP in the network's subnet."""

    go_type = "zos.MachineInterface"

    network: Name = ""
    ip: IP = UNSET_IP


class MyceliumIP(GoModel):
    """The VM's mycelium address: the network it uses and a 6-byte seed."""

    go_type = "zos.MyceliumIP"

    # Go has no JSON name for this field: it matches any case on input and writes
    # ``Network``; we accept the same and write ``network``.
    network: Name = ""
    hex_seed: Annotated[bytes, GoHex("zos.Bytes")] = b""


class MachineNetwork(GoModel):
    go_type = "zos.MachineNetwork"

    public_ip: Name = ""
    planetary: bool = False
    interfaces: list[MachineInterface] = Field(default_factory=list)
    mycelium: Annotated[MyceliumIP | None, OMIT_EMPTY] = None


class MachineNetworkLight(GoModel):
    go_type = "zos.MachineNetworkLight"

    interfaces: list[MachineInterface] = Field(default_factory=list)
    mycelium: Annotated[MyceliumIP | None, OMIT_EMPTY] = None


class MachineCapacity(GoModel):
    go_type = "zos.MachineCapacity"

    cpu: U8 = 0
    memory: Unit = 0


class MachineMount(GoModel):
    """A disk, volume or qsfs of the same deployment mounted in the VM."""

    go_type = "zos.MachineMount"

    name: Name = ""
    mountpoint: str = ""


class ZMachineResult(GoModel):
    go_type = "zos.ZMachineResult"

    id: str = ""
    ip: str = ""
    planetary_ip: str = ""
    mycelium_ip: str = ""
    console_url: str = ""

    @classmethod
    def go_decode(cls, value: Any) -> ZMachineResult:
        # Old nodes wrote ``ygg_ip``: accept it when ``planetary_ip`` is absent.
        result = super().go_decode(value)
        if not result.planetary_ip:
            legacy = _YggResult.go_decode(value).ygg_ip
            if legacy:
                result.planetary_ip = legacy
        return result


class _YggResult(GoModel):
    ygg_ip: str = ""


class ZMachineLightResult(GoModel):
    go_type = "zos.ZMachineLightResult"

    id: str = ""
    ip: str = ""
    mycelium_ip: str = ""
    console_url: str = ""


class _MachineBase(WorkloadData):
    # The fields are declared by each subclass so that they encode in Go's order.
    if TYPE_CHECKING:
        flist: str
        network: MachineNetwork | MachineNetworkLight
        size: int
        compute_capacity: MachineCapacity
        mounts: list[MachineMount]
        entrypoint: str
        env: dict[str, str]
        gpu: list[str]

    def _write_network(self, out: list[str]) -> None:
        for interface in self.network.interfaces:
            out += (interface.network, interface.ip.challenge_text())
        mycelium = self.network.mycelium
        if mycelium is not None:
            out += (mycelium.network, mycelium.hex_seed.hex())

    def _write_rest(self, out: list[str]) -> None:
        out.append(str(self.size))
        out += (str(self.compute_capacity.cpu), str(self.compute_capacity.memory))
        for mount in self.mounts:
            out += (mount.name, mount.mountpoint)
        out.append(self.entrypoint)
        for key in sorted(self.env, key=str.encode):
            out.append(f"{key}={self.env[key]}")
        out += self.gpu

    def min_root_size(self) -> int:
        return min_root_size(self.compute_capacity.cpu, self.compute_capacity.memory)

    def root_size(self) -> int:
        """The root disk size the VM gets: ``size``, at least :meth:`min_root_size`."""
        return max(self.size, self.min_root_size())

    def _check_before_public_ip(self) -> None:
        if len(self.network.interfaces) != 1:
            raise ValidationError("only one network private network is supported at the moment")
        for interface in self.network.interfaces:
            if not interface.ip:
                raise ValidationError("invalid IP")
        if self.compute_capacity.cpu == 0:
            raise ValidationError("cpu capacity can't be 0")
        if self.compute_capacity.memory < MIN_MEMORY:
            raise ValidationError("mem capacity can't be less that 250M")
        if self.size != 0 and self.size < self.min_root_size():
            raise ValidationError(
                f"disk size can't be less that {self.min_root_size()}. Set to 0 for minimum"
            )

    def _check_after_public_ip(self) -> None:
        for interface in self.network.interfaces:
            if interface.network in RESERVED_NETWORK_NAMES:
                raise ValidationError(f"'{interface.network}' is reserved network name")
        mycelium = self.network.mycelium
        if mycelium is not None and len(mycelium.hex_seed) != MYCELIUM_SEED_LENGTH:
            raise ValidationError(
                f"invalid mycelium seed length expected {MYCELIUM_SEED_LENGTH} bytes"
            )

    def capacity(self) -> Capacity:
        return Capacity.model_construct(
            cru=self.compute_capacity.cpu,
            sru=self.root_size(),
            hru=0,
            mru=self.compute_capacity.memory,
            ipv4u=0,
        )


@register
class ZMachine(_MachineBase):
    """A virtual machine (``zmachine``) booted from an flist."""

    go_type = "zos.ZMachine"
    type_name = wt.ZMACHINE
    result_type = ZMachineResult

    flist: str = ""
    network: MachineNetwork = Field(default_factory=MachineNetwork)
    size: Unit = 0
    compute_capacity: MachineCapacity = Field(default_factory=MachineCapacity)
    mounts: list[MachineMount] = Field(default_factory=list)
    entrypoint: str = ""
    env: dict[str, str] = Field(default_factory=dict)
    corex: bool = False
    gpu: Annotated[list[str], OMIT_EMPTY] = Field(default_factory=list)

    def write_challenge(self, out: list[str], variant: NetworkLightVariant = "wg") -> None:
        out += (self.flist, self.network.public_ip, b(self.network.planetary))
        self._write_network(out)
        self._write_rest(out)

    def check(self, deployment: Deployment | None = None) -> None:
        self._check_before_public_ip()
        public_ip = self.network.public_ip
        if public_ip:
            # Upstream never checks the type of the named workload (spec quirk, vector v36).
            if deployment is None or deployment.get(public_ip) is None:
                raise ValidationError("public ip is not found")
            users = 0
            for workload in deployment.workloads:
                if workload.type != wt.ZMACHINE:
                    continue
                try:
                    data = workload.workload_data()
                except ValidationError:
                    continue
                if isinstance(data, ZMachine) and data.network.public_ip == public_ip:
                    users += 1
            if users > 1:
                raise ValidationError("public ip is assigned to multiple vms")
        self._check_after_public_ip()


@register
class ZMachineLight(_MachineBase):
    """A VM on a light node (``zmachine-light``): no public IP, no planetary network."""

    go_type = "zos.ZMachineLight"
    type_name = wt.ZMACHINE_LIGHT
    result_type = ZMachineLightResult

    flist: str = ""
    network: MachineNetworkLight = Field(default_factory=MachineNetworkLight)
    size: Unit = 0
    compute_capacity: MachineCapacity = Field(default_factory=MachineCapacity)
    mounts: list[MachineMount] = Field(default_factory=list)
    entrypoint: str = ""
    env: dict[str, str] = Field(default_factory=dict)
    corex: bool = False
    gpu: Annotated[list[str], OMIT_EMPTY] = Field(default_factory=list)

    def write_challenge(self, out: list[str], variant: NetworkLightVariant = "wg") -> None:
        out.append(self.flist)
        self._write_network(out)
        self._write_rest(out)

    def check(self, deployment: Deployment | None = None) -> None:
        self._check_before_public_ip()
        self._check_after_public_ip()


ZLOGS_SCHEMES = ("redis", "ws", "wss")


@register
class ZLogs(WorkloadData):
    """Streams a zmachine's console log to ``output`` (redis, ws or wss URL)."""

    go_type = "zos.ZLogs"
    type_name = wt.ZLOGS

    zmachine: Name = ""
    output: str = ""

    def write_challenge(self, out: list[str], variant: NetworkLightVariant = "wg") -> None:
        out += (self.zmachine, self.output)

    def check(self, deployment: Deployment | None = None) -> None:
        found = deployment is not None and any(
            w.name == self.zmachine and w.type == wt.ZMACHINE for w in deployment.workloads
        )
        if not found:
            raise ValidationError(f"no zmachine with name '{self.zmachine}' found")
        try:
            url = parse_url(self.output)
        except URLError as e:
            raise ValidationError(f"invalid url supplied in output: {e}") from None
        if url.scheme not in ZLOGS_SCHEMES:
            raise ValidationError(f"invalid output schema '{url.scheme}' not supported")
