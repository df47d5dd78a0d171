"""Storage workloads: ``zmount``, ``volume``, ``zdb`` and ``qsfs``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from . import workload_types as wt
from ._gocodec import GoModel
from ._gotypes import U32, GoHex, GoName, Uint, Unit
from .errors import ValidationError
from .units import Capacity, GiB
from .workload_data import NetworkLightVariant, WorkloadData, b, register


class ZMountResult(GoModel):
    go_type = "zos.ZMountResult"
    volume_id: str = ""


class VolumeResult(GoModel):
    go_type = "zos.VolumeResult"
    id: str = ""


class ZDBResult(GoModel):
    """A zdb's result; Go writes these keys capitalised."""

    go_type = "zos.ZDBResult"
    namespace: str = Field(default="", alias="Namespace")
    ips: list[str] = Field(default_factory=list, alias="IPs")
    port: Uint = Field(default=0, alias="Port")


class QuantumSafeFSResult(GoModel):
    go_type = "zos.QuatumSafeFSResult"
    path: str = ""
    metrics_endpoint: str = ""


class _SSDSpace(WorkloadData):
    """A workload that is only ``size`` bytes of SSD: zmount and volume."""

    updatable = True

    size: Unit = 0

    def write_challenge(self, out: list[str], variant: NetworkLightVariant = "wg") -> None:
        out.append(str(self.size))

    def check(self, deployment: object = None) -> None:
        if self.size == 0:
            raise ValidationError("invalid size")

    def capacity(self) -> Capacity:
        return Capacity.model_construct(cru=0, sru=self.size, hru=0, mru=0, ipv4u=0)


@register
class ZMount(_SSDSpace):
    """A virtual disk attached to a VM (``zmount``); grows but never shrinks."""

    go_type = "zos.ZMount"
    type_name = wt.ZMOUNT
    result_type = ZMountResult


@register
class Volume(_SSDSpace):
    """A volume shared with VMs through virtio-fs (``volume``)."""

    go_type = "zos.Volume"
    type_name = wt.VOLUME
    result_type = VolumeResult


ZDB_MODES = ("user", "seq")


@register
class ZDB(WorkloadData):
    """A 0-db namespace on a hard disk (``zdb``); ``mode`` is ``user`` or ``seq``."""

    go_type = "zos.ZDB"
    type_name = wt.ZDB
    updatable = True
    result_type = ZDBResult

    size: Unit = 0
    mode: Annotated[str, GoName("zos.ZDBMode")] = ""
    password: str = ""
    public: bool = False

    def write_challenge(self, out: list[str], variant: NetworkLightVariant = "wg") -> None:
        out += (str(self.size), self.mode, self.password, b(self.public))

    def check(self, deployment: object = None) -> None:
        if self.size == 0:
            raise ValidationError("invalid size")
        if self.mode not in ZDB_MODES:
            raise ValidationError("invalid mode")

    def capacity(self) -> Capacity:
        return Capacity.model_construct(cru=0, sru=0, hru=self.size, mru=0, ipv4u=0)


HexKey = Annotated[bytes, GoHex("zos.EncryptionKey")]


class Encryption(GoModel):
    go_type = "zos.Encryption"
    algorithm: Annotated[str, GoName("zos.EncryptionAlgorithm")] = ""
    key: HexKey = b""


class ZdbBackend(GoModel):
    go_type = "zos.ZdbBackend"
    address: str = ""
    namespace: str = ""
    password: str = ""


class QuantumSafeConfig(GoModel):
    go_type = "zos.QuantumSafeConfig"
    prefix: str = ""
    encryption: Encryption = Field(default_factory=Encryption)
    backends: list[ZdbBackend] = Field(default_factory=list)


class QuantumSafeMeta(GoModel):
    go_type = "zos.QuantumSafeMeta"
    type: str = ""
    config: QuantumSafeConfig = Field(default_factory=QuantumSafeConfig)


class ZdbGroup(GoModel):
    go_type = "zos.ZdbGroup"
    backends: list[ZdbBackend] = Field(default_factory=list)


class QuantumCompression(GoModel):
    go_type = "zos.QuantumCompression"
    algorithm: str = ""


class QuantumSafeFSConfig(GoModel):
    go_type = "zos.QuantumSafeFSConfig"
    minimal_shards: U32 = 0
    expected_shards: U32 = 0
    redundant_groups: U32 = 0
    redundant_nodes: U32 = 0
    max_zdb_data_dir_size: U32 = 0
    encryption: Encryption = Field(default_factory=Encryption)
    meta: QuantumSafeMeta = Field(default_factory=QuantumSafeMeta)
    groups: list[ZdbGroup] = Field(default_factory=list)
    compression: QuantumCompression = Field(default_factory=QuantumCompression)


def _backend_challenge(out: list[str], backend: ZdbBackend) -> None:
    out += (backend.address, backend.namespace, backend.password)


@register
class QuantumSafeFS(WorkloadData):
    """A quantum-safe file system over zdb backends (``qsfs``)."""

    go_type = "zos.QuantumSafeFS"
    type_name = wt.QSFS
    updatable = True
    result_type = QuantumSafeFSResult

    cache: Unit = 0
    config: QuantumSafeFSConfig = Field(default_factory=QuantumSafeFSConfig)

    def write_challenge(self, out: list[str], variant: NetworkLightVariant = "wg") -> None:
        c = self.config
        out += (
            str(self.cache),
            str(c.minimal_shards),
            str(c.expected_shards),
            str(c.redundant_groups),
            str(c.redundant_nodes),
            str(c.max_zdb_data_dir_size),
            c.encryption.algorithm,
            c.encryption.key.hex(),
            c.meta.type,
            c.meta.config.prefix,
            c.meta.config.encryption.algorithm,
            c.meta.config.encryption.key.hex(),
        )
        for backend in c.meta.config.backends:
            _backend_challenge(out, backend)
        for group in c.groups:
            for backend in group.backends:
                _backend_challenge(out, backend)
        out.append(c.compression.algorithm)

    def check(self, deployment: object = None) -> None:
        if self.config.minimal_shards > self.config.expected_shards:
            raise ValidationError("minimal shards can't be greater than expected shards")

    def capacity(self) -> Capacity:
        return Capacity.model_construct(cru=1, sru=self.cache, hru=0, mru=1 * GiB, ipv4u=0)
