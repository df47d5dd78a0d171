"""The embedded development chain: tfchain's records and rules that a node needs, on sqlite.

One `DevChain` owns one sqlite file. Every write runs in one `BEGIN IMMEDIATE` transaction and
advances the block number, so concurrent writers (threads of the HTTP service, or several
processes on the same file) never interleave and uniqueness is enforced by the database
(partial unique indexes), not by a check-then-insert race.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zos_chain.api import (
    AccountData,
    AccountInfo,
    ChainEvent,
    ChainUnreachableError,
    ConflictError,
    ConsumptionReport,
    Contract,
    ContractResources,
    ContractState,
    ContractStateName,
    ContractType,
    DeletedState,
    DeploymentHash,
    EventKind,
    Farm,
    InvalidRequestError,
    KeyType,
    NameContract,
    Node,
    NodeContract,
    NodePower,
    NotFoundError,
    NruConsumption,
    OptionBytes,
    OptionPublicConfig,
    OptionRelay,
    OptionU64,
    PermissionDeniedError,
    Power,
    PowerState,
    PublicConfig,
    PublicIP,
    RentContract,
    Twin,
    TwinInfo,
    UptimeReport,
    ss58_address,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    account BLOB PRIMARY KEY, free INTEGER NOT NULL, terms_link TEXT, terms_hash TEXT);
CREATE TABLE IF NOT EXISTS twins (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account BLOB NOT NULL UNIQUE,
    key_type TEXT NOT NULL, kyc INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS farms (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
    twin_id INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, twin_id INTEGER NOT NULL UNIQUE,
    farm_id INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS power (
    node_id INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contracts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, twin_id INTEGER NOT NULL,
    kind TEXT NOT NULL, node_id INTEGER, hash TEXT, name TEXT,
    state TEXT NOT NULL, data TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS contracts_node_hash ON contracts (node_id, hash)
    WHERE kind = 'node' AND state != 'deleted';
CREATE UNIQUE INDEX IF NOT EXISTS contracts_rent ON contracts (node_id)
    WHERE kind = 'rent' AND state != 'deleted';
CREATE UNIQUE INDEX IF NOT EXISTS contracts_name ON contracts (name)
    WHERE kind = 'name' AND state != 'deleted';
CREATE INDEX IF NOT EXISTS contracts_by_node ON contracts (node_id, state);
CREATE TABLE IF NOT EXISTS uptime_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT, node_id INTEGER NOT NULL,
    uptime INTEGER NOT NULL, timestamp INTEGER NOT NULL, block INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS consumption_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT, contract_id INTEGER NOT NULL,
    data TEXT NOT NULL, block INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS nru_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT, contract_id INTEGER NOT NULL,
    data TEXT NOT NULL, block INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, block INTEGER NOT NULL, kind TEXT NOT NULL,
    node_id INTEGER NOT NULL, farm_id INTEGER NOT NULL, data TEXT NOT NULL);
"""

_ACTIVATION_FUNDS = 10_000_000  # what the activation service gives a new account (dev only)

_HASH = re.compile(r"^[0-9a-fA-F]{32}$")


def _tx_hash(*parts: object) -> bytes:
    """A stand-in extrinsic hash: unique per write (block number is part of the input)."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=32).digest()


class DevChain:
    """The development chain on one sqlite file (``":memory:"`` for a throwaway chain)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        # One connection shared by the service threads, serialised by a lock; sqlite's own
        # locking (busy timeout) covers other processes on the same file.
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30.0
        )
        self._lock = threading.RLock()
        with self._lock:
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        self._reachable = True

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- plumbing -------------------------------------------------------------------------

    def _check_reachable(self) -> None:
        if not self._reachable:
            raise ChainUnreachableError("chain is unreachable (development switch is off)")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._check_reachable()
            yield self._db

    @contextmanager
    def _write(self) -> Iterator[tuple[sqlite3.Connection, int]]:
        """A transaction that is one block; yields the connection and the new block number."""
        with self._lock:
            self._check_reachable()
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                block = self._meta_int(db, "block") + 1
                db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('block', ?)", (str(block),)
                )
                yield db, block
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @staticmethod
    def _meta_int(db: sqlite3.Connection, key: str) -> int:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _emit(
        db: sqlite3.Connection, block: int, kind: EventKind, *, node_id: int = 0,
        farm_id: int = 0, **fields: Any,
    ) -> None:
        event = ChainEvent(seq=0, block=block, kind=kind, node_id=node_id, farm_id=farm_id,
                           **fields)
        db.execute(
            "INSERT INTO events (block, kind, node_id, farm_id, data) VALUES (?, ?, ?, ?, ?)",
            (block, kind, node_id, farm_id, event.model_dump_json()),
        )

    def _twin_of(self, db: sqlite3.Connection, account: bytes) -> Twin:
        row = db.execute("SELECT data FROM twins WHERE account = ?", (bytes(account),)).fetchone()
        if row is None:
            raise NotFoundError(f"no twin for account {ss58_address(bytes(account))}")
        return Twin.model_validate_json(row[0])

    @staticmethod
    def _load(db: sqlite3.Connection, table: str, id: int, what: str) -> str:
        row = db.execute(f"SELECT data FROM {table} WHERE id = ?", (id,)).fetchone()
        if row is None:
            raise NotFoundError(f"{what} {id} not found")
        return str(row[0])

    def _contract(self, db: sqlite3.Connection, id: int) -> Contract:
        return Contract.model_validate_json(self._load(db, "contracts", id, "contract"))

    @staticmethod
    def _store_contract(db: sqlite3.Connection, contract: Contract, state: str) -> None:
        db.execute(
            "UPDATE contracts SET state = ?, hash = ?, data = ? WHERE id = ?",
            (state, contract.contract_type.node_contract.deployment_hash or None,
             contract.model_dump_json(), contract.contract_id),
        )

    def _own_node(self, db: sqlite3.Connection, account: bytes) -> Node:
        twin = self._twin_of(db, account)
        row = db.execute("SELECT data FROM nodes WHERE twin_id = ?", (twin.id,)).fetchone()
        if row is None:
            raise NotFoundError(f"twin {twin.id} has no node")
        return Node.model_validate_json(row[0])

    # --- reads ----------------------------------------------------------------------------

    def get_twin(self, id: int) -> Twin:
        with self._read() as db:
            return Twin.model_validate_json(self._load(db, "twins", id, "twin"))

    def get_twin_by_pub_key(self, pk: bytes) -> int:
        with self._read() as db:
            row = db.execute("SELECT id FROM twins WHERE account = ?", (bytes(pk),)).fetchone()
        if row is None:
            raise NotFoundError("twin not found")
        return int(row[0])

    def get_farm(self, id: int) -> Farm:
        with self._read() as db:
            return Farm.model_validate_json(self._load(db, "farms", id, "farm"))

    def get_node(self, id: int) -> Node:
        with self._read() as db:
            return Node.model_validate_json(self._load(db, "nodes", id, "node"))

    def get_nodes(self, farm_id: int) -> list[int]:
        with self._read() as db:
            rows = db.execute("SELECT id FROM nodes WHERE farm_id = ? ORDER BY id", (farm_id,))
            return [int(r[0]) for r in rows]

    def get_node_by_twin_id(self, twin: int) -> int:
        with self._read() as db:
            row = db.execute("SELECT id FROM nodes WHERE twin_id = ?", (twin,)).fetchone()
        if row is None:
            raise NotFoundError("node not found")
        return int(row[0])

    def get_contract(self, id: int) -> Contract:
        with self._read() as db:
            return self._contract(db, id)

    def get_node_contracts(self, node: int) -> list[int]:
        """Active (created or in grace) node contracts of a node."""
        with self._read() as db:
            rows = db.execute(
                "SELECT id FROM contracts WHERE kind = 'node' AND node_id = ? "
                "AND state != 'deleted' ORDER BY id", (node,))
            return [int(r[0]) for r in rows]

    def get_node_rent_contract(self, node: int) -> int:
        with self._read() as db:
            row = db.execute(
                "SELECT id FROM contracts WHERE kind = 'rent' AND node_id = ? "
                "AND state != 'deleted'", (node,)).fetchone()
        if row is None:
            raise NotFoundError(f"node {node} has no rent contract")
        return int(row[0])

    def get_contract_id_by_name_registration(self, name: str) -> int:
        with self._read() as db:
            row = db.execute(
                "SELECT id FROM contracts WHERE kind = 'name' AND name = ? "
                "AND state != 'deleted'", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"no name contract for {name!r}")
        return int(row[0])

    def get_power_target(self, node_id: int) -> NodePower:
        with self._read() as db:
            self._load(db, "nodes", node_id, "node")
            row = db.execute("SELECT data FROM power WHERE node_id = ?", (node_id,)).fetchone()
        return NodePower.model_validate_json(row[0]) if row else NodePower()

    def get_time(self) -> datetime:
        with self._read():
            return datetime.now(UTC)

    def get_zos_version(self) -> str:
        with self._read() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'zos_version'").fetchone()
        return str(row[0]) if row else ""

    def get_block(self) -> int:
        with self._read() as db:
            return self._meta_int(db, "block")

    def list_twins(self) -> list[TwinInfo]:
        with self._read() as db:
            rows = db.execute("SELECT data, key_type, kyc FROM twins ORDER BY id").fetchall()
        out = []
        for data, key_type, kyc in rows:
            twin = Twin.model_validate_json(data)
            out.append(TwinInfo(twin=twin, key_type=key_type, kyc_verified=bool(kyc),
                                address=ss58_address(twin.account)))
        return out

    def list_farms(self) -> list[Farm]:
        with self._read() as db:
            rows = db.execute("SELECT data FROM farms ORDER BY id").fetchall()
        return [Farm.model_validate_json(r[0]) for r in rows]

    def list_nodes(self) -> list[Node]:
        with self._read() as db:
            rows = db.execute("SELECT data FROM nodes ORDER BY id").fetchall()
        return [Node.model_validate_json(r[0]) for r in rows]

    def list_contracts(
        self, node_id: int | None = None, twin_id: int | None = None,
        state: ContractStateName | None = None,
    ) -> list[Contract]:
        query, args = "SELECT data FROM contracts WHERE 1=1", []
        for column, value in (("node_id", node_id), ("twin_id", twin_id), ("state", state)):
            if value is not None:
                query += f" AND {column} = ?"
                args.append(value)
        with self._read() as db:
            rows = db.execute(query + " ORDER BY id", args).fetchall()
        return [Contract.model_validate_json(r[0]) for r in rows]

    def events(
        self, since: int = 0, limit: int = 100, node_id: int | None = None,
        farm_id: int | None = None,
    ) -> list[ChainEvent]:
        """Events with ``seq > since``, oldest first; filtered to a node and/or farm."""
        if limit < 1 or limit > 10_000:
            raise InvalidRequestError("limit must be between 1 and 10000", field="limit")
        query, args = "SELECT seq, data FROM events WHERE seq > ?", [since]
        if node_id is not None or farm_id is not None:
            query += " AND (node_id = ? OR farm_id = ?)"
            args += [node_id or -1, farm_id or -1]
        with self._read() as db:
            rows = db.execute(query + " ORDER BY seq LIMIT ?", [*args, limit]).fetchall()
        out = []
        for seq, data in rows:
            event = ChainEvent.model_validate_json(data)
            event.seq = int(seq)
            out.append(event)
        return out

    def uptime_reports(self, node_id: int) -> list[UptimeReport]:
        with self._read() as db:
            rows = db.execute(
                "SELECT node_id, uptime, timestamp, block FROM uptime_reports "
                "WHERE node_id = ? ORDER BY id", (node_id,)).fetchall()
        return [UptimeReport(node_id=n, uptime=u, timestamp=t, block=b) for n, u, t, b in rows]

    def consumption_reports(self, contract_id: int) -> list[ConsumptionReport]:
        with self._read() as db:
            rows = db.execute(
                "SELECT data, block FROM consumption_reports WHERE contract_id = ? ORDER BY id",
                (contract_id,)).fetchall()
        out = []
        for data, block in rows:
            resources = ContractResources.model_validate_json(data)
            out.append(ConsumptionReport(contract_id=contract_id, used=resources.used,
                                         block=block))
        return out

    def nru_reports(self, contract_id: int) -> list[NruConsumption]:
        with self._read() as db:
            rows = db.execute(
                "SELECT data FROM nru_reports WHERE contract_id = ? ORDER BY id", (contract_id,)
            ).fetchall()
        return [NruConsumption.model_validate_json(r[0]) for r in rows]

    def is_kyc_verified(self, twin_id: int) -> bool:
        with self._read() as db:
            row = db.execute("SELECT kyc FROM twins WHERE id = ?", (twin_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"twin {twin_id} not found")
        return bool(row[0])

    # --- signed writes ----------------------------------------------------------------------

    def ensure_account(
        self, account: bytes, activation_url: list[str], terms_and_conditions_link: str,
        terms_and_conditions_hash: str,
    ) -> AccountInfo:
        """Fund a new account (the activation service) and record the accepted terms."""
        account = bytes(account)
        with self._write() as (db, _block):
            row = db.execute("SELECT free FROM accounts WHERE account = ?", (account,)).fetchone()
            free = int(row[0]) if row else _ACTIVATION_FUNDS
            db.execute(
                "INSERT OR REPLACE INTO accounts (account, free, terms_link, terms_hash) "
                "VALUES (?, ?, ?, ?)",
                (account, free, terms_and_conditions_link, terms_and_conditions_hash),
            )
        return AccountInfo(providers=1, data=AccountData(free=free))

    def create_twin(
        self, account: bytes, relay: str = "", pk: bytes = b"", key_type: KeyType = "ed25519"
    ) -> int:
        account = bytes(account)
        if len(account) != 32:
            raise InvalidRequestError("account must be a 32-byte public key", field="account")
        with self._write() as (db, _block):
            if db.execute("SELECT 1 FROM twins WHERE account = ?", (account,)).fetchone():
                raise ConflictError(
                    f"a twin with account {ss58_address(account)} already exists")
            cursor = db.execute(
                "INSERT INTO twins (account, key_type, data) VALUES (?, ?, '')",
                (account, key_type))
            twin_id = int(cursor.lastrowid or 0)
            twin = Twin(id=twin_id, account=account,
                        relay=OptionRelay(has_value=bool(relay), as_value=relay),
                        pk=OptionBytes(has_value=bool(pk), as_value=bytes(pk)))
            db.execute("UPDATE twins SET data = ? WHERE id = ?",
                       (twin.model_dump_json(), twin_id))
        return twin_id

    def update_twin(self, account: bytes, relay: str, pk: bytes) -> int:
        with self._write() as (db, _block):
            twin = self._twin_of(db, account)
            twin.relay = OptionRelay(has_value=bool(relay), as_value=relay)
            twin.pk = OptionBytes(has_value=bool(pk), as_value=bytes(pk))
            db.execute("UPDATE twins SET data = ? WHERE id = ?", (twin.model_dump_json(), twin.id))
        return twin.id

    def create_farm(
        self, account: bytes, name: str, public_ips: list[PublicIP] | None = None
    ) -> int:
        if not name:
            raise InvalidRequestError("a farm needs a name", field="name")
        ips = [PublicIP(ip=ip.ip, gateway=ip.gateway) for ip in public_ips or []]
        if len({ip.ip for ip in ips}) != len(ips):
            raise InvalidRequestError("public IPs of a farm must be distinct", field="public_ips")
        with self._write() as (db, _block):
            twin = self._twin_of(db, account)
            if db.execute("SELECT 1 FROM farms WHERE name = ?", (name,)).fetchone():
                raise ConflictError(f"a farm named {name!r} already exists")
            cursor = db.execute("INSERT INTO farms (name, twin_id, data) VALUES (?, ?, '')",
                                (name, twin.id))
            farm_id = int(cursor.lastrowid or 0)
            farm = Farm(id=farm_id, name=name, twin_id=twin.id, public_ips=ips)
            db.execute("UPDATE farms SET data = ? WHERE id = ?", (farm.model_dump_json(), farm_id))
        return farm_id

    def create_node(self, account: bytes, node: Node) -> int:
        """Register the signer's node; the farmer's public config is not settable here."""
        with self._write() as (db, _block):
            twin = self._twin_of(db, account)
            if node.twin_id and node.twin_id != twin.id:
                raise InvalidRequestError(
                    f"twin_id {node.twin_id} is not the signer's twin {twin.id}", field="twin_id")
            self._load(db, "farms", node.farm_id, "farm")
            if db.execute("SELECT 1 FROM nodes WHERE twin_id = ?", (twin.id,)).fetchone():
                raise ConflictError(f"twin {twin.id} already has a node")
            cursor = db.execute("INSERT INTO nodes (twin_id, farm_id, data) VALUES (?, ?, '')",
                                (twin.id, node.farm_id))
            node_id = int(cursor.lastrowid or 0)
            stored = node.model_copy(update={
                "id": node_id, "twin_id": twin.id, "created": int(time.time()),
                "public_config": OptionPublicConfig(),
            })
            db.execute("UPDATE nodes SET data = ? WHERE id = ?",
                       (stored.model_dump_json(), node_id))
        return node_id

    def update_node(self, account: bytes, node: Node) -> int:
        with self._write() as (db, _block):
            twin = self._twin_of(db, account)
            if node.id == 0:
                raise InvalidRequestError("node id is required", field="id")
            current = Node.model_validate_json(self._load(db, "nodes", node.id, "node"))
            if current.twin_id != twin.id:
                raise InvalidRequestError(
                    f"node {node.id} belongs to twin {current.twin_id}, not the signer's twin "
                    f"{twin.id}", field="id")
            self._load(db, "farms", node.farm_id, "farm")
            stored = node.model_copy(update={
                "twin_id": twin.id, "created": current.created,
                "public_config": current.public_config, "farming_policy": current.farming_policy,
                "certification": current.certification,
            })
            db.execute("UPDATE nodes SET farm_id = ?, data = ? WHERE id = ?",
                       (node.farm_id, stored.model_dump_json(), node.id))
        return node.id

    def create_node_contract(
        self, account: bytes, node_id: int, deployment_hash: DeploymentHash,
        deployment_data: str = "", public_ips: int = 0, solution_provider_id: int | None = None,
    ) -> int:
        _check_hash(deployment_hash)
        if public_ips < 0:
            raise InvalidRequestError("public_ips must not be negative", field="public_ips")
        with self._write() as (db, _block):
            twin = self._twin_of(db, account)
            node = Node.model_validate_json(self._load(db, "nodes", node_id, "node"))
            if db.execute(
                "SELECT 1 FROM contracts WHERE kind = 'node' AND node_id = ? AND hash = ? "
                "AND state != 'deleted'", (node_id, deployment_hash)).fetchone():
                raise ConflictError(
                    f"an active contract for deployment hash {deployment_hash} already exists "
                    f"on node {node_id}")
            cursor = db.execute(
                "INSERT INTO contracts (twin_id, kind, node_id, hash, state, data) "
                "VALUES (?, 'node', ?, ?, 'created', '')", (twin.id, node_id, deployment_hash))
            contract_id = int(cursor.lastrowid or 0)
            ips = self._reserve_ips(db, node.farm_id, contract_id, public_ips)
            contract = Contract(
                contract_id=contract_id, twin_id=twin.id,
                state=ContractState(is_created=True),
                contract_type=ContractType(is_node_contract=True, node_contract=NodeContract(
                    node_id=node_id, deployment_hash=deployment_hash,
                    deployment_data=deployment_data, public_ips_count=public_ips,
                    public_ips=ips)),
                solution_provider_id=_option_u64(solution_provider_id),
            )
            self._store_contract(db, contract, "created")
        return contract_id

    def _reserve_ips(
        self, db: sqlite3.Connection, farm_id: int, contract_id: int, count: int
    ) -> list[PublicIP]:
        if count == 0:
            return []
        farm = Farm.model_validate_json(self._load(db, "farms", farm_id, "farm"))
        free = [ip for ip in farm.public_ips if ip.contract_id == 0]
        if len(free) < count:
            raise InvalidRequestError(
                f"farm {farm_id} has {len(free)} free public IPs, {count} requested",
                field="public_ips")
        taken = free[:count]
        for ip in taken:
            ip.contract_id = contract_id
        db.execute("UPDATE farms SET data = ? WHERE id = ?", (farm.model_dump_json(), farm_id))
        return [ip.model_copy() for ip in taken]

    def _release_ips(self, db: sqlite3.Connection, contract: Contract) -> None:
        ips = contract.contract_type.node_contract.public_ips
        if not ips:
            return
        node = Node.model_validate_json(
            self._load(db, "nodes", contract.contract_type.node_contract.node_id, "node"))
        farm = Farm.model_validate_json(self._load(db, "farms", node.farm_id, "farm"))
        for ip in farm.public_ips:
            if ip.contract_id == contract.contract_id:
                ip.contract_id = 0
        db.execute("UPDATE farms SET data = ? WHERE id = ?", (farm.model_dump_json(), farm.id))

    def update_node_contract(
        self, account: bytes, contract_id: int, deployment_hash: DeploymentHash,
        deployment_data: str = "",
    ) -> int:
        _check_hash(deployment_hash)
        with self._write() as (db, _block):
            twin = self._twin_of(db, account)
            contract = self._contract(db, contract_id)
            self._check_owner(contract, twin)
            if not contract.contract_type.is_node_contract:
                raise InvalidRequestError(f"contract {contract_id} is not a node contract",
                                          field="contract_id")
            if contract.state.is_deleted:
                raise InvalidRequestError(f"contract {contract_id} is deleted",
                                          field="contract_id")
            node_contract = contract.contract_type.node_contract
            clash = db.execute(
                "SELECT id FROM contracts WHERE kind = 'node' AND node_id = ? AND hash = ? "
                "AND state != 'deleted' AND id != ?",
                (node_contract.node_id, deployment_hash, contract_id)).fetchone()
            if clash:
                raise ConflictError(f"contract {clash[0]} already has deployment hash "
                                    f"{deployment_hash} on node {node_contract.node_id}")
            node_contract.deployment_hash = deployment_hash
            node_contract.deployment_data = deployment_data
            self._store_contract(db, contract, _state_name(contract.state))
        return contract_id

    @staticmethod
    def _check_owner(contract: Contract, twin: Twin) -> None:
        if contract.twin_id != twin.id:
            raise PermissionDeniedError(
                f"contract {contract.contract_id} belongs to twin {contract.twin_id}, "
                f"not {twin.id}")

    def cancel_contract(self, account: bytes, contract_id: int) -> None:
        with self._write() as (db, block):
            twin = self._twin_of(db, account)
            contract = self._contract(db, contract_id)
            self._check_owner(contract, twin)
            self._delete_contract(db, block, contract, DeletedState(is_canceled_by_user=True))

    def _delete_contract(
        self, db: sqlite3.Connection, block: int, contract: Contract, cause: DeletedState
    ) -> None:
        if contract.state.is_deleted:
            raise InvalidRequestError(f"contract {contract.contract_id} is already deleted",
                                      field="contract_id")
        contract.state = ContractState(is_deleted=True, as_deleted=cause)
        self._store_contract(db, contract, "deleted")
        if contract.contract_type.is_node_contract:
            self._release_ips(db, contract)
            node_id = contract.contract_type.node_contract.node_id
            self._emit(db, block, "NodeContractCanceled", node_id=node_id,
                       farm_id=self._farm_of(db, node_id), contract_id=contract.contract_id,
                       twin_id=contract.twin_id)

    def _farm_of(self, db: sqlite3.Connection, node_id: int) -> int:
        row = db.execute("SELECT farm_id FROM nodes WHERE id = ?", (node_id,)).fetchone()
        return int(row[0]) if row else 0

    def create_name_contract(self, account: bytes, name: str) -> int:
        if not name:
            raise InvalidRequestError("a name contract needs a name", field="name")
        with self._write() as (db, _block):
            twin = self._twin_of(db, account)
            if db.execute("SELECT 1 FROM contracts WHERE kind = 'name' AND name = ? "
                          "AND state != 'deleted'", (name,)).fetchone():
                raise ConflictError(f"the name {name!r} is already registered")
            cursor = db.execute(
                "INSERT INTO contracts (twin_id, kind, name, state, data) "
                "VALUES (?, 'name', ?, 'created', '')", (twin.id, name))
            contract_id = int(cursor.lastrowid or 0)
            contract = Contract(
                contract_id=contract_id, twin_id=twin.id, state=ContractState(is_created=True),
                contract_type=ContractType(is_name_contract=True,
                                           name_contract=NameContract(name=name)))
            self._store_contract(db, contract, "created")
        return contract_id

    def create_rent_contract(
        self, account: bytes, node_id: int, solution_provider_id: int | None = None
    ) -> int:
        with self._write() as (db, _block):
            twin = self._twin_of(db, account)
            self._load(db, "nodes", node_id, "node")
            if db.execute("SELECT 1 FROM contracts WHERE kind = 'rent' AND node_id = ? "
                          "AND state != 'deleted'", (node_id,)).fetchone():
                raise ConflictError(f"node {node_id} is already rented")
            cursor = db.execute(
                "INSERT INTO contracts (twin_id, kind, node_id, state, data) "
                "VALUES (?, 'rent', ?, 'created', '')", (twin.id, node_id))
            contract_id = int(cursor.lastrowid or 0)
            contract = Contract(
                contract_id=contract_id, twin_id=twin.id, state=ContractState(is_created=True),
                contract_type=ContractType(is_rent_contract=True,
                                           rent_contract=RentContract(node_id=node_id)),
                solution_provider_id=_option_u64(solution_provider_id))
            self._store_contract(db, contract, "created")
        return contract_id

    def set_contract_consumption(
        self, account: bytes, resources: list[ContractResources]
    ) -> None:
        with self._write() as (db, block):
            node = self._own_node(db, account)
            for item in resources:
                contract = self._contract(db, item.contract_id)
                if contract.contract_type.node_contract.node_id != node.id:
                    raise InvalidRequestError(
                        f"contract {item.contract_id} is not on node {node.id}",
                        field="contract_id")
                db.execute(
                    "INSERT INTO consumption_reports (contract_id, data, block) VALUES (?, ?, ?)",
                    (item.contract_id, item.model_dump_json(), block))

    def report(self, account: bytes, consumptions: list[NruConsumption]) -> bytes:
        with self._write() as (db, block):
            node = self._own_node(db, account)
            for item in consumptions:
                contract = self._contract(db, item.contract_id)
                if contract.contract_type.node_contract.node_id != node.id:
                    raise InvalidRequestError(
                        f"contract {item.contract_id} is not on node {node.id}",
                        field="contract_id")
                db.execute("INSERT INTO nru_reports (contract_id, data, block) VALUES (?, ?, ?)",
                           (item.contract_id, item.model_dump_json(), block))
        return _tx_hash("report", block)

    def update_node_uptime_v2(self, account: bytes, uptime: int, timestamp_hint: int) -> bytes:
        with self._write() as (db, block):
            node = self._own_node(db, account)
            db.execute(
                "INSERT INTO uptime_reports (node_id, uptime, timestamp, block) "
                "VALUES (?, ?, ?, ?)", (node.id, uptime, timestamp_hint, block))
        return _tx_hash("uptime", block)

    def set_node_power_state(self, account: bytes, up: bool) -> bytes:
        with self._write() as (db, block):
            node = self._own_node(db, account)
            power = self._power(db, node.id)
            power.state = PowerState(is_up=up, is_down=not up,
                                     as_down_block_number=0 if up else block)
            db.execute("INSERT OR REPLACE INTO power (node_id, data) VALUES (?, ?)",
                       (node.id, power.model_dump_json()))
        return _tx_hash("power", block)

    @staticmethod
    def _power(db: sqlite3.Connection, node_id: int) -> NodePower:
        row = db.execute("SELECT data FROM power WHERE node_id = ?", (node_id,)).fetchone()
        return NodePower.model_validate_json(row[0]) if row else NodePower()

    # --- test controls ----------------------------------------------------------------------

    def set_node_public_config(self, node_id: int, config: PublicConfig | None) -> None:
        """What the farmer does on chain; emits NodePublicConfigStored."""
        with self._write() as (db, block):
            node = Node.model_validate_json(self._load(db, "nodes", node_id, "node"))
            node.public_config = (OptionPublicConfig(has_value=True, as_value=config)
                                  if config is not None else OptionPublicConfig())
            db.execute("UPDATE nodes SET data = ? WHERE id = ?", (node.model_dump_json(), node_id))
            self._emit(db, block, "NodePublicConfigStored", node_id=node_id,
                       farm_id=node.farm_id, public_config=node.public_config)

    def set_power_target(self, node_id: int, up: bool) -> None:
        """What the farmerbot does; emits PowerTargetChanged."""
        with self._write() as (db, block):
            node = Node.model_validate_json(self._load(db, "nodes", node_id, "node"))
            power = self._power(db, node_id)
            power.target = Power(is_up=up, is_down=not up)
            db.execute("INSERT OR REPLACE INTO power (node_id, data) VALUES (?, ?)",
                       (node_id, power.model_dump_json()))
            self._emit(db, block, "PowerTargetChanged", node_id=node_id, farm_id=node.farm_id,
                       power_target=power.target)

    def grace_period_start(self, contract_id: int) -> None:
        """Out of funds: the contract enters its grace period (ContractGracePeriodStarted)."""
        with self._write() as (db, block):
            contract = self._contract(db, contract_id)
            if not contract.state.is_created:
                raise InvalidRequestError(
                    f"contract {contract_id} is {_state_name(contract.state)}, not created",
                    field="contract_id")
            contract.state = ContractState(is_grace_period=True,
                                           as_grace_period_block_number=block)
            self._store_contract(db, contract, "grace")
            self._emit_lock(db, block, contract, "ContractGracePeriodStarted")

    def grace_period_end(self, contract_id: int) -> None:
        """Funds are back: the contract is created again (ContractGracePeriodEnded)."""
        with self._write() as (db, block):
            contract = self._contract(db, contract_id)
            if not contract.state.is_grace_period:
                raise InvalidRequestError(
                    f"contract {contract_id} is {_state_name(contract.state)}, not in grace",
                    field="contract_id")
            contract.state = ContractState(is_created=True)
            self._store_contract(db, contract, "created")
            self._emit_lock(db, block, contract, "ContractGracePeriodEnded")

    def _emit_lock(
        self, db: sqlite3.Connection, block: int, contract: Contract, kind: EventKind
    ) -> None:
        kinds = contract.contract_type
        node_id = (kinds.node_contract.node_id if kinds.is_node_contract
                   else kinds.rent_contract.node_id if kinds.is_rent_contract else 0)
        self._emit(db, block, kind, node_id=node_id, farm_id=self._farm_of(db, node_id),
                   contract_id=contract.contract_id, twin_id=contract.twin_id)

    def set_kyc_verified(self, twin_id: int, verified: bool) -> None:
        with self._write() as (db, _block):
            cursor = db.execute("UPDATE twins SET kyc = ? WHERE id = ?", (int(verified), twin_id))
            if cursor.rowcount == 0:
                raise NotFoundError(f"twin {twin_id} not found")

    def set_zos_version(self, version: str) -> None:
        with self._write() as (db, _block):
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('zos_version', ?)",
                       (version,))

    def set_reachable(self, reachable: bool) -> None:
        """The "chain unreachable" switch: while off, every other call fails."""
        self._reachable = reachable


def _check_hash(value: str) -> None:
    if not _HASH.match(value):
        raise InvalidRequestError(
            f"deployment_hash must be 32 hex characters, got {value!r}", field="deployment_hash")


def _option_u64(value: int | None) -> OptionU64:
    return OptionU64(has_value=value is not None, as_value=value or 0)


def _state_name(state: ContractState) -> str:
    if state.is_deleted:
        return "deleted"
    if state.is_grace_period:
        return "grace"
    return "created"


# Methods the HTTP service exposes (everything in `ChainBackend`).
SERVICE_METHODS: tuple[str, ...] = (
    "get_twin", "get_twin_by_pub_key", "get_farm", "get_node", "get_nodes",
    "get_node_by_twin_id", "get_contract", "get_node_contracts", "get_node_rent_contract",
    "get_contract_id_by_name_registration", "get_power_target", "get_time", "get_zos_version",
    "get_block", "list_twins", "list_farms", "list_nodes", "list_contracts", "events",
    "uptime_reports", "consumption_reports", "nru_reports", "is_kyc_verified",
    "ensure_account", "create_twin", "update_twin", "create_farm", "create_node", "update_node",
    "create_node_contract", "update_node_contract", "cancel_contract", "create_name_contract",
    "create_rent_contract", "set_contract_consumption", "report", "update_node_uptime_v2",
    "set_node_power_state", "set_node_public_config", "set_power_target", "grace_period_start",
    "grace_period_end", "set_kyc_verified", "set_zos_version", "set_reachable",
)

__all__ = ["SERVICE_METHODS", "DevChain"]
