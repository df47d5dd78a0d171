"""The deployment store (spec §7) and the job queue (§3), in one sqlite file.

One file keeps both so that admission stores a deployment and queues its job in a single
transaction, and the worker records a workload's result and marks that step of its job done
in a single transaction: a crash (kill -9) between any two statements loses nothing and
repeats nothing that was recorded.

Logical model (upstream's bbolt layout): twin → deployment (contract) with a header, the
active set (name → type, in the order the user sent), an append-only transaction log of
workload JSON including its result, and per twin the ``global`` names of sharable workloads.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zos_provision.api import (
    KNOWN_STATES,
    TEXT_EXISTS,
    Capacity,
    Conflict,
    DeploymentExists,
    DeploymentNotFound,
    Op,
    ResultState,
)
from zos_provision.model import Deployment, JSONObject, Result, Workload
from zos_provision.order import SHARABLE_TYPES

SCHEMA = """
CREATE TABLE IF NOT EXISTS deployments (
    twin INTEGER NOT NULL,
    contract INTEGER NOT NULL,
    header TEXT NOT NULL,          -- deployment JSON without workloads
    contract_info TEXT,            -- last known chain contract + rent state (reboot, §9)
    created REAL NOT NULL,
    PRIMARY KEY (twin, contract)
);
CREATE TABLE IF NOT EXISTS active (
    twin INTEGER NOT NULL,
    contract INTEGER NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (twin, contract, name)
);
CREATE TABLE IF NOT EXISTS transactions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    twin INTEGER NOT NULL,
    contract INTEGER NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    state TEXT NOT NULL,
    workload TEXT NOT NULL          -- workload JSON including its result
);
CREATE INDEX IF NOT EXISTS transactions_by_workload ON transactions (twin, contract, name, seq);
CREATE TABLE IF NOT EXISTS global (
    twin INTEGER NOT NULL,
    name TEXT NOT NULL,
    contract INTEGER NOT NULL,
    PRIMARY KEY (twin, name)
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    op TEXT NOT NULL,
    target TEXT NOT NULL,
    source TEXT,
    message TEXT NOT NULL,
    enqueued REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS job_steps (
    job INTEGER NOT NULL,
    step TEXT NOT NULL,
    PRIMARY KEY (job, step)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@dataclass
class Job:
    id: int
    op: Op
    target: Deployment
    source: Deployment | None
    message: str
    enqueued: float


@dataclass
class StoredDeployment:
    deployment: Deployment
    contract_info: JSONObject | None


class InvalidTransaction(ValueError):
    pass


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Worker commits (results, job steps) are not fsynced: after a power loss the newest
        # of them may be gone, in order, and the job simply runs again (managers are
        # idempotent). What a caller was told is accepted is written with durable=True.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(SCHEMA)
        self._depth = 0

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One atomic step; nested uses join the outer transaction.

        ``durable``: fsync at commit (admission, queued events): the outermost transaction
        decides, so callers that need it open the outer one with it.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self._db
            finally:
                self._depth -= 1
            return
        if durable:
            self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0
            if durable:
                self._db.execute("PRAGMA synchronous=NORMAL")

    # ---- deployments -------------------------------------------------------------------

    def create(self, deployment: Deployment, job: tuple[Op, str] | None = None) -> int | None:
        """Store a new deployment (every workload as ``init``), optionally queueing its job.

        Returns the job id. Nothing is stored when the deployment exists (``exists``) or a
        sharable name is taken by another deployment of the twin (``conflict``).
        """
        twin, contract = deployment.twin_id, deployment.contract_id
        with self.transaction(durable=True) as db:
            if db.execute(
                "SELECT 1 FROM deployments WHERE twin=? AND contract=?", (twin, contract)
            ).fetchone():
                raise DeploymentExists(TEXT_EXISTS)
            db.execute(
                "INSERT INTO deployments (twin, contract, header, contract_info, created) "
                "VALUES (?, ?, ?, NULL, ?)",
                (twin, contract, json.dumps(deployment.header), time.time()),
            )
            for position, wl in enumerate(deployment.workloads):
                self._add(db, twin, contract, wl, position)
                self._append(db, twin, contract, wl.with_result(Result.now(ResultState.INIT)))
            if job is None:
                return None
            return self.enqueue(job[0], deployment, None, job[1])

    def _add(
        self, db: sqlite3.Connection, twin: int, contract: int, wl: Workload, position: int
    ) -> None:
        if wl.type in SHARABLE_TYPES:
            row = db.execute(
                "SELECT contract FROM global WHERE twin=? AND name=?", (twin, wl.name)
            ).fetchone()
            if row and row[0] != contract:
                raise Conflict(f"global workload with the same name '{wl.name}' exists: conflict")
            db.execute(
                "INSERT OR REPLACE INTO global (twin, name, contract) VALUES (?, ?, ?)",
                (twin, wl.name, contract),
            )
        db.execute(
            "INSERT OR REPLACE INTO active (twin, contract, name, type, position) "
            "VALUES (?, ?, ?, ?, ?)",
            (twin, contract, wl.name, wl.type, position),
        )

    def add(self, twin: int, contract: int, wl: Workload, position: int) -> None:
        """Put a workload in the active set (update path) with an ``init`` transaction."""
        with self.transaction() as db:
            self._add(db, twin, contract, wl, position)
            self._append(db, twin, contract, wl.with_result(Result.now(ResultState.INIT)))

    def remove(self, twin: int, contract: int, name: str) -> None:
        """Drop a workload from the active set (its log is kept)."""
        with self.transaction() as db:
            db.execute(
                "DELETE FROM active WHERE twin=? AND contract=? AND name=?", (twin, contract, name)
            )
            db.execute(
                "DELETE FROM global WHERE twin=? AND name=? AND contract=?", (twin, name, contract)
            )

    def reorder(self, twin: int, contract: int, names: list[str]) -> None:
        with self.transaction() as db:
            for position, name in enumerate(names):
                db.execute(
                    "UPDATE active SET position=? WHERE twin=? AND contract=? AND name=?",
                    (position, twin, contract, name),
                )

    def _append(self, db: sqlite3.Connection, twin: int, contract: int, wl: Workload) -> None:
        row = db.execute(
            "SELECT type FROM active WHERE twin=? AND contract=? AND name=?",
            (twin, contract, wl.name),
        ).fetchone()
        if row is None:
            raise InvalidTransaction(f"workload '{wl.name}' is not active in {twin}-{contract}")
        if row[0] != wl.type:
            raise InvalidTransaction(f"workload '{wl.name}' is of type '{row[0]}', not '{wl.type}'")
        if wl.result.created == 0 or wl.result.state not in KNOWN_STATES:
            raise InvalidTransaction(f"invalid result for workload '{wl.name}': {wl.result}")
        db.execute(
            "INSERT INTO transactions (twin, contract, name, type, state, workload) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (twin, contract, wl.name, wl.type, wl.result.state, json.dumps(wl.to_json())),
        )

    def transaction_append(self, twin: int, contract: int, wl: Workload) -> None:
        with self.transaction() as db:
            self._append(db, twin, contract, wl)

    def update_header(self, deployment: Deployment) -> None:
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE deployments SET header=? WHERE twin=? AND contract=?",
                (json.dumps(deployment.header), deployment.twin_id, deployment.contract_id),
            )
            if cur.rowcount == 0:
                raise DeploymentNotFound("deployment not found: deployment does not exist")

    def set_contract_info(self, twin: int, contract: int, info: JSONObject) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE deployments SET contract_info=? WHERE twin=? AND contract=?",
                (json.dumps(info), twin, contract),
            )

    def exists(self, twin: int, contract: int) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM deployments WHERE twin=? AND contract=?", (twin, contract)
        ).fetchone()
        return row is not None

    def is_active(self, twin: int, contract: int, name: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM active WHERE twin=? AND contract=? AND name=?", (twin, contract, name)
        ).fetchone()
        return row is not None

    def current(self, twin: int, contract: int, name: str) -> Workload | None:
        """The newest log entry of a workload whose state is not ``unchanged``."""
        row = self._db.execute(
            "SELECT workload FROM transactions WHERE twin=? AND contract=? AND name=? "
            "AND state != 'unchanged' ORDER BY seq DESC LIMIT 1",
            (twin, contract, name),
        ).fetchone()
        return None if row is None else Workload.from_json(json.loads(row[0]))

    def get_stored(self, twin: int, contract: int) -> StoredDeployment:
        row = self._db.execute(
            "SELECT header, contract_info FROM deployments WHERE twin=? AND contract=?",
            (twin, contract),
        ).fetchone()
        if row is None:
            raise DeploymentNotFound("deployment not found")
        workloads = []
        for (name,) in self._db.execute(
            "SELECT name FROM active WHERE twin=? AND contract=? ORDER BY position",
            (twin, contract),
        ).fetchall():
            wl = self.current(twin, contract, name)
            if wl is not None:
                workloads.append(wl)
        info = None if row[1] is None else json.loads(row[1])
        return StoredDeployment(Deployment(header=json.loads(row[0]), workloads=workloads), info)

    def get(self, twin: int, contract: int) -> Deployment:
        """Header + the current state of every active workload, in the user's order."""
        return self.get_stored(twin, contract).deployment

    def by_contract(self, contract: int) -> list[Deployment]:
        """Every stored deployment naming the contract (another twin's copy, refused by the
        contract check, shares the id until its contract is gone too)."""
        rows = self._db.execute(
            "SELECT twin FROM deployments WHERE contract=? ORDER BY created", (contract,)
        ).fetchall()
        return [self.get(twin, contract) for (twin,) in rows]

    def deployments(self, twin: int | None = None) -> list[Deployment]:
        if twin is None:
            rows = self._db.execute(
                "SELECT twin, contract FROM deployments ORDER BY created"
            ).fetchall()
        else:
            rows = self._db.execute(
                "SELECT twin, contract FROM deployments WHERE twin=? ORDER BY created", (twin,)
            ).fetchall()
        return [self.get(t, c) for t, c in rows]

    def changes(self, twin: int, contract: int) -> list[Workload]:
        if not self.exists(twin, contract):
            raise DeploymentNotFound("deployment not found")
        rows = self._db.execute(
            "SELECT workload FROM transactions WHERE twin=? AND contract=? ORDER BY seq",
            (twin, contract),
        ).fetchall()
        return [Workload.from_json(json.loads(r[0])) for r in rows]

    def delete(self, twin: int, contract: int) -> None:
        """Drop a deployment with its log; the twin goes with its last deployment."""
        with self.transaction() as db:
            for table in ("deployments", "active", "transactions"):
                db.execute(f"DELETE FROM {table} WHERE twin=? AND contract=?", (twin, contract))
            db.execute("DELETE FROM global WHERE twin=? AND contract=?", (twin, contract))

    def workload_status(self, twin: int, contract: int, name: str) -> tuple[str, bool]:
        if not self._db.execute(
            "SELECT 1 FROM active WHERE twin=? AND contract=? AND name=?", (twin, contract, name)
        ).fetchone():
            return "", False
        wl = self.current(twin, contract, name)
        return ("", False) if wl is None else (wl.result.state, True)

    # ---- job queue ---------------------------------------------------------------------

    def enqueue(
        self, op: Op, target: Deployment, source: Deployment | None, message: str = ""
    ) -> int:
        with self.transaction(durable=True) as db:
            cur = db.execute(
                "INSERT INTO jobs (op, target, source, message, enqueued) VALUES (?, ?, ?, ?, ?)",
                (
                    op.value,
                    json.dumps(target.to_json()),
                    None if source is None else json.dumps(source.to_json()),
                    message,
                    time.time(),
                ),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    def peek(self) -> Job | None:
        row = self._db.execute(
            "SELECT id, op, target, source, message, enqueued FROM jobs ORDER BY id LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return Job(
            id=row[0],
            op=Op(row[1]),
            target=Deployment.from_json(json.loads(row[2])),
            source=None if row[3] is None else Deployment.from_json(json.loads(row[3])),
            message=row[4],
            enqueued=row[5],
        )

    def dequeue(self, job_id: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM jobs WHERE id=?", (job_id,))
            db.execute("DELETE FROM job_steps WHERE job=?", (job_id,))

    def queue_length(self) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM jobs").fetchone()
        return int(row[0])

    def step_done(self, job_id: int, step: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM job_steps WHERE job=? AND step=?", (job_id, step)
        ).fetchone()
        return row is not None

    def mark_step(self, job_id: int, step: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO job_steps (job, step) VALUES (?, ?)", (job_id, step))

    # ---- meta & capacity ---------------------------------------------------------------

    def meta_get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def meta_set(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def last_deployment_time(self) -> int:
        row = self._db.execute("SELECT MAX(created) FROM deployments").fetchone()
        return 0 if row[0] is None else int(row[0])


def okay_capacity(
    deployments: list[Deployment], capacity_of: Any, exclude: str | None = None
) -> tuple[Capacity, int, int]:
    """Sum of the capacity of okay workloads, active deployments and workload count."""
    total = Capacity()
    active = 0
    count = 0
    for dep in deployments:
        live = False
        for wl in dep.workloads:
            if wl.result.state not in (ResultState.DELETED.value, ResultState.ERROR.value):
                live = True
            if not wl.result.okay:
                continue
            count += 1
            if exclude is not None and f"{dep.id}-{wl.name}" == exclude:
                continue
            total = total.add(capacity_of(wl))
        active += live
    return total, active, count
