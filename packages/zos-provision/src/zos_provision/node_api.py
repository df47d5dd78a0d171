"""The node's public API: every ``zos.*`` RMB command (spec §13), over `msgbus.Router`.

Handlers take the caller (the request's source twin) and the JSON payload. Validation and
signature errors of deploy/update are returned at once; processing errors show up in the
workloads' results (the engine writes them as soon as they happen).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zos_provision import __version__
from zos_provision.api import (
    TEXT_DELETE_DISABLED,
    DeploymentNotFound,
    ProvisionError,
    ResultState,
)
from zos_provision.engine import Engine
from zos_provision.msgbus import Caller, Router, decode_json
from zos_provision.msgbus import field as payload_field

Pools = Callable[[], Awaitable[list[dict[str, Any]]]]


async def _no_pools() -> list[dict[str, Any]]:
    return []


@dataclass
class NodeInfo:
    """What the API tells about the node beyond the engine's state."""

    farmer_twin: int | None = None
    admin_twins: frozenset[int] = frozenset()
    features: list[str] = field(default_factory=list)
    pools: Pools = _no_pools
    zinit_version: str = ""
    #: module name → error text ("" when healthy), from the supervisor/zbus status
    modules: Callable[[], Awaitable[dict[str, str]]] | None = None


class Unauthorized(ProvisionError):
    pass


def _contract_of(payload: bytes) -> int:
    value = payload_field(decode_json(payload), "contract_id", int)
    assert isinstance(value, int)
    if value < 0:
        raise ValueError("field 'contract_id' must not be negative")
    return value


def _hypervisor() -> str:
    try:
        out = subprocess.run(
            ["systemd-detect-virt", "--vm"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    name = out.stdout.strip()
    return "" if out.returncode != 0 or name == "none" else name


def _dmi() -> dict[str, str]:
    base = Path("/sys/class/dmi/id")
    out: dict[str, str] = {}
    if base.is_dir():
        for item in sorted(base.iterdir()):
            if item.is_file() and os.access(item, os.R_OK):
                try:
                    out[item.name] = item.read_text().strip()
                except OSError:
                    continue
    return out


def _interfaces() -> dict[str, dict[str, Any]]:
    try:
        out = subprocess.run(
            ["ip", "-j", "addr", "show"], capture_output=True, text=True, timeout=5, check=True
        )
        links = json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return {name: {"ips": [], "mac": ""} for _, name in socket.if_nameindex()}
    return {
        link["ifname"]: {
            "ips": [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])],
            "mac": link.get("address", ""),
        }
        for link in links
    }


class NodeAPI:
    def __init__(self, engine: Engine, info: NodeInfo) -> None:
        self.engine = engine
        self.info = info

    def register(self, router: Router) -> None:
        for cmd, handler in self.commands().items():
            router.register(cmd, handler)

    def commands(self) -> dict[str, Callable[[Caller, bytes], Awaitable[Any]]]:
        return {
            "zos.deployment.deploy": self.deploy,
            "zos.deployment.update": self.update,
            "zos.deployment.delete": self.delete,
            "zos.deployment.get": self.get,
            "zos.deployment.list": self.list,
            "zos.deployment.changes": self.changes,
            "zos.statistics.get": self.statistics,
            "zos.storage.pools": self.pools,
            "zos.gpu.list": self.gpus,
            "zos.network.list_wg_ports": self.empty_list,
            "zos.network.public_config_get": self.public_config,
            "zos.network.interfaces": self.network_interfaces,
            "zos.network.has_ipv6": self.has_ipv6,
            "zos.network.list_public_ips": self.public_ips,
            "zos.network.list_private_ips": self.private_ips,
            "zos.system.version": self.version,
            "zos.system.dmi": self.dmi,
            "zos.system.hypervisor": self.hypervisor,
            "zos.system.diagnostics": self.diagnostics,
            "zos.system.node_features_get": self.features,
            "zos.perf.get": self.perf_get,
            "zos.perf.get_all": self.empty_list,
            "zos.location.get": self.location,
            "zos.admin.interfaces": self.admin_interfaces,
            "zos.admin.get_public_nic": self.admin_get_public_nic,
            "zos.admin.set_public_nic": self.admin_set_public_nic,
            "zos.debug.deployment.list": self.debug_list,
            "zos.debug.deployment.get": self.debug_get,
            "zos.debug.deployment.history": self.debug_history,
            "zos.debug.deployment.info": self.debug_get,
            "zos.debug.deployment.health": self.debug_health,
        }

    # ---- deployments -------------------------------------------------------------------

    async def deploy(self, caller: Caller, payload: bytes) -> None:
        await self.engine.create_or_update(caller.twin, _deployment(payload), update=False)

    async def update(self, caller: Caller, payload: bytes) -> None:
        await self.engine.create_or_update(caller.twin, _deployment(payload), update=True)

    async def delete(self, caller: Caller, payload: bytes) -> None:
        raise ProvisionError(TEXT_DELETE_DISABLED)

    async def get(self, caller: Caller, payload: bytes) -> Any:
        return self.engine.get(caller.twin, _contract_of(payload)).to_json()

    async def list(self, caller: Caller, payload: bytes) -> Any:
        return [d.to_json() for d in self.engine.list_deployments(caller.twin)]

    async def changes(self, caller: Caller, payload: bytes) -> Any:
        return [w.to_json() for w in self.engine.changes(caller.twin, _contract_of(payload))]

    # ---- node ---------------------------------------------------------------------------

    async def statistics(self, caller: Caller, payload: bytes) -> Any:
        return (await self.engine.counters()).to_json()

    async def pools(self, caller: Caller, payload: bytes) -> Any:
        return await self.info.pools()

    async def gpus(self, caller: Caller, payload: bytes) -> Any:
        return []

    async def empty_list(self, caller: Caller, payload: bytes) -> Any:
        return []

    async def public_config(self, caller: Caller, payload: bytes) -> Any:
        raise ProvisionError("no public config")

    async def network_interfaces(self, caller: Caller, payload: bytes) -> Any:
        return {"zos": [], "ygg": []}

    async def has_ipv6(self, caller: Caller, payload: bytes) -> Any:
        return False

    async def public_ips(self, caller: Caller, payload: bytes) -> Any:
        ips: list[str] = []
        for dep in self.engine.store.deployments():
            for wl in dep.workloads:
                if wl.type in ("ip", "ipv4") and wl.result.state == ResultState.OK.value:
                    data = wl.result.data if isinstance(wl.result.data, dict) else {}
                    ips.extend(str(data[k]) for k in ("ip", "ip6") if data.get(k))
        return ips

    async def private_ips(self, caller: Caller, payload: bytes) -> Any:
        network = payload_field(decode_json(payload), "network_name", str)
        ips: list[str] = []
        for dep in self.engine.store.deployments(caller.twin):
            for wl in dep.workloads:
                if wl.type not in ("zmachine", "zmachine-light"):
                    continue
                if wl.result.state in (ResultState.DELETED.value, ResultState.ERROR.value):
                    continue
                net = (wl.data or {}).get("network") or {}
                for iface in net.get("interfaces") or []:
                    if iface.get("network") == network and iface.get("ip"):
                        ips.append(str(iface["ip"]))
        return ips

    async def version(self, caller: Caller, payload: bytes) -> Any:
        return {"zos": __version__, "zinit": self.info.zinit_version}

    async def dmi(self, caller: Caller, payload: bytes) -> Any:
        return _dmi()

    async def hypervisor(self, caller: Caller, payload: bytes) -> Any:
        return _hypervisor()

    async def diagnostics(self, caller: Caller, payload: bytes) -> Any:
        modules: dict[str, str] = {}
        if self.info.modules is not None:
            modules = await self.info.modules()
        health = self.engine.health()
        stuck = health.current_job is not None and health.current_job_age > 600
        modules.setdefault("provisiond", "queue stuck: " + str(health.current_job) if stuck else "")
        report = {
            name: {"status": "failed" if err else "started", "error": err}
            for name, err in sorted(modules.items())
        }
        ok = all(not err for err in modules.values())
        return {
            "system_status_ok": ok,
            "modules": report,
            "healthy": ok,
            "provision_queue": {
                "length": health.length,
                "current_job": health.current_job,
                "current_job_age": round(health.current_job_age, 3),
                "processed": health.processed,
                "last_error": health.last_error,
            },
        }

    async def features(self, caller: Caller, payload: bytes) -> Any:
        return list(self.info.features)

    async def perf_get(self, caller: Caller, payload: bytes) -> Any:
        name = payload_field(decode_json(payload), "name", str)
        raise ProvisionError(f"task '{name}' has no result on this node")

    async def location(self, caller: Caller, payload: bytes) -> Any:
        raise ProvisionError("location is unknown on this node")

    # ---- farmer and admins ----------------------------------------------------------------

    def _farmer(self, caller: Caller) -> None:
        if self.info.farmer_twin is None or caller.twin != self.info.farmer_twin:
            raise Unauthorized("unauthorized")

    def _admin(self, caller: Caller) -> None:
        if caller.twin not in self.info.admin_twins:
            raise Unauthorized("unauthorized")

    async def admin_interfaces(self, caller: Caller, payload: bytes) -> Any:
        self._farmer(caller)
        return _interfaces()

    async def admin_get_public_nic(self, caller: Caller, payload: bytes) -> Any:
        self._farmer(caller)
        return {"is_single": True, "is_dual": False, "dual_interface": ""}

    async def admin_set_public_nic(self, caller: Caller, payload: bytes) -> Any:
        self._farmer(caller)
        name = decode_json(payload)
        if not isinstance(name, str) or not name:
            raise ValueError("expected the interface name as a JSON string")
        raise ProvisionError(f"cannot set the public interface to '{name}' on this node")

    async def debug_list(self, caller: Caller, payload: bytes) -> Any:
        self._admin(caller)
        args = decode_json(payload) or {}
        twin = args.get("twin_id") if isinstance(args, dict) else None
        return [
            {
                "twin_id": d.twin_id,
                "contract_id": d.contract_id,
                "version": d.version,
                "workloads": len(d.workloads),
            }
            for d in self.engine.store.deployments(twin)
        ]

    def _debug_target(self, payload: bytes) -> tuple[int, int]:
        ref = payload_field(decode_json(payload), "deployment", str)
        twin, _, contract = ref.partition(":")
        if not all(x.isascii() and x.isdigit() for x in (twin, contract)):
            raise ValueError("field 'deployment' must be '<twin>:<contract>'")
        return int(twin), int(contract)

    async def debug_get(self, caller: Caller, payload: bytes) -> Any:
        self._admin(caller)
        return self.engine.get(*self._debug_target(payload)).to_json()

    async def debug_history(self, caller: Caller, payload: bytes) -> Any:
        self._admin(caller)
        return [w.to_json() for w in self.engine.changes(*self._debug_target(payload))]

    async def debug_health(self, caller: Caller, payload: bytes) -> Any:
        self._admin(caller)
        dep = self.engine.get(*self._debug_target(payload))
        return {
            w.name: {"state": w.result.state, "message": w.result.message} for w in dep.workloads
        }


def _deployment(payload: bytes) -> Any:
    obj = decode_json(payload)
    if not isinstance(obj, dict):
        raise ValueError("the deployment must be a JSON object")
    return obj


__all__ = ["DeploymentNotFound", "NodeAPI", "NodeInfo", "Unauthorized"]
