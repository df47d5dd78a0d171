"""A client for a node: deploy a file of workloads, follow it to ok, update and cancel it.

The steps are the grid client's: build the deployment, create (or update) the node contract
with its challenge hash, sign, send it to the node, then poll ``zos.deployment.get`` until
every workload at the new version is ``ok`` or ``error``. Usable as a library::

    client = NodeClient.development()          # the local development node and chain
    spec = DeploySpec.load(Path("disks.yaml"))
    result = await client.deploy(spec)
    await client.cancel(result.contract_id)
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from redis.asyncio import Redis

from zos_gridtypes import Deployment, KeyPair, SignatureRequirement, ValidationError
from zos_provision.msgbus import MsgbusClient, RemoteError

UNITS = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gib": 1024**3,
    "t": 1024**4,
    "tib": 1024**4,
}
SIZED = ("zmount", "volume", "zdb")
FINAL = ("ok", "error")
#: a lost poll (node restarting) is asked again after this many seconds
POLL_EXPIRATION = 5.0


class SpecError(ValueError):
    """A deployment file that cannot be used; the message names what is wrong."""


def parse_size(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise SpecError(f"{where}: size must be positive")
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", value)
        if match and match.group(2).lower() in UNITS:
            size = int(float(match.group(1)) * UNITS[match.group(2).lower()])
            if size > 0:
                return size
    raise SpecError(f"{where}: invalid size {value!r} (an integer, or e.g. '10GiB', '500MiB')")


@dataclass
class WorkloadSpec:
    name: str
    type: str
    data: dict[str, Any]
    description: str = ""
    metadata: str = ""


@dataclass
class DeploySpec:
    workloads: list[WorkloadSpec]
    node: int | None = None
    description: str = ""
    metadata: str = ""

    @classmethod
    def load(cls, path: Path) -> DeploySpec:
        try:
            text = path.read_text()
        except OSError as err:
            raise SpecError(f"cannot read {path}: {err.strerror}") from err
        try:
            obj = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as err:
            raise SpecError(
                f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {err}"
            ) from err
        return cls.parse(obj, str(path))

    @classmethod
    def parse(cls, obj: Any, where: str = "deployment") -> DeploySpec:
        if not isinstance(obj, Mapping):
            raise SpecError(f"{where}: expected a mapping with a 'workloads' list")
        items = obj.get("workloads")
        if not isinstance(items, list) or not items:
            raise SpecError(f"{where}: 'workloads' must be a non-empty list")
        node = obj.get("node")
        if node is not None and (not isinstance(node, int) or isinstance(node, bool) or node <= 0):
            raise SpecError(f"{where}: 'node' must be a positive integer")
        workloads = []
        for i, item in enumerate(items):
            at = f"{where}: workloads[{i}]"
            if not isinstance(item, Mapping):
                raise SpecError(f"{at}: expected a mapping with name, type and data")
            name, kind = item.get("name"), item.get("type")
            if not isinstance(name, str) or not name:
                raise SpecError(f"{at}: 'name' must be a non-empty string")
            if not isinstance(kind, str) or not kind:
                raise SpecError(f"{at} ({name}): 'type' must be a non-empty string")
            data = dict(item.get("data") or {})
            if "size" in item:
                data["size"] = item["size"]
            if kind in SIZED and "size" in data:
                data["size"] = parse_size(data["size"], f"{at} ({name})")
            workloads.append(
                WorkloadSpec(
                    name,
                    kind,
                    data,
                    str(item.get("description", "")),
                    str(item.get("metadata", "")),
                )
            )
        return cls(workloads, node, str(obj.get("description", "")), str(obj.get("metadata", "")))


@dataclass
class Identity:
    """A user's development identity: a key pair, stored as a hex seed in a JSON file."""

    seed: bytes
    key_type: str = "ed25519"

    @property
    def keys(self) -> KeyPair:
        return KeyPair(self.key_type, self.seed)

    @classmethod
    def load_or_create(cls, path: Path) -> Identity:
        if path.exists():
            obj = json.loads(path.read_text())
            return cls(bytes.fromhex(obj["seed"]), obj.get("key_type", "ed25519"))
        identity = cls(secrets.token_bytes(32))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"seed": identity.seed.hex(), "key_type": identity.key_type}))
        tmp.chmod(0o600)
        tmp.replace(path)
        return identity

    @classmethod
    def from_secret(cls, secret: str, key_type: str = "ed25519") -> Identity:
        """A hex seed or a mnemonic, as the grid client accepts."""
        text = secret.strip().removeprefix("0x")
        if re.fullmatch(r"[0-9a-fA-F]{64}", text):
            return cls(bytes.fromhex(text), key_type)
        from zos_gridtypes import mini_secret_from_mnemonic

        return cls(mini_secret_from_mnemonic(secret.strip()), key_type)


def default_identity_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "zos" / "identity.json"


@dataclass
class Outcome:
    contract_id: int
    deployment: dict[str, Any]
    elapsed: float
    #: name -> (state, message) of each workload the deploy/update touched
    results: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: the contract was cancelled because a workload failed
    rolled_back: bool = False

    @property
    def ok(self) -> bool:
        return all(state == "ok" for state, _ in self.results.values())


Progress = Callable[[dict[str, Any]], None]


@dataclass
class NodeClient:
    """Talks to one node (its redis, as the development node allows) and a chain.

    ``chain`` is a development chain backend (zos_chain `ChainClient` or `DevChain`): the
    client creates, updates and cancels its own contracts there.
    """

    redis: Redis
    chain: Any
    identity: Identity
    node_id: int | None = None
    poll_interval: float = 1.0
    #: how long a deploy/update waits for the node's answer (the TS client gives it 20 s)
    rpc_expiration: float = 20.0
    twin_id: int = 0
    _bus: MsgbusClient | None = field(default=None, repr=False)

    @classmethod
    def development(
        cls,
        broker: str | None = None,
        chain_url: str | None = None,
        identity: Identity | None = None,
        node_id: int | None = None,
        state_dir: Path | None = None,
    ) -> NodeClient:
        """A client of the development node whose state folder is ``state_dir``.

        The broker is ``broker``, else ``$ZOS_BROKER``, else the node's ``run/redis.sock``; the
        chain ``chain_url``, else ``$ZOS_CHAIN_URL``, else the node's chain service. The state
        folder defaults to `zos_chain.devnode.default_state_dir` (as `zos node`); a node that is
        needed but not running raises `zos_chain.devnode.DevNodeError`.
        """
        from zos_chain.client import ChainClient
        from zos_chain.devnode import running_broker, running_chain_url

        broker = broker or os.environ.get("ZOS_BROKER") or running_broker(state_dir)
        url = chain_url or os.environ.get("ZOS_CHAIN_URL") or running_chain_url(state_dir)
        return cls(
            redis=redis_of(broker),
            chain=ChainClient(url),
            identity=identity or Identity.load_or_create(default_identity_file()),
            node_id=node_id,
        )

    async def _sync(self, fn: Callable[..., Any], *args: Any) -> Any:
        if asyncio.iscoroutinefunction(fn):
            return await fn(*args)
        return await asyncio.to_thread(fn, *args)

    async def twin(self) -> int:
        """This identity's twin on the chain, created on first use."""
        if self.twin_id:
            return self.twin_id
        pk = self.identity.keys.public_key
        try:
            self.twin_id = int(await self._sync(self.chain.get_twin_by_pub_key, pk))
        except Exception as err:
            if "not found" not in str(err).lower() and getattr(err, "code", None) != 1:
                raise
            self.twin_id = int(
                await self._sync(self.chain.create_twin, pk, "", b"", self.identity.key_type)
            )
        return self.twin_id

    async def bus(self) -> MsgbusClient:
        if self._bus is None:
            self._bus = MsgbusClient(self.redis, await self.twin(), 0)
        return self._bus

    async def node(self, spec: DeploySpec | None = None) -> int:
        if spec is not None and spec.node is not None:
            return spec.node
        if self.node_id is not None:
            return self.node_id
        nodes = await self._sync(self.chain.list_nodes)
        if len(nodes) != 1:
            raise SpecError(
                f"the chain has {len(nodes)} nodes: name one with 'node:' in the file or --node"
            )
        self.node_id = int(nodes[0].id)
        return self.node_id

    def build(
        self,
        spec: DeploySpec,
        twin: int,
        version: int = 0,
        contract_id: int = 0,
        current: Mapping[str, Any] | None = None,
    ) -> Deployment:
        """The deployment of ``spec``; on update a workload keeps its version if unchanged."""
        old = {w["name"]: w for w in (current or {}).get("workloads", [])}
        workloads = []
        for wl in spec.workloads:
            body: dict[str, Any] = {
                "name": wl.name,
                "type": wl.type,
                "data": wl.data,
                "description": wl.description,
                "metadata": wl.metadata,
            }
            prev = old.get(wl.name)
            same = prev is not None and all(prev.get(k) == v for k, v in body.items())
            body["version"] = prev["version"] if same and prev is not None else version
            workloads.append(body)
        raw = {
            "version": version,
            "twin_id": twin,
            "contract_id": contract_id,
            "description": spec.description,
            "metadata": spec.metadata,
            "signature_requirement": SignatureRequirement.for_twin(twin).model_dump(),
            "workloads": workloads,
        }
        try:
            dep = Deployment.model_validate(raw)
            dep.valid()
        except ValidationError as err:
            raise SpecError(str(err)) from None
        return dep

    def _wire(self, dep: Deployment) -> dict[str, Any]:
        dep.sign(dep.twin_id, self.identity.seed, self.identity.key_type)
        return json.loads(dep.model_dump_json())  # type: ignore[no-any-return]

    async def deploy(
        self,
        spec: DeploySpec,
        progress: Progress | None = None,
        max_wait: float = 600.0,
        rollback: bool = True,
    ) -> Outcome:
        """Create the contract, send the deployment, wait for every workload.

        With ``rollback`` (the grid client's behaviour) a deployment that ends with an error
        has its contract cancelled, so the node frees whatever it created.
        """
        started = time.monotonic()
        twin, node = await self.twin(), await self.node(spec)
        dep = self.build(spec, twin)
        account = self.identity.keys.public_key
        hash_hex = dep.challenge_hash_hex()
        try:
            contract = int(
                await self._sync(self.chain.create_node_contract, account, node, hash_hex, "", 0)
            )
        except Exception as err:
            if "already exists" in str(err):
                raise SpecError(
                    f"an identical deployment is already active on node {node}: cancel it, "
                    "or change the file (e.g. its description)"
                ) from err
            raise
        dep.contract_id = contract
        try:
            await self._send("zos.deployment.deploy", self._wire(dep), contract, 0)
            names = {w.name for w in dep.workloads}
            final, results = await self.wait(contract, 0, names, progress, max_wait)
        except BaseException:
            await self._sync(self.chain.cancel_contract, account, contract)  # roll back
            raise
        outcome = Outcome(contract, final, time.monotonic() - started, results)
        if rollback and not outcome.ok:
            await self._sync(self.chain.cancel_contract, account, contract)
            outcome.rolled_back = True
        return outcome

    async def update(
        self,
        contract: int,
        spec: DeploySpec,
        progress: Progress | None = None,
        max_wait: float = 600.0,
    ) -> Outcome:
        started = time.monotonic()
        twin = await self.twin()
        current = await self.get(contract)
        version = int(current["version"]) + 1
        dep = self.build(spec, twin, version, contract, current)
        await self._sync(
            self.chain.update_node_contract,
            self.identity.keys.public_key,
            contract,
            dep.challenge_hash_hex(),
            "",
        )
        await self._send("zos.deployment.update", self._wire(dep), contract, version)
        names = {w.name for w in dep.workloads if w.version == version}
        final, results = await self.wait(contract, version, names, progress, max_wait)
        return Outcome(contract, final, time.monotonic() - started, results)

    async def _send(self, cmd: str, wire: dict[str, Any], contract: int, version: int) -> None:
        """Send a deploy/update; if the answer is lost (node restarting), find out whether
        it arrived before sending it once more."""
        bus = await self.bus()
        for attempt in range(3):
            try:
                await bus.call(cmd, wire, expiration=self.rpc_expiration)
                return
            except RemoteError as err:
                # a resend of what had arrived after all
                text = str(err)
                if attempt and (text == "exists" or text.startswith("expecting deployment")):
                    return
                raise
            except TimeoutError:
                try:
                    if (await self.get(contract))["version"] == version:
                        return  # it arrived; only the answer was lost
                except (TimeoutError, RemoteError):
                    pass
                if attempt == 2:
                    raise

    async def wait(
        self,
        contract: int,
        version: int,
        names: set[str],
        progress: Progress | None = None,
        max_wait: float = 600.0,
    ) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
        """Poll until each of ``names`` has a final result at ``version``; an error ends it.

        Final: ok or error, and for an update also ``unchanged`` (the node refused the change
        and kept the previous state). Updates are followed in the transaction log, because
        ``get`` keeps showing the previous version until the node has applied the new one.
        """
        deadline = time.monotonic() + max_wait
        while True:
            try:
                dep = await self.get(contract)
                entries = dep["workloads"] if version == 0 else await self.changes(contract)
            except TimeoutError:  # a lost poll (the node restarting): ask again
                if time.monotonic() > deadline:
                    raise
                continue
            if progress is not None:
                progress(dep)
            latest: dict[str, tuple[str, str]] = {}
            for wl in entries:
                if wl["version"] == version and wl["name"] in names:
                    latest[wl["name"]] = (wl["result"]["state"], wl["result"]["message"])
            final = {n: r for n, r in latest.items() if r[0] in (*FINAL, "unchanged")}
            if any(r[0] == "error" for r in final.values()) or len(final) == len(names):
                return dep, final
            if version > 0 and dep["version"] < version:
                # the node refused the update as a whole and restored the previous version
                reason = next((m for st, m in final.values() if st == "unchanged"), "")
                refused = ("unchanged", reason or "the node refused the update")
                return dep, {n: final.get(n, refused) for n in names}
            if time.monotonic() > deadline:
                raise TimeoutError(f"deployment {contract} not ready after {max_wait:.0f}s")
            await asyncio.sleep(self.poll_interval)

    async def get(self, contract: int) -> dict[str, Any]:
        result = await (await self.bus()).call(
            "zos.deployment.get", {"contract_id": contract}, expiration=POLL_EXPIRATION
        )
        return result  # type: ignore[no-any-return]

    async def list_deployments(self) -> list[dict[str, Any]]:
        return await (await self.bus()).call("zos.deployment.list")  # type: ignore[no-any-return]

    async def changes(self, contract: int) -> list[dict[str, Any]]:
        result = await (await self.bus()).call(
            "zos.deployment.changes", {"contract_id": contract}, expiration=POLL_EXPIRATION
        )
        return result  # type: ignore[no-any-return]

    async def cancel(self, contract: int) -> None:
        await self._sync(self.chain.cancel_contract, self.identity.keys.public_key, contract)

    async def close(self) -> None:
        await self.redis.aclose()


def redis_of(broker: str) -> Redis:
    if broker.startswith("unix://"):
        return Redis(unix_socket_path=broker.removeprefix("unix://"))
    if broker.startswith("tcp://"):
        host, _, port = broker.removeprefix("tcp://").rpartition(":")
        return Redis(host=host or "127.0.0.1", port=int(port or 6379))
    raise SpecError(f"invalid broker URL {broker!r}: expected unix:///path or tcp://host:port")
