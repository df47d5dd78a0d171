"""The provisioning engine: admission, the single worker and the lifecycle per operation.

Admission (`Engine.create_or_update`) is synchronous and returns errors to the caller; all
work then happens in one worker that takes jobs from the persistent queue in FIFO order:
peek → run → dequeue. Every workload step of a job is recorded together with its result, so
a job interrupted by kill -9 resumes where it stopped and no result is written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zos_provision.api import (
    REASON_UPDATE,
    TEXT_INVALID_VERSION,
    TEXT_UPDATE_NOT_FOUND,
    Capacity,
    Counters,
    DeploymentNotFound,
    Op,
    ProvisionError,
    ResultState,
    Users,
    twin_mismatch,
)
from zos_provision.capacity import (
    CapacityError,
    Memory,
    MemoryProbe,
    check_memory,
    host_memory,
    host_total,
    system_reserve,
)
from zos_provision.chain import (
    ChainError,
    ChainReader,
    ChainUnavailable,
    Contract,
    ContractNotFound,
    KycChecker,
    NoKyc,
)
from zos_provision.managers.base import (
    Manager,
    NoActionNeeded,
    NotSupported,
    Paused,
    Unchanged,
    WorkloadContext,
)
from zos_provision.model import Deployment, Result, Workload, parse_workload_id
from zos_provision.order import install_sorted
from zos_provision.rules import UPDATABLE_TYPES, DeploymentRules, RulesError
from zos_provision.store import Job, Store, okay_capacity

log = logging.getLogger(__name__)

DEAD = (ResultState.DELETED.value, ResultState.ERROR.value)


class ContractCheckFailed(Exception):
    pass


@dataclass
class EngineConfig:
    node_id: int
    #: give up on an unreachable chain after this long and record the error (spec §6)
    chain_retry_limit: float = 600.0
    chain_backoff_initial: float = 1.0
    chain_backoff_max: float = 30.0
    #: how long a failing manager is retried when re-provisioning after a reboot
    boot_retry_limit: float = 300.0
    cache_size: int = 0


@dataclass
class QueueHealth:
    length: int = 0
    current_job: str | None = None
    current_job_age: float = 0.0
    processed: int = 0
    last_error: str | None = None


def _sort(workloads: list[Workload], reverse: bool = False) -> list[Workload]:
    return install_sorted(workloads, lambda w: w.type, lambda w: w.data, reverse=reverse)


@dataclass
class _Running:
    job: Job
    started: float = field(default_factory=time.monotonic)


class Engine:
    def __init__(
        self,
        store: Store,
        rules: DeploymentRules,
        chain: ChainReader,
        managers: Mapping[str, Manager],
        config: EngineConfig,
        kyc: KycChecker | None = None,
        memory: MemoryProbe = host_memory,
        disk_totals: Callable[[], Awaitable[tuple[int, int]]] | None = None,
        cache_size: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        self.store = store
        self.rules = rules
        self.chain = chain
        self.managers = dict(managers)
        self.config = config
        self.kyc = kyc or NoKyc()
        self.memory = memory
        self.disk_totals = disk_totals
        self.cache_size = cache_size
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._running: _Running | None = None
        self._processed = 0
        self._last_error: str | None = None
        self._keys: dict[int, bytes] = {}
        #: called after each finished job with (op, deployment) (usage reports, tests)
        self.on_job_done: Callable[[Job], Awaitable[None]] | None = None

    def _kick(self) -> None:
        self._idle.clear()
        self._wake.set()

    async def wait_idle(self) -> None:
        """Wait until the queue is empty and the worker has nothing running."""
        await self._idle.wait()

    def manager(self, wtype: str) -> Manager:
        return self.managers.get(wtype) or NotSupported(wtype)

    # ---- admission (spec §2) -------------------------------------------------------------

    async def create_or_update(self, twin: int, raw: Mapping[str, Any], update: bool) -> None:
        try:
            self.rules.validate(raw)
            dep = Deployment.from_json(raw)
        except (RulesError, ValueError) as err:
            raise ProvisionError(str(err)) from err
        if dep.twin_id != twin:
            raise ProvisionError(twin_mismatch(dep.twin_id, twin))
        await self.kyc.check(twin)
        keys: dict[int, bytes | Exception] = {}
        for signer in self.rules.signers(raw):
            try:
                keys[signer] = await self._twin_key(signer)
            except Exception as err:  # reported by verify, for the signer that needs it
                keys[signer] = err

        def public_key(signer: int) -> bytes:
            key = keys.get(signer)
            if key is None:
                raise ProvisionError(f"twin {signer} not found")
            if isinstance(key, Exception):
                raise key
            return key

        try:
            self.rules.verify(raw, public_key)
        except RulesError as err:
            raise ProvisionError(str(err)) from err
        # results are the node's to set
        for wl in dep.workloads:
            wl.result = Result()
        if not update:
            if dep.version != 0:
                raise ProvisionError(TEXT_INVALID_VERSION)
            self.store.create(dep, (Op.PROVISION, ""))
        else:
            try:
                old = self.store.get(dep.twin_id, dep.contract_id)
            except DeploymentNotFound as err:
                raise ProvisionError(TEXT_UPDATE_NOT_FOUND) from err
            try:
                ops = self.rules.plan(old.to_json(), dep.to_json())
            except RulesError as err:
                raise ProvisionError(f"{err}: upgrade validation error") from err
            for op, name in ops:
                target = dep.get(name)
                if op == "update" and target is not None and target.type not in UPDATABLE_TYPES:
                    raise ProvisionError(
                        f"workload '{target.type}' does not support upgrade: "
                        "upgrade validation error"
                    )
            with self.store.transaction(durable=True):
                self.store.update_header(dep)
                self.store.enqueue(Op.UPDATE, dep, old)
        self._kick()

    async def _twin_key(self, twin: int) -> bytes:
        if twin not in self._keys:
            self._keys[twin] = await self.chain.get_twin_public_key(twin)
        return self._keys[twin]

    # ---- queries ---------------------------------------------------------------------------

    def get(self, twin: int, contract: int) -> Deployment:
        return self.store.get(twin, contract)

    def list_deployments(self, twin: int) -> list[Deployment]:
        return [d for d in self.store.deployments(twin) if _active(d)]

    def changes(self, twin: int, contract: int) -> list[Workload]:
        return self.store.changes(twin, contract)

    def health(self) -> QueueHealth:
        running = self._running
        return QueueHealth(
            length=self.store.queue_length(),
            current_job=None
            if running is None
            else f"{running.job.op.value} {running.job.target.id}",
            current_job_age=0.0 if running is None else time.monotonic() - running.started,
            processed=self._processed,
            last_error=self._last_error,
        )

    async def counters(self) -> Counters:
        memory = self.memory()
        sru, hru = (0, 0) if self.disk_totals is None else await self.disk_totals()
        total = host_total(memory, sru, hru)
        cache = self.config.cache_size
        if self.cache_size is not None:
            try:
                cache = await self.cache_size()
            except Exception as err:  # storaged busy or down: report without it
                log.warning("cache size unknown: %s", err)
        system = system_reserve(memory.total, cache)
        used, active, count = okay_capacity(self.store.deployments(), self._capacity)
        return Counters(
            total=total,
            used=used.add(system),
            system=system,
            users=Users(
                deployments=active,
                workloads=count,
                last_deployment_timestamp=self.store.last_deployment_time(),
            ),
        )

    def capacity_of(self, wl: Workload) -> Capacity:
        return self._capacity(wl)

    def _capacity(self, wl: Workload) -> Capacity:
        try:
            return self.rules.capacity(wl.to_json())
        except Exception:  # a workload the rules cannot read books nothing
            return Capacity()

    # ---- events (spec §10) -----------------------------------------------------------------

    def enqueue(self, op: Op, dep: Deployment, message: str = "") -> int:
        job = self.store.enqueue(op, dep, None, message)
        self._kick()
        return job

    def contract_cancelled(self, contract: int, reason: str) -> bool:
        deps = self.store.by_contract(contract)
        for dep in deps:
            log.info("deprovision %s: %s", dep.id, reason)
            self.enqueue(Op.DEPROVISION, dep, reason)
        return bool(deps)

    def contract_locked(self, contract: int, lock: bool) -> bool:
        deps = self.store.by_contract(contract)
        for dep in deps:
            self.enqueue(Op.PAUSE if lock else Op.RESUME, dep)
        return bool(deps)

    def decommission(self, wid: str, reason: str) -> None:
        twin, contract, name = parse_workload_id(wid)
        dep = self.store.get(twin, contract)
        self.enqueue(Op.DECOMMISSION, dep, json.dumps({"workload": name, "reason": reason}))

    def boot(self, first_start_after_boot: bool) -> int:
        """Queue the re-provisioning of every active deployment after a reboot (spec §9)."""
        if not first_start_after_boot:
            return 0
        count = 0
        for dep in self.store.deployments():
            if _active(dep):
                self.store.enqueue(Op.PROVISION_NO_VALIDATION, dep, None)
                count += 1
        self._kick()
        return count

    async def rent_locked(self, contract: int, lock: bool) -> bool:
        """A lock event for a contract we do not store: if it is this node's rent contract,
        every deployment on the node pauses (or resumes) with it (spec §10)."""
        try:
            found = await self.chain.get_contract(contract)
        except Exception as err:
            log.warning("lock event for unknown contract %d not checked: %s", contract, err)
            return False
        if found.kind != "rent" or found.node_id != self.config.node_id:
            return False
        for dep in self.store.deployments():
            self.enqueue(Op.PAUSE if lock else Op.RESUME, dep)
        return True

    async def sync(self) -> bool:
        """Reconcile with the chain; never delete on doubt (spec §10, project rules).

        Returns False when the chain could not be asked (the caller retries sooner)."""
        try:
            on_chain = set(await self.chain.get_node_contracts(self.config.node_id))
        except Exception as err:
            log.warning("sync skipped, cannot list node contracts: %s", err)
            return False
        for dep in self.store.deployments():
            cid = dep.contract_id
            try:
                contract: Contract | None = await self.chain.get_contract(cid)
            except ContractNotFound:
                contract = None
            except Exception as err:
                log.warning("sync: contract %d unknown for now: %s", cid, err)
                continue
            gone = (
                contract is None
                or contract.state == "Deleted"
                or contract.node_id != self.config.node_id
            )
            if gone:
                log.info("sync: contract %d gone (%s), deprovisioning", cid, contract)
                self.contract_cancelled(cid, "contract not active on chain")
                continue
            if cid not in on_chain:
                log.info("sync: contract %d missing from the node list but still live", cid)
            assert contract is not None
            paused = any(w.result.state == ResultState.PAUSED.value for w in dep.workloads)
            grace = contract.state == "GracePeriod"
            if grace != paused:
                self.contract_locked(cid, grace)
        return True

    # ---- the worker ------------------------------------------------------------------------

    async def run(self) -> None:
        """The single worker; runs until cancelled."""
        while True:
            job = self.store.peek()
            if job is None:
                self._idle.set()
                self._wake.clear()
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await self._wake.wait()
                continue
            self._running = _Running(job)
            try:
                await self.process(job)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a bug must not wedge the queue (zos#2496)
                log.exception("job %d (%s) failed", job.id, job.op.value)
                self._last_error = f"job {job.id} {job.op.value}: {err}"
            finally:
                self._running = None
            self.store.dequeue(job.id)
            self._processed += 1
            if self.on_job_done is not None:
                try:
                    await self.on_job_done(job)
                except Exception:
                    log.exception("job callback failed")

    async def process(self, job: Job) -> None:
        dep = job.target
        if not self.store.exists(dep.twin_id, dep.contract_id):
            return
        if job.op is Op.PROVISION:
            await self._provision(job, validate=True)
        elif job.op is Op.PROVISION_NO_VALIDATION:
            await self._provision(job, validate=False)
        elif job.op is Op.UPDATE:
            await self._update(job)
        elif job.op is Op.DEPROVISION:
            await self._deprovision(job, job.message)
        elif job.op is Op.PAUSE:
            await self._pause(job)
        elif job.op is Op.RESUME:
            await self._resume(job)
        elif job.op is Op.DECOMMISSION:
            await self._decommission(job)

    def _record(self, job: Job, step: str, dep: Deployment, wl: Workload | None) -> None:
        """Append a result (if any) and mark the job step done, atomically."""
        with self.store.transaction():
            if wl is not None:
                self.store.transaction_append(dep.twin_id, dep.contract_id, wl)
            self.store.mark_step(job.id, step)

    async def _call(
        self, fn: Callable[[WorkloadContext], Awaitable[Any]], ctx: WorkloadContext
    ) -> Result | None:
        wl = ctx.workload
        try:
            data = await fn(ctx)
        except NoActionNeeded:
            return None
        except Unchanged as err:
            return Result.now(ResultState.UNCHANGED, str(err), wl.result.data)
        except Paused:
            return Result.now(ResultState.PAUSED, "paused", wl.result.data)
        except Exception as err:
            log.warning("%s %s: %s", getattr(fn, "__name__", "call"), ctx.workload_id, err)
            return Result.now(ResultState.ERROR, str(err) or type(err).__name__)
        return Result.now(ResultState.OK, "", data)

    async def _provision_one(
        self, job: Job, dep: Deployment, wl: Workload, info: dict[str, Any], rented: bool
    ) -> None:
        step = f"provision:{wl.name}"
        if self.store.step_done(job.id, step):
            return
        current = self.store.current(dep.twin_id, dep.contract_id, wl.name)
        if current is None:
            return
        if current.result.state in DEAD:
            self._record(job, step, dep, None)
            return
        ctx = WorkloadContext(dep, current, info, rented)
        result: Result | None
        try:
            self._admit_memory(dep, current)
        except CapacityError as err:
            result = Result.now(ResultState.ERROR, str(err))
        else:
            result = await self._call(self.manager(wl.type).provision, ctx)
            if job.op is Op.PROVISION_NO_VALIDATION:
                result = await self._retry_at_boot(ctx, result)
        self._record(job, step, dep, None if result is None else current.with_result(result))

    async def _retry_at_boot(self, ctx: WorkloadContext, result: Result | None) -> Result | None:
        """After a reboot the modules a workload needs may still be coming up: retry a
        failing manager with back-off for a while before recording the error (spec §9)."""
        deadline = time.monotonic() + self.config.boot_retry_limit
        delay = self.config.chain_backoff_initial
        while result is not None and result.state == ResultState.ERROR.value:
            if time.monotonic() + delay > deadline:
                break
            log.warning(
                "re-provisioning %s after boot failed, retrying in %.0fs: %s",
                ctx.workload_id,
                delay,
                result.message,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.chain_backoff_max)
            result = await self._call(self.manager(ctx.workload.type).provision, ctx)
        return result

    def _admit_memory(self, dep: Deployment, wl: Workload) -> None:
        required = self._capacity(wl).mru
        if required == 0:
            return
        memory: Memory = self.memory()
        exclude = f"{dep.id}-{wl.name}"
        booked, _, _ = okay_capacity(self.store.deployments(), self._capacity, exclude)
        reserve = system_reserve(memory.total).mru
        check_memory(required, booked.mru, memory, reserve)

    async def _provision(self, job: Job, validate: bool) -> None:
        dep = self.store.get(job.target.twin_id, job.target.contract_id)
        info: dict[str, Any] = {}
        rented = False
        if validate:
            try:
                contract, rented = await self._check_contract(job, job.target)
            except ContractCheckFailed as err:
                self._fail_all(job, dep, str(err))
                return
            info = {"contract": contract.to_json(), "rented": rented}
            self.store.set_contract_info(dep.twin_id, dep.contract_id, info)
        else:
            stored = self.store.get_stored(dep.twin_id, dep.contract_id).contract_info or {}
            info = stored
            rented = bool(stored.get("rented", False))
        for wl in _sort(dep.workloads):
            await self._provision_one(job, dep, wl, info, rented)

    def _fail_all(self, job: Job, dep: Deployment, message: str) -> None:
        with self.store.transaction():
            for wl in dep.workloads:
                if wl.result.state in DEAD:
                    continue
                self.store.transaction_append(
                    dep.twin_id,
                    dep.contract_id,
                    wl.with_result(Result.now(ResultState.ERROR, message)),
                )
            self.store.mark_step(job.id, "contract")

    async def _check_contract(self, job: Job, dep: Deployment) -> tuple[Contract, bool]:
        """Spec §6; retries while the chain cannot be reached, up to the limit."""
        deadline = time.monotonic() + self.config.chain_retry_limit
        delay = self.config.chain_backoff_initial
        shown = False
        while True:
            try:
                return await self._contract_verdict(dep)
            except ChainError as err:
                # unreachable, or an error that is no verdict on the contract: retry, bounded
                if time.monotonic() + delay > deadline:
                    if isinstance(err, ChainUnavailable):
                        raise ContractCheckFailed(f"failed to reach the chain: {err}") from err
                    raise ContractCheckFailed(f"failed to get deployment contract: {err}") from err
                if not shown:
                    self._show_waiting(dep, f"waiting for the chain ({err}), retrying")
                    shown = True
                log.warning("chain unavailable for %s, retrying in %.1fs: %s", dep.id, delay, err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.chain_backoff_max)

    def _show_waiting(self, dep: Deployment, message: str) -> None:
        """Tell the polling client why nothing happens yet (only workloads still in init)."""
        with self.store.transaction():
            for wl in dep.workloads:
                cur = self.store.current(dep.twin_id, dep.contract_id, wl.name)
                if cur is not None and cur.result.state == ResultState.INIT.value:
                    self.store.transaction_append(
                        dep.twin_id,
                        dep.contract_id,
                        cur.with_result(Result.now(ResultState.INIT, message)),
                    )

    async def _contract_verdict(self, dep: Deployment) -> tuple[Contract, bool]:
        try:
            contract = await self.chain.get_contract(dep.contract_id)
        except ContractNotFound as err:
            raise ContractCheckFailed(f"failed to get deployment contract: {err}") from err
        if contract.kind != "node":
            raise ContractCheckFailed("invalid contract type, expecting node contract")
        if contract.node_id != self.config.node_id:
            raise ContractCheckFailed("invalid node address in contract")
        if contract.state == "Deleted":
            raise ContractCheckFailed(
                f"failed to get deployment contract: contract {dep.contract_id} is deleted"
            )
        if contract.deployment_hash != self.rules.challenge_hash(dep.to_json()):
            raise ContractCheckFailed("contract hash does not match deployment hash")
        try:
            rent = await self.chain.get_node_rent_contract(self.config.node_id)
        except ChainUnavailable:
            raise
        except Exception as err:
            raise ContractCheckFailed("failed to check node rent state") from err
        return contract, rent is not None

    async def _update(self, job: Job) -> None:
        source, target = job.source, job.target
        assert source is not None
        twin, contract = target.twin_id, target.contract_id
        ops = self.rules.plan(source.to_json(), target.to_json())
        touched = {name for _, name in ops}
        if not self.store.step_done(job.id, "contract"):
            try:
                found, rented = await self._check_contract(job, target)
            except ContractCheckFailed as err:
                # Project rule: running workloads keep their results; restore the header.
                with self.store.transaction():
                    self.store.update_header(source)
                    for wl in source.workloads:
                        if wl.name not in touched:
                            continue
                        cur = self.store.current(twin, contract, wl.name)
                        if cur is None:
                            continue
                        # the attempted change, refused; current() keeps the previous result
                        attempted = target.get(wl.name) or cur
                        refused = Result.now(ResultState.UNCHANGED, str(err), cur.result.data)
                        self.store.transaction_append(
                            twin, contract, Workload(raw=attempted.raw, result=refused)
                        )
                    self.store.mark_step(job.id, "contract")
                return
            info = {"contract": found.to_json(), "rented": rented}
            with self.store.transaction():
                self.store.set_contract_info(twin, contract, info)
                self.store.mark_step(job.id, "contract")
        else:
            stored_info = self.store.get_stored(twin, contract).contract_info
            if stored_info is None or self.store.get(twin, contract).version != target.version:
                return  # the contract check failed before a crash: the update is void
            info = stored_info
            rented = bool(info.get("rented", False))
        stored = self.store.get(twin, contract)
        removes = [n for op, n in ops if op == "remove"]
        for wl in _sort([w for w in stored.workloads if w.name in removes], reverse=True):
            step = f"remove:{wl.name}"
            if self.store.step_done(job.id, step):
                continue
            ctx = WorkloadContext(stored, wl, info, rented)
            result: Result | None = await self._call(self.manager(wl.type).deprovision, ctx)
            with self.store.transaction():
                if result is not None and result.state == ResultState.ERROR.value:
                    self.store.transaction_append(twin, contract, wl.with_result(result))
                else:
                    self.store.transaction_append(
                        twin,
                        contract,
                        wl.with_result(Result.now(ResultState.DELETED, REASON_UPDATE)),
                    )
                    self.store.remove(twin, contract, wl.name)
                self.store.mark_step(job.id, step)
        kinds = dict((n, op) for op, n in ops)
        changed = [w for w in target.workloads if kinds.get(w.name) in ("add", "update")]
        for wl in _sort(changed):
            if kinds[wl.name] == "add":
                if not self.store.step_done(job.id, f"add:{wl.name}"):
                    position = [w.name for w in target.workloads].index(wl.name)
                    with self.store.transaction():
                        if not self.store.is_active(twin, contract, wl.name):
                            self.store.add(twin, contract, wl, position)
                        self.store.mark_step(job.id, f"add:{wl.name}")
                await self._provision_one(job, self.store.get(twin, contract), wl, info, rented)
                continue
            step = f"update:{wl.name}"
            if self.store.step_done(job.id, step):
                continue
            cur = self.store.current(twin, contract, wl.name)
            if cur is None:
                continue
            new = Workload(raw=wl.raw, result=cur.result)
            ctx = WorkloadContext(self.store.get(twin, contract), new, info, rented)
            mgr = self.manager(wl.type)
            update = getattr(mgr, "update", None)
            if update is None:
                result = Result.now(
                    ResultState.ERROR, f"workload '{wl.type}' does not support upgrade"
                )
            else:
                result = await self._call(update, ctx)
            self._record(job, step, stored, None if result is None else new.with_result(result))
        self.store.reorder(twin, contract, [w.name for w in target.workloads])

    async def _deprovision(self, job: Job, reason: str) -> None:
        dep = self.store.get(job.target.twin_id, job.target.contract_id)
        info = self.store.get_stored(dep.twin_id, dep.contract_id).contract_info or {}
        all_ok = True
        for wl in _sort(dep.workloads, reverse=True):
            step = f"deprovision:{wl.name}"
            if self.store.step_done(job.id, step):
                continue
            if wl.result.state != ResultState.DELETED.value:
                ctx = WorkloadContext(dep, wl, info, bool(info.get("rented", False)))
                result = await self._call(self.manager(wl.type).deprovision, ctx)
                if result is not None and result.state == ResultState.ERROR.value:
                    all_ok = False
                    self._record(job, step, dep, wl.with_result(result))
                    continue
                deleted = wl.with_result(Result.now(ResultState.DELETED, reason))
            else:
                deleted = None
            with self.store.transaction():
                if deleted is not None:
                    self.store.transaction_append(dep.twin_id, dep.contract_id, deleted)
                self.store.remove(dep.twin_id, dep.contract_id, wl.name)
                self.store.mark_step(job.id, step)
        if all_ok:
            log.info("deployment %s deleted: %s", dep.id, reason)
            self.store.delete(dep.twin_id, dep.contract_id)

    async def _pause(self, job: Job) -> None:
        dep = self.store.get(job.target.twin_id, job.target.contract_id)
        for wl in _sort(dep.workloads, reverse=True):
            step = f"pause:{wl.name}"
            if wl.result.state != ResultState.OK.value or self.store.step_done(job.id, step):
                continue
            pause = getattr(self.manager(wl.type), "pause", None)
            ctx = WorkloadContext(dep, wl)
            result: Result | None
            if pause is None:
                result = Result.now(ResultState.PAUSED, "paused", wl.result.data)
            else:
                result = await self._call(pause, ctx)
                if result is not None and result.state == ResultState.OK.value:
                    result = Result.now(ResultState.PAUSED, "paused", wl.result.data)
                elif result is not None and result.state == ResultState.ERROR.value:
                    result = Result.now(ResultState.UNCHANGED, result.message, wl.result.data)
            self._record(job, step, dep, None if result is None else wl.with_result(result))

    async def _resume(self, job: Job) -> None:
        dep = self.store.get(job.target.twin_id, job.target.contract_id)
        for wl in _sort(dep.workloads):
            step = f"resume:{wl.name}"
            if wl.result.state != ResultState.PAUSED.value or self.store.step_done(job.id, step):
                continue
            resume = getattr(self.manager(wl.type), "resume", None)
            result: Result | None
            if resume is None:
                result = Result.now(ResultState.OK, "", wl.result.data)
            else:
                result = await self._call(resume, WorkloadContext(dep, wl))
                if result is not None and result.state == ResultState.OK.value:
                    result = Result.now(ResultState.OK, "", wl.result.data)
                elif result is not None and result.state == ResultState.ERROR.value:
                    result = Result.now(ResultState.UNCHANGED, result.message, wl.result.data)
            self._record(job, step, dep, None if result is None else wl.with_result(result))

    async def _decommission(self, job: Job) -> None:
        """Project rule (§11): the workload stays, in ``error`` with the reason."""
        spec = json.loads(job.message)
        dep = self.store.get(job.target.twin_id, job.target.contract_id)
        wl = dep.get(spec["workload"])
        step = "decommission"
        if wl is None or wl.result.state in DEAD or self.store.step_done(job.id, step):
            return
        await self._call(self.manager(wl.type).deprovision, WorkloadContext(dep, wl))
        reason = f"workload decommissioned by system, reason: {spec['reason']}"
        self._record(job, step, dep, wl.with_result(Result.now(ResultState.ERROR, reason)))


def _active(dep: Deployment) -> bool:
    return any(w.result.state not in DEAD for w in dep.workloads)
