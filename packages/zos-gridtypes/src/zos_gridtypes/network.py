"""Network workloads: ``network``, ``network-light``, ``ip`` and the deprecated ``ipv4``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from . import workload_types as wt
from ._gocodec import GoModel
from ._gotypes import OMIT_EMPTY, U16, GoHex
from .errors import ValidationError
from .netaddr import IP, UNSET_IP, UNSET_IPNET, IPNet
from .units import Capacity
from .workload_data import NetworkLightVariant, WorkloadData, b, register

MYCELIUM_KEY_LENGTH = 32


class Peer(GoModel):
    """A wireguard peer of a user network (another node's part of it)."""

    go_type = "zos.Peer"

    subnet: IPNet = UNSET_IPNET
    wireguard_public_key: str = ""
    allowed_ips: list[IPNet] = Field(default_factory=list)
    endpoint: str = ""


class Mycelium(GoModel):
    """The network's mycelium key (32 bytes); user defined peers are not supported yet."""

    go_type = "zos.Mycelium"

    hex_key: Annotated[bytes, GoHex("zos.Bytes")] = b""
    peers: list[str] = Field(default_factory=list)

    def write_challenge(self, out: list[str]) -> None:
        out.append(self.hex_key.hex())
        out += self.peers

    def check(self) -> None:
        if len(self.hex_key) != MYCELIUM_KEY_LENGTH:
            raise ValidationError(
                f"invalid mycelium key length, expected {MYCELIUM_KEY_LENGTH}"
            )
        if self.peers:
            raise ValidationError("user defined peers list is not supported right now")


class _WireguardNetwork(WorkloadData):
    """The wireguard fields network and network-light share (mycelium follows in each)."""

    updatable = True

    ip_range: IPNet = UNSET_IPNET
    subnet: IPNet = UNSET_IPNET
    wireguard_private_key: str = ""
    wireguard_listen_port: U16 = 0
    peers: list[Peer] = Field(default_factory=list)

    def _write_wireguard(self, out: list[str]) -> None:
        out += (
            self.ip_range.challenge_text(),
            self.subnet.challenge_text(),
            self.wireguard_private_key,
            str(self.wireguard_listen_port),
        )
        for peer in self.peers:
            out += (peer.wireguard_public_key, peer.endpoint, peer.subnet.challenge_text())
            out += [n.challenge_text() for n in peer.allowed_ips]


@register
class Network(_WireguardNetwork):
    """A private user network (``network``): wireguard between nodes, optional mycelium."""

    go_type = "zos.Network"
    type_name = wt.NETWORK

    mycelium: Annotated[Mycelium | None, OMIT_EMPTY] = None

    def write_challenge(self, out: list[str], variant: NetworkLightVariant = "wg") -> None:
        self._write_wireguard(out)
        if self.mycelium is not None:
            self.mycelium.write_challenge(out)

    def check(self, deployment: object = None) -> None:
        if not self.ip_range:
            raise ValidationError("network IP range cannot be empty")
        if not self.subnet:
            raise ValidationError("network resource subnet cannot empty")
        if self.wireguard_private_key == "":
            raise ValidationError("network resource wireguard private key cannot empty")
        for peer in self.peers:
            if not peer.subnet:
                raise ValidationError("peer wireguard subnet cannot empty")
            if not peer.allowed_ips:
                raise ValidationError("peer wireguard allowedIPs cannot empty")
            if peer.wireguard_public_key == "":
                raise ValidationError("peer wireguard public key cannot empty")
        if self.mycelium is not None:
            self.mycelium.check()


@register
class NetworkLight(_WireguardNetwork):
    """A light node's network (``network-light``): mycelium is required, wireguard optional."""

    go_type = "zos.NetworkLight"
    type_name = wt.NETWORK_LIGHT

    mycelium: Mycelium = Field(default_factory=Mycelium)

    def write_challenge(self, out: list[str], variant: NetworkLightVariant = "wg") -> None:
        if variant == "legacy":
            out.append(self.subnet.challenge_text())
        else:
            self._write_wireguard(out)
        self.mycelium.write_challenge(out)

    def check(self, deployment: object = None) -> None:
        if not self.subnet:
            raise ValidationError("network resource subnet cannot empty")
        self.mycelium.check()


class PublicIPResult(GoModel):
    go_type = "zos.PublicIPResult"

    ip: IPNet = UNSET_IPNET
    ip6: IPNet = UNSET_IPNET
    gateway: IP = UNSET_IP


@register
class PublicIP(WorkloadData):
    """A public IPv4 and/or IPv6 for a VM (``ip``)."""

    go_type = "zos.PublicIP"
    type_name = wt.PUBLIC_IP
    result_type = PublicIPResult

    v4: bool = False
    v6: bool = False

    def write_challenge(self, out: list[str], variant: NetworkLightVariant = "wg") -> None:
        out += (b(self.v4), b(self.v6))

    def check(self, deployment: object = None) -> None:
        if not self.v4 and not self.v6:
            raise ValidationError("public ip workload with no selections")

    def capacity(self) -> Capacity:
        return Capacity.model_construct(cru=0, sru=0, hru=0, mru=0, ipv4u=1 if self.v4 else 0)


@register
class PublicIP4(WorkloadData):
    """The deprecated public IPv4 workload (``ipv4``): no data."""

    go_type = "zos.PublicIP4"
    type_name = wt.PUBLIC_IPV4
    result_type = PublicIPResult

    def write_challenge(self, out: list[str], variant: NetworkLightVariant = "wg") -> None:
        return None

    def capacity(self) -> Capacity:
        return Capacity.model_construct(cru=0, sru=0, hru=0, mru=0, ipv4u=1)
