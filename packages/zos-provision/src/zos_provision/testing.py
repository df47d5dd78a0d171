"""Test doubles for the engine's seams: an in-memory chain and recording managers.

`StandInRules` is a small stand-in for the gridtypes rules, used only where a test is about
the engine and not about the grid's data model (no byte-exact hash, a keyed digest instead of
real signatures). Production code always uses `zos_provision.gridrules`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zos_provision.api import Capacity
from zos_provision.chain import ChainUnavailable, Contract, ContractNotFound
from zos_provision.managers.base import NoActionNeeded, Unchanged, WorkloadContext
from zos_provision.rules import RulesError

KNOWN_TYPES = frozenset(
    {
        "zmount",
        "volume",
        "zdb",
        "network",
        "network-light",
        "ip",
        "ipv4",
        "zmachine",
        "zmachine-light",
        "gateway-name-proxy",
        "gateway-fqdn-proxy",
        "zlogs",
        "qsfs",
    }
)


def _hashed(dep: Mapping[str, Any]) -> dict[str, Any]:
    keep = {k: v for k, v in dep.items() if k not in ("contract_id", "signature_requirement")}
    keep["workloads"] = [
        {k: v for k, v in w.items() if k != "result"} for w in dep.get("workloads", [])
    ]
    return keep


class StandInRules:
    def validate(self, deployment: Mapping[str, Any]) -> None:
        dv = deployment.get("version", 0)
        seen: set[str] = set()
        for wl in deployment.get("workloads", []):
            name, version = wl.get("name", ""), wl.get("version", 0)
            if version > dv:
                raise RulesError(
                    f"workload '{name}' version '{version}' cannot be higher than deployment "
                    f"version '{dv}'"
                )
            if not name:
                raise RulesError(f"name '{name}' is invalid: name cannot be empty")
            if name in seen:
                raise RulesError(f"multiple workloads with the same name '{name}'")
            seen.add(name)
            if wl.get("type") not in KNOWN_TYPES:
                raise RulesError(f"invalid reservation type '{wl.get('type')}'")
            if wl.get("type") in ("zmount", "volume") and not (wl.get("data") or {}).get("size"):
                raise RulesError("invalid size")

    def challenge_hash(self, deployment: Mapping[str, Any]) -> str:
        text = json.dumps(_hashed(deployment), sort_keys=True)
        return hashlib.md5(text.encode()).hexdigest()

    def signers(self, deployment: Mapping[str, Any]) -> set[int]:
        return {int(deployment.get("twin_id", 0))}

    @staticmethod
    def signature(public_key: bytes, digest: str) -> str:
        return hashlib.sha256(public_key + digest.encode()).hexdigest()

    def sign(self, deployment: dict[str, Any], twin: int, public_key: bytes) -> None:
        sig = self.signature(public_key, self.challenge_hash(deployment))
        deployment["signature_requirement"] = {
            "requests": [{"twin_id": twin, "required": False, "weight": 1}],
            "weight_required": 1,
            "signatures": [{"twin_id": twin, "signature": sig, "signature_type": "ed25519"}],
            "signature_style": "",
        }

    def verify(self, deployment: Mapping[str, Any], public_key: Callable[[int], bytes]) -> None:
        twin = int(deployment.get("twin_id", 0))
        sigreq = deployment.get("signature_requirement") or {}
        sigs = {s["twin_id"]: s["signature"] for s in sigreq.get("signatures", [])}
        if twin not in sigs:
            raise RulesError(f"missing required signature for twin '{twin}'")
        try:
            key = public_key(twin)
        except Exception as err:
            raise RulesError(f"failed to get public key for twin '{twin}': {err}") from err
        if sigs[twin] != self.signature(key, self.challenge_hash(deployment)):
            raise RulesError("failed to verify signature")

    def plan(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str]]:
        if old["twin_id"] != new["twin_id"] or old["contract_id"] != new["contract_id"]:
            raise RulesError("cannot change deployment or twin id")
        if new["version"] != old["version"] + 1:
            raise RulesError(
                f"expecting deployment version {old['version'] + 1}, got {new['version']}"
            )
        olds = {w["name"]: w for w in old["workloads"]}
        ops: list[tuple[str, str]] = []
        for wl in new["workloads"]:
            prev = olds.pop(wl["name"], None)
            if prev is None:
                if wl["version"] != new["version"]:
                    raise RulesError(
                        f"invalid version number for workload '{wl['name']}' "
                        f"expected '{new['version']}'"
                    )
                ops.append(("add", wl["name"]))
            elif prev["type"] != wl["type"]:
                raise RulesError(f"cannot change workload type '{wl['name']}'")
            elif wl["version"] == new["version"]:
                ops.append(("update", wl["name"]))
        ops.extend(("remove", name) for name in olds)
        return ops

    def capacity(self, workload: Mapping[str, Any]) -> Capacity:
        data = workload.get("data") or {}
        kind = workload.get("type")
        if kind in ("zmount", "volume"):
            return Capacity(sru=int(data.get("size", 0)))
        if kind in ("zmachine", "zmachine-light"):
            compute = data.get("compute_capacity") or {}
            return Capacity(cru=compute.get("cpu", 0), mru=compute.get("memory", 0))
        return Capacity()


@dataclass
class MemoryChain:
    """Contracts and twins in memory, with a "chain unreachable" switch."""

    contracts: dict[int, Contract] = field(default_factory=dict)
    keys: dict[int, bytes] = field(default_factory=dict)
    rent: dict[int, int] = field(default_factory=dict)
    down: bool = False
    calls: int = 0

    def _up(self) -> None:
        self.calls += 1
        if self.down:
            raise ChainUnavailable("connection refused")

    def key_of(self, twin: int) -> bytes:
        return self.keys.setdefault(twin, hashlib.sha256(f"twin-{twin}".encode()).digest())

    def create_contract(
        self, contract_id: int, twin: int, node: int, deployment_hash: str
    ) -> Contract:
        contract = Contract(contract_id, twin, "Created", "node", node, deployment_hash)
        self.contracts[contract_id] = contract
        return contract

    async def get_contract(self, contract_id: int) -> Contract:
        self._up()
        if contract_id not in self.contracts:
            raise ContractNotFound(f"contract {contract_id} not found")
        return self.contracts[contract_id]

    async def get_node_rent_contract(self, node_id: int) -> int | None:
        self._up()
        return self.rent.get(node_id)

    async def get_node_contracts(self, node_id: int) -> list[int]:
        self._up()
        return [
            c.contract_id
            for c in self.contracts.values()
            if c.node_id == node_id and c.state != "Deleted"
        ]

    async def get_twin_public_key(self, twin_id: int) -> bytes:
        self._up()
        return self.key_of(twin_id)


class RecordingManager:
    """An idempotent in-memory manager for a sized type; records every call."""

    def __init__(self) -> None:
        self.resources: dict[str, int] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail: dict[str, str] = {}

    def _size(self, ctx: WorkloadContext) -> int:
        data = ctx.workload.data or {}
        return int(data.get("size", 0))

    async def provision(self, ctx: WorkloadContext) -> Any:
        wid = ctx.workload_id
        self.calls.append(("provision", wid))
        if wid in self.fail:
            raise RuntimeError(self.fail[wid])
        self.resources.setdefault(wid, self._size(ctx))
        return {"id": wid}

    async def update(self, ctx: WorkloadContext) -> Any:
        wid = ctx.workload_id
        self.calls.append(("update", wid))
        size = self._size(ctx)
        if size < self.resources.get(wid, 0):
            raise Unchanged("cannot shrink")
        if size == self.resources.get(wid):
            raise NoActionNeeded()
        self.resources[wid] = size
        return {"id": wid}

    async def deprovision(self, ctx: WorkloadContext) -> None:
        self.calls.append(("deprovision", ctx.workload_id))
        self.resources.pop(ctx.workload_id, None)


@dataclass(frozen=True)
class FileUsage:
    Size: int = 0
    Used: int = 0


@dataclass(frozen=True)
class FileVolume:
    Name: str = ""
    Path: str = ""
    Usage: FileUsage = field(default_factory=FileUsage)


@dataclass(frozen=True)
class FileVDisk:
    Path: str = ""
    Size: int = 0


class FileStorage:
    """storaged's volume/vdisk semantics on plain files, for tests and baselines.

    Volumes are folders with a ``.quota`` file, vdisks sparse files. ``delay`` slows every
    call (to land a kill -9 mid-job); every call is appended to ``calls.log``.
    """

    def __init__(self, root: Any, delay: float = 0.0) -> None:
        from pathlib import Path

        self.root = Path(root)
        self.volumes = self.root / "volumes"
        self.disks = self.root / "disks"
        self.volumes.mkdir(parents=True, exist_ok=True)
        self.disks.mkdir(parents=True, exist_ok=True)
        self.delay = delay

    async def _call(self, op: str, name: str) -> None:
        import asyncio

        with (self.root / "calls.log").open("a") as log:
            log.write(f"{op} {name}\n")
        if self.delay:
            await asyncio.sleep(self.delay)

    async def volume_create(self, name: str, size: int) -> FileVolume:
        await self._call("VolumeCreate", name)
        path = self.volumes / name
        path.mkdir(exist_ok=True)
        (path / ".quota").write_text(str(size))
        return await self.volume_lookup(name)

    async def volume_update(self, name: str, size: int) -> None:
        await self._call("VolumeUpdate", name)
        (self.volumes / name / ".quota").write_text(str(size))

    async def volume_lookup(self, name: str) -> FileVolume:
        path = self.volumes / name
        if not path.is_dir():
            raise LookupError(f"subvolume '{name}' not found")
        used = sum(p.stat().st_size for p in path.iterdir() if p.name != ".quota")
        size = int((path / ".quota").read_text())
        return FileVolume(name, str(path), FileUsage(size, used))

    async def volume_exists(self, name: str) -> bool:
        return (self.volumes / name).is_dir()

    async def volume_delete(self, name: str) -> None:
        import shutil

        await self._call("VolumeDelete", name)
        shutil.rmtree(self.volumes / name, ignore_errors=True)

    async def disk_create(self, name: str, size: int) -> FileVDisk:
        await self._call("DiskCreate", name)
        path = self.disks / name
        if path.exists():
            raise FileExistsError(f"vdisk '{name}' already exists")
        with path.open("wb") as f:
            f.truncate(size)
        return FileVDisk(str(path), size)

    async def disk_resize(self, name: str, size: int) -> FileVDisk:
        await self._call("DiskResize", name)
        path = self.disks / name
        if path.stat().st_size < size:
            with path.open("r+b") as f:
                f.truncate(size)
        return FileVDisk(str(path), path.stat().st_size)

    async def disk_lookup(self, name: str) -> FileVDisk:
        path = self.disks / name
        if not path.exists():
            raise LookupError(f"vdisk '{name}' not found")
        return FileVDisk(str(path), path.stat().st_size)

    async def disk_exists(self, name: str) -> bool:
        return (self.disks / name).exists()

    async def disk_delete(self, name: str) -> None:
        await self._call("DiskDelete", name)
        (self.disks / name).unlink(missing_ok=True)

    def names(self) -> set[str]:
        return {p.name for p in self.volumes.iterdir()} | {p.name for p in self.disks.iterdir()}
