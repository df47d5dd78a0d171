"""The engine on a real sqlite store, with the in-memory chain and recording managers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from zos_provision.api import Op, ProvisionError
from zos_provision.capacity import GiB, Memory
from zos_provision.engine import Engine, EngineConfig
from zos_provision.store import Store
from zos_provision.testing import MemoryChain, RecordingManager, StandInRules

NODE = 7
TWIN = 42


def volume(name: str, size: int, version: int = 0, kind: str = "volume") -> dict[str, Any]:
    return {
        "version": version,
        "name": name,
        "type": kind,
        "data": {"size": size},
        "metadata": "",
        "description": "",
    }


class Env:
    def __init__(self, tmp: Path) -> None:
        self.store = Store(tmp / "provision.db")
        self.rules = StandInRules()
        self.chain = MemoryChain()
        self.volumes = RecordingManager()
        self.memory = Memory(total=16 * GiB, available=12 * GiB)
        self.engine = Engine(
            self.store,
            self.rules,
            self.chain,
            {"volume": self.volumes, "zmount": self.volumes},
            EngineConfig(node_id=NODE, chain_retry_limit=2.0, chain_backoff_initial=0.05),
            memory=lambda: self.memory,
        )
        self.next_contract = 100

    def deployment(self, *workloads: dict[str, Any], twin: int = TWIN) -> dict[str, Any]:
        self.next_contract += 1
        dep = {
            "version": 0,
            "twin_id": twin,
            "contract_id": self.next_contract,
            "metadata": "",
            "description": "",
            "expiration": 0,
            "workloads": list(workloads),
        }
        return dep

    def sign(self, dep: dict[str, Any], contract: bool = True) -> dict[str, Any]:
        self.rules.sign(dep, dep["twin_id"], self.chain.key_of(dep["twin_id"]))
        if contract:
            if dep["contract_id"] in self.chain.contracts:
                self.chain.contracts[
                    dep["contract_id"]
                ].deployment_hash = self.rules.challenge_hash(dep)
            else:
                self.chain.create_contract(
                    dep["contract_id"], dep["twin_id"], NODE, self.rules.challenge_hash(dep)
                )
        return dep

    async def settle(self, limit: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + limit
        while self.store.queue_length() or self.engine.health().current_job:
            assert loop.time() < end, "queue did not drain"
            await asyncio.sleep(0.01)

    def states(self, dep: dict[str, Any]) -> dict[str, tuple[str, str]]:
        got = self.store.get(dep["twin_id"], dep["contract_id"])
        return {w.name: (w.result.state, w.result.message) for w in got.workloads}


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    e = Env(tmp_path)
    worker = asyncio.create_task(e.engine.run())
    yield e
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker
    e.store.close()


async def test_deploy_to_ok_in_install_order(env: Env) -> None:
    dep = env.sign(
        env.deployment(
            volume("small", 1 * GiB), volume("big", 5 * GiB), volume("disk", 2 * GiB, kind="zmount")
        )
    )
    await env.engine.create_or_update(TWIN, dep, update=False)
    await env.settle()
    assert env.states(dep) == {"small": ("ok", ""), "big": ("ok", ""), "disk": ("ok", "")}
    # zmount first, then volumes biggest first; get keeps the user's order
    order = [wid.rsplit("-", 1)[1] for op, wid in env.volumes.calls if op == "provision"]
    assert order == ["disk", "big", "small"]
    got = env.engine.get(TWIN, dep["contract_id"]).to_json()
    assert [w["name"] for w in got["workloads"]] == ["small", "big", "disk"]
    assert got["workloads"][0]["result"]["data"] == {"id": f"{TWIN}-{dep['contract_id']}-small"}
    changes = env.engine.changes(TWIN, dep["contract_id"])
    assert [(w.name, w.result.state) for w in changes][:3] == [
        ("small", "init"),
        ("big", "init"),
        ("disk", "init"),
    ]
    assert len(changes) == 6
    assert [d.contract_id for d in env.engine.list_deployments(TWIN)] == [dep["contract_id"]]


@pytest.mark.parametrize(
    ("mutate", "twin", "error"),
    [
        (lambda d: d.update(twin_id=43), TWIN, "twin id mismatch (deployment: 43, message: 42)"),
        (lambda d: d.update(description="tampered"), TWIN, "failed to verify signature"),
        (
            lambda d: d["signature_requirement"].update(signatures=[]),
            TWIN,
            "missing required signature for twin '42'",
        ),
        (lambda d: d["workloads"][0]["data"].update(size=0), TWIN, "invalid size"),
    ],
)
async def test_admission_errors_store_nothing(env: Env, mutate: Any, twin: int, error: str) -> None:
    dep = env.sign(env.deployment(volume("v", GiB)))
    mutate(dep)
    with pytest.raises(ProvisionError) as info:
        await env.engine.create_or_update(twin, dep, update=False)
    assert str(info.value) == error
    assert not env.store.exists(dep["twin_id"], dep["contract_id"])
    assert env.store.queue_length() == 0


async def test_version_must_be_zero_and_deploy_once(env: Env) -> None:
    dep = env.deployment(volume("v", GiB))
    dep["version"] = 1
    env.sign(dep)
    with pytest.raises(
        ProvisionError,
        match=r"^expected version to be 0 on deployment "
        r"creation: invalid version$",
    ):
        await env.engine.create_or_update(TWIN, dep, update=False)
    dep = env.sign(env.deployment(volume("v", GiB)))
    await env.engine.create_or_update(TWIN, dep, update=False)
    with pytest.raises(ProvisionError, match=r"^exists$"):
        await env.engine.create_or_update(TWIN, dep, update=False)


async def test_network_name_conflict(env: Env) -> None:
    net = {"version": 0, "name": "net", "type": "network", "data": {}}
    a = env.sign(env.deployment(dict(net)))
    await env.engine.create_or_update(TWIN, a, update=False)
    b = env.sign(env.deployment(dict(net)))
    with pytest.raises(ProvisionError) as info:
        await env.engine.create_or_update(TWIN, b, update=False)
    assert str(info.value) == "global workload with the same name 'net' exists: conflict"
    await env.settle()
    # types this node does not run get a clear error result
    assert env.states(a)["net"] == (
        "error",
        "workload type 'network' is not supported on this node",
    )


@pytest.mark.parametrize(
    ("contract", "error"),
    [
        (None, "failed to get deployment contract: contract {cid} not found"),
        ({"deployment_hash": "0" * 32}, "contract hash does not match deployment hash"),
        ({"node_id": NODE + 1}, "invalid node address in contract"),
        ({"kind": "name"}, "invalid contract type, expecting node contract"),
    ],
)
async def test_contract_check_errors_reach_every_workload(
    env: Env, contract: dict[str, Any] | None, error: str
) -> None:
    dep = env.sign(
        env.deployment(volume("a", GiB), volume("b", GiB)), contract=contract is not None
    )
    if contract:
        for key, value in contract.items():
            setattr(env.chain.contracts[dep["contract_id"]], key, value)
    await env.engine.create_or_update(TWIN, dep, update=False)
    await env.settle()
    text = error.format(cid=dep["contract_id"])
    assert env.states(dep) == {"a": ("error", text), "b": ("error", text)}
    assert env.volumes.calls == []


async def test_another_twins_contract_is_refused(env: Env) -> None:
    theirs = env.sign(env.deployment(volume("v", GiB), twin=77))
    await env.engine.create_or_update(77, theirs, update=False)
    mine = env.deployment(volume("v", GiB))
    mine["contract_id"] = theirs["contract_id"]
    env.sign(mine, contract=False)
    await env.engine.create_or_update(TWIN, mine, update=False)
    await env.settle()
    assert env.states(mine)["v"] == ("error", "contract hash does not match deployment hash")
    assert env.states(theirs)["v"][0] == "ok"
    # cancelling the contract removes both copies
    assert env.engine.contract_cancelled(theirs["contract_id"], "contract canceled event received")
    await env.settle()
    assert env.store.by_contract(theirs["contract_id"]) == []


async def test_update_grow_add_remove_and_shrink(env: Env) -> None:
    dep = env.sign(env.deployment(volume("keep", GiB), volume("grow", GiB), volume("old", GiB)))
    await env.engine.create_or_update(TWIN, dep, update=False)
    await env.settle()
    new = env.deployment(
        volume("keep", GiB), volume("grow", 3 * GiB, version=1), volume("fresh", GiB, version=1)
    )
    new.update(version=1, contract_id=dep["contract_id"])
    env.sign(new)
    await env.engine.create_or_update(TWIN, new, update=True)
    await env.settle()
    assert env.states(new) == {"keep": ("ok", ""), "grow": ("ok", ""), "fresh": ("ok", "")}
    wid = f"{TWIN}-{dep['contract_id']}"
    assert env.volumes.resources == {
        f"{wid}-keep": GiB,
        f"{wid}-grow": 3 * GiB,
        f"{wid}-fresh": GiB,
    }
    got = env.engine.get(TWIN, dep["contract_id"])
    assert got.version == 1
    assert [w.name for w in got.workloads] == ["keep", "grow", "fresh"]
    assert got.get("grow") is not None and got.get("grow").data == {"size": 3 * GiB}  # type: ignore[union-attr]
    log = [
        (w.name, w.result.state, w.result.message)
        for w in env.engine.changes(TWIN, dep["contract_id"])
    ]
    assert ("old", "deleted", "deleted by an update") in log
    # shrinking is refused by the manager: unchanged, the old result stays current
    shrink = env.deployment(
        volume("keep", GiB), volume("grow", GiB, version=2), volume("fresh", GiB, version=1)
    )
    shrink.update(version=2, contract_id=dep["contract_id"])
    env.sign(shrink)
    await env.engine.create_or_update(TWIN, shrink, update=True)
    await env.settle()
    assert env.states(shrink)["grow"] == ("ok", "")
    last = env.engine.changes(TWIN, dep["contract_id"])[-1]
    assert (last.name, last.result.state, last.result.message) == (
        "grow",
        "unchanged",
        "cannot shrink",
    )


async def test_update_errors(env: Env) -> None:
    dep = env.sign(env.deployment(volume("v", GiB)))
    with pytest.raises(ProvisionError, match=r"^deployment not found: deployment does not exist$"):
        await env.engine.create_or_update(TWIN, dep, update=True)
    await env.engine.create_or_update(TWIN, dep, update=False)
    await env.settle()
    bad = env.deployment(volume("v", GiB, version=2))
    bad.update(version=2, contract_id=dep["contract_id"])
    env.sign(bad)
    with pytest.raises(ProvisionError) as info:
        await env.engine.create_or_update(TWIN, bad, update=True)
    assert str(info.value) == "expecting deployment version 1, got 2: upgrade validation error"
    ip = {"version": 0, "name": "ip", "type": "ip", "data": {"v4": True}}
    dep2 = env.sign(env.deployment(ip))
    await env.engine.create_or_update(TWIN, dep2, update=False)
    up = env.deployment(dict(ip, version=1, data={"v4": True, "v6": True}))
    up.update(version=1, contract_id=dep2["contract_id"])
    env.sign(up)
    with pytest.raises(ProvisionError) as info:
        await env.engine.create_or_update(TWIN, up, update=True)
    assert str(info.value) == "workload 'ip' does not support upgrade: upgrade validation error"


async def test_update_with_wrong_hash_keeps_running_workloads(env: Env) -> None:
    dep = env.sign(env.deployment(volume("v", GiB)))
    await env.engine.create_or_update(TWIN, dep, update=False)
    await env.settle()
    new = env.deployment(volume("v", 2 * GiB, version=1))
    new.update(version=1, contract_id=dep["contract_id"])
    env.sign(new, contract=False)  # the client did not update the contract hash
    await env.engine.create_or_update(TWIN, new, update=True)
    await env.settle()
    got = env.engine.get(TWIN, dep["contract_id"])
    assert got.version == 0
    assert env.states(dep) == {"v": ("ok", "")}
    last = env.engine.changes(TWIN, dep["contract_id"])[-1]
    assert (last.result.state, last.result.message) == (
        "unchanged",
        "contract hash does not match deployment hash",
    )


async def test_cancel_pause_resume(env: Env) -> None:
    dep = env.sign(env.deployment(volume("v", GiB), volume("d", GiB, kind="zmount")))
    await env.engine.create_or_update(TWIN, dep, update=False)
    await env.settle()
    cid = dep["contract_id"]
    assert env.engine.contract_locked(cid, True)
    await env.settle()
    assert env.states(dep) == {"v": ("paused", "paused"), "d": ("paused", "paused")}
    env.engine.contract_locked(cid, False)
    await env.settle()
    assert env.states(dep) == {"v": ("ok", ""), "d": ("ok", "")}
    assert env.engine.contract_cancelled(cid, "contract canceled event received")
    await env.settle()
    assert not env.store.exists(TWIN, cid)
    assert env.volumes.resources == {}
    removal = [w.rsplit("-", 1)[1] for op, w in env.volumes.calls if op == "deprovision"]
    assert removal == ["v", "d"]  # reverse install order
    with pytest.raises(Exception, match="deployment not found"):
        env.engine.changes(TWIN, cid)


async def test_chain_down_retries_then_provisions(env: Env) -> None:
    dep = env.sign(env.deployment(volume("v", GiB)))
    await env.engine.create_or_update(TWIN, dep, update=False)
    env.chain.down = True  # after admission, before the worker looks at the contract
    await asyncio.sleep(0.3)
    state, message = env.states(dep)["v"]
    assert state == "init" and "waiting for the chain" in message
    env.chain.down = False
    await env.settle()
    assert env.states(dep) == {"v": ("ok", "")}


async def test_chain_down_too_long_is_an_error(env: Env) -> None:
    env.engine.config.chain_retry_limit = 0.3
    dep = env.sign(env.deployment(volume("v", GiB)))
    await env.engine.create_or_update(TWIN, dep, update=False)
    env.chain.down = True
    await env.settle()
    assert env.states(dep)["v"] == ("error", "failed to reach the chain: connection refused")


async def test_memory_admission_uses_actual_usage(env: Env) -> None:
    env.engine.managers["zmachine"] = RecordingManager()
    vm = {
        "version": 0,
        "name": "vm",
        "type": "zmachine",
        "data": {"compute_capacity": {"cpu": 1, "memory": 4 * GiB}},
    }
    # 16 GiB total, reserve 2 GiB, but 13 GiB actually in use: 3 GiB usable
    env.memory = Memory(total=16 * GiB, available=3 * GiB)
    dep = env.sign(env.deployment(vm))
    await env.engine.create_or_update(TWIN, dep, update=False)
    await env.settle()
    assert env.states(dep)["vm"] == (
        "error",
        "failed to satisfy required capacity: cannot fulfil "
        f"required memory size {4 * GiB} bytes out of usable "
        f"{3 * GiB} bytes",
    )
    env.memory = Memory(total=16 * GiB, available=15 * GiB)
    ok = env.sign(env.deployment(dict(vm)))
    await env.engine.create_or_update(TWIN, ok, update=False)
    await env.settle()
    assert env.states(ok)["vm"] == ("ok", "")
    counters = await env.engine.counters()
    assert counters.system.mru == 2 * GiB
    assert counters.used.mru == 6 * GiB
    assert counters.users.workloads == 1 and counters.users.deployments == 1


async def test_sync_deletes_only_confirmed_gone_contracts(env: Env) -> None:
    a = env.sign(env.deployment(volume("v", GiB)))
    b = env.sign(env.deployment(volume("v", GiB)))
    for dep in (a, b):
        await env.engine.create_or_update(TWIN, dep, update=False)
    await env.settle()
    env.chain.down = True
    await env.engine.sync()  # unreachable chain: never a reason to delete
    env.chain.down = False
    env.chain.contracts[a["contract_id"]].state = "Deleted"
    env.chain.contracts[b["contract_id"]].state = "GracePeriod"
    await env.engine.sync()
    await env.settle()
    assert not env.store.exists(TWIN, a["contract_id"])
    assert env.states(b) == {"v": ("paused", "paused")}
    assert env.store.changes(TWIN, b["contract_id"])  # kept


async def test_decommission_keeps_the_workload_in_error(env: Env) -> None:
    dep = env.sign(env.deployment(volume("v", GiB)))
    await env.engine.create_or_update(TWIN, dep, update=False)
    await env.settle()
    env.engine.decommission(f"{TWIN}-{dep['contract_id']}-v", "keeps crashing")
    await env.settle()
    assert env.states(dep)["v"] == (
        "error",
        "workload decommissioned by system, reason: keeps crashing",
    )
    assert env.volumes.resources == {}
    counters = await env.engine.counters()
    assert counters.users.workloads == 0


async def test_reboot_reprovisions_active_deployments_only(env: Env) -> None:
    good = env.sign(env.deployment(volume("v", GiB)))
    bad = env.sign(env.deployment(volume("v", GiB)), contract=False)
    for dep in (good, bad):
        await env.engine.create_or_update(TWIN, dep, update=False)
    await env.settle()
    env.volumes.resources.clear()  # the node lost its runtime state
    env.chain.down = True  # and the chain is down at boot: no chain call is needed
    assert env.engine.boot(first_start_after_boot=False) == 0
    assert env.engine.boot(first_start_after_boot=True) == 1
    await env.settle()
    assert env.states(good) == {"v": ("ok", "")}
    assert list(env.volumes.resources) == [f"{TWIN}-{good['contract_id']}-v"]
    assert env.states(bad)["v"][0] == "error"


async def test_job_steps_survive_a_replay(env: Env) -> None:
    """A job replayed after a crash does not repeat recorded steps."""
    dep = env.sign(env.deployment(volume("a", GiB), volume("b", GiB)))
    await env.engine.create_or_update(TWIN, dep, update=False)
    await env.settle()
    before = len(env.store.changes(TWIN, dep["contract_id"]))
    job_id = env.store.enqueue(
        Op.PROVISION_NO_VALIDATION, env.store.get(TWIN, dep["contract_id"]), None
    )
    env.store.mark_step(job_id, "provision:a")
    env.store.mark_step(job_id, "provision:b")
    await env.settle()
    assert len(env.store.changes(TWIN, dep["contract_id"])) == before


async def test_rent_contract_grace_pauses_every_deployment(env: Env) -> None:
    from zos_provision.chain import Contract

    deps = [env.sign(env.deployment(volume("v", GiB))) for _ in range(2)]
    for dep in deps:
        await env.engine.create_or_update(TWIN, dep, update=False)
    await env.settle()
    env.chain.contracts[77] = Contract(77, 9, "GracePeriod", "rent", NODE)
    env.chain.contracts[78] = Contract(78, 9, "GracePeriod", "rent", NODE + 1)
    assert not await env.engine.rent_locked(78, True)  # another node's rent
    assert await env.engine.rent_locked(77, True)
    await env.settle()
    assert [env.states(d)["v"][0] for d in deps] == ["paused", "paused"]
    assert await env.engine.rent_locked(77, False)
    await env.settle()
    assert [env.states(d)["v"][0] for d in deps] == ["ok", "ok"]


async def test_reboot_retries_managers_while_modules_come_up(env: Env) -> None:
    env.engine.config.boot_retry_limit = 5.0
    dep = env.sign(env.deployment(volume("v", GiB)))
    await env.engine.create_or_update(TWIN, dep, update=False)
    await env.settle()
    wid = f"{TWIN}-{dep['contract_id']}-v"
    env.volumes.resources.clear()
    env.volumes.fail[wid] = "storaged is not ready"
    env.engine.boot(first_start_after_boot=True)
    await asyncio.sleep(0.2)
    del env.volumes.fail[wid]  # storaged is up now
    await env.settle()
    assert env.states(dep) == {"v": ("ok", "")}
    states = [w.result.state for w in env.store.changes(TWIN, dep["contract_id"])]
    assert "error" not in states
