"""The provision object's wire shape: gridtypes in Go's struct layout, byte for byte.

Expected bytes are written here with a small msgpack writer of our own (Go v4 rules: str
headers by length, non-compact ints, bin for json.RawMessage), not with zos_zbus's codec, so
the test checks the schema rather than the codec against itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zos_zbus as zbus
from zos_gridtypes import Deployment, KeyPair, Volume, Workload
from zos_provision.api import (
    MODULE,
    PROVISION_OBJECT,
    VERSION,
    GoDeployment,
    GoResult,
    GoSignature,
    GoSignatureRequest,
    GoSignatureRequirement,
    GoWorkload,
    ProvisionInterface,
)
from zos_provision.capacity import GiB, Memory
from zos_provision.engine import Engine, EngineConfig
from zos_provision.gridrules import GridtypesRules
from zos_provision.objects import ProvisionObject
from zos_provision.store import Store
from zos_provision.testing import MemoryChain, RecordingManager

TWIN, NODE, CONTRACT = 42, 1, 5
SEED = bytes(range(32))
USER = KeyPair.from_seed(SEED)

# -- a msgpack writer with Go's v4 choices ------------------------------------------------


def s(text: str) -> bytes:
    data = text.encode()
    n = len(data)
    if n < 32:
        return bytes([0xA0 | n]) + data
    if n < 256:
        return b"\xd9" + bytes([n]) + data
    return b"\xda" + struct.pack(">H", n) + data


def u32(n: int) -> bytes:
    return b"\xce" + struct.pack(">I", n)


def u64(n: int) -> bytes:  # uint64 and uint
    return b"\xcf" + struct.pack(">Q", n)


def i64(n: int) -> bytes:  # int64, gridtypes.Timestamp
    return b"\xd3" + struct.pack(">q", n)


def boolean(v: bool) -> bytes:
    return b"\xc3" if v else b"\xc2"


def binary(data: bytes) -> bytes:
    assert len(data) < 256
    return b"\xc4" + bytes([len(data)]) + data


NIL = b"\xc0"


def fmap(*pairs: tuple[str, bytes]) -> bytes:
    assert len(pairs) < 16
    return bytes([0x80 | len(pairs)]) + b"".join(s(k) + v for k, v in pairs)


def arr(*items: bytes) -> bytes:
    assert len(items) < 16
    return bytes([0x90 | len(items)]) + b"".join(items)


# -- a msgpack reader that keeps the wire types ---------------------------------------------


@dataclass
class Reader:
    data: bytes
    pos: int = 0

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        assert len(chunk) == n, "truncated msgpack"
        self.pos += n
        return chunk

    def value(self) -> Any:
        """Maps become lists of (key, value) pairs (order kept); scalars (wire type, value)."""
        b = self.take(1)[0]
        if b <= 0x7F:
            return ("fixint", b)
        if 0x80 <= b <= 0x8F:
            return self._map(b & 0x0F)
        if 0x90 <= b <= 0x9F:
            return [self.value() for _ in range(b & 0x0F)]
        if 0xA0 <= b <= 0xBF:
            return ("str", self.take(b & 0x1F).decode())
        fixed = {
            0xCE: ("uint32", ">I", 4),
            0xCF: ("uint64", ">Q", 8),
            0xD3: ("int64", ">q", 8),
            0xD2: ("int32", ">i", 4),
            0xCC: ("uint8", ">B", 1),
        }
        if b in fixed:
            name, fmt, n = fixed[b]
            return (name, struct.unpack(fmt, self.take(n))[0])
        if b == 0xC0:
            return ("nil", None)
        if b in (0xC2, 0xC3):
            return ("bool", b == 0xC3)
        if b == 0xC4:
            return ("bin", self.take(self.take(1)[0]))
        if b == 0xC5:
            return ("bin", self.take(struct.unpack(">H", self.take(2))[0]))
        if b == 0xD9:
            return ("str", self.take(self.take(1)[0]).decode())
        if b == 0xDA:
            return ("str", self.take(struct.unpack(">H", self.take(2))[0]).decode())
        if b == 0xDE:
            return self._map(struct.unpack(">H", self.take(2))[0])
        if b == 0xDC:
            return [self.value() for _ in range(struct.unpack(">H", self.take(2))[0])]
        raise AssertionError(f"unexpected msgpack byte {b:#x} at {self.pos - 1}")

    def _map(self, n: int) -> list[tuple[str, Any]]:
        pairs = []
        for _ in range(n):
            kind, key = self.value()
            assert kind == "str", f"map key of type {kind}"
            pairs.append((key, self.value()))
        return pairs


def read(data: bytes) -> Any:
    reader = Reader(data)
    value = reader.value()
    assert reader.pos == len(data), "trailing bytes"
    return value


# -- a known deployment in both forms ---------------------------------------------------------

DATA = b'{"size":1073741824}'
SIG = "ab" * 64


def sample_go() -> GoDeployment:
    return GoDeployment(
        version=0,
        twin_id=TWIN,
        contract_id=CONTRACT,
        metadata="meta",
        description="desc",
        expiration=1700000000,
        signature_requirement=GoSignatureRequirement(
            requests=[GoSignatureRequest(twin_id=TWIN, required=False, weight=1)],
            weight_required=1,
            signatures=[GoSignature(twin_id=TWIN, signature=SIG, signature_type="ed25519")],
            signature_style="",
        ),
        workloads=[
            GoWorkload(
                version=0,
                name="vol",
                type="volume",
                data=DATA,
                metadata="",
                description="d",
                result=GoResult(created=1700000001, state="ok", error="", data=b'{"id":"x"}'),
            )
        ],
    )


def sigreq_bytes(signature: str) -> bytes:
    return fmap(
        (
            "Requests",
            arr(fmap(("TwinID", u32(TWIN)), ("Required", boolean(False)), ("Weight", u64(1)))),
        ),
        ("WeightRequired", u64(1)),
        (
            "Signatures",
            arr(
                fmap(
                    ("TwinID", u32(TWIN)),
                    ("Signature", s(signature)),
                    ("SignatureType", s("ed25519")),
                )
            ),
        ),
        ("SignatureStyle", s("")),
    )


def workload_bytes(data: bytes, result: bytes, description: str = "") -> bytes:
    return fmap(
        ("Version", u32(0)),
        ("Name", s("vol")),
        ("Type", s("volume")),
        ("Data", binary(data)),
        ("Metadata", s("")),
        ("Description", s(description)),
        ("Result", result),
    )


def sample_bytes() -> bytes:
    result = fmap(
        ("Created", i64(1700000001)),
        ("State", s("ok")),
        ("Error", s("")),
        ("Data", binary(b'{"id":"x"}')),
    )
    return fmap(
        ("Version", u32(0)),
        ("TwinID", u32(TWIN)),
        ("ContractID", u64(CONTRACT)),
        ("Metadata", s("meta")),
        ("Description", s("desc")),
        ("Expiration", i64(1700000000)),
        ("SignatureRequirement", sigreq_bytes(SIG)),
        ("Workloads", arr(workload_bytes(DATA, result, "d"))),
    )


def test_deployment_encodes_in_go_layout() -> None:
    assert zbus.encode(sample_go(), GoDeployment) == sample_bytes()
    assert zbus.decode(sample_bytes(), GoDeployment) == sample_go()
    assert zbus.go_type_name(GoDeployment) == "gridtypes.Deployment"


def test_zero_values_are_gos() -> None:
    # Go's zero Deployment (sent with a call error): nil slices, zero ints at full width
    zero = fmap(
        ("Version", u32(0)),
        ("TwinID", u32(0)),
        ("ContractID", u64(0)),
        ("Metadata", s("")),
        ("Description", s("")),
        ("Expiration", i64(0)),
        (
            "SignatureRequirement",
            fmap(
                ("Requests", NIL),
                ("WeightRequired", u64(0)),
                ("Signatures", NIL),
                ("SignatureStyle", s("")),
            ),
        ),
        ("Workloads", NIL),
    )
    assert zbus.encode_zero(GoDeployment) == zero
    # an empty result (never processed): nil data, like Go's Result{}
    empty = fmap(("Created", i64(0)), ("State", s("")), ("Error", s("")), ("Data", NIL))
    assert zbus.encode(GoResult(), GoResult) == empty
    assert zbus.decode(NIL, GoDeployment) == GoDeployment()


def test_grid_and_json_conversions() -> None:
    go = sample_go()
    grid = go.to_grid()
    assert isinstance(grid, Deployment)
    assert grid.workloads[0].data.text == DATA.decode()
    assert grid.workloads[0].result.message == "" and grid.workloads[0].result.state == "ok"
    assert GoDeployment.from_grid(grid) == go
    doc = go.to_json()
    assert doc["workloads"][0]["data"] == {"size": GiB}
    assert doc["workloads"][0]["result"] == {
        "created": 1700000001,
        "state": "ok",
        "message": "",
        "data": {"id": "x"},
    }
    assert GoDeployment.from_json(doc) == go
    # the grid JSON as stored may use Go's decoding latitude: RFC 3339 times, other cases
    loose = dict(doc, expiration="2023-11-14T22:13:20Z", Twin_ID=TWIN)
    assert GoDeployment.from_json(loose) == go
    # null data is Go's nil
    doc["workloads"][0]["result"]["data"] = None
    assert GoDeployment.from_json(doc).workloads[0].result.data is None


def test_data_that_is_not_json_is_named() -> None:
    go = sample_go()
    go.workloads[0].data = b"{size"
    with pytest.raises(ValueError, match="workload 'vol' data is not valid JSON"):
        go.to_json()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
u32s = st.integers(0, 2**32 - 1)


@st.composite
def go_deployments(draw: st.DrawFn) -> GoDeployment:
    def raw(value: Any) -> bytes | None:
        return (
            None
            if value is None
            else json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        )

    workloads = [
        GoWorkload(
            version=draw(u32s),
            name=name,
            type=draw(st.sampled_from(["volume", "zmount", "zmachine"])),
            data=raw(draw(json_values)),
            metadata=draw(st.text(max_size=10)),
            description=draw(st.text(max_size=10)),
            result=GoResult(
                created=draw(st.integers(0, 2**40)),
                state=draw(st.sampled_from(["", "ok", "error", "deleted"])),
                error=draw(st.text(max_size=10)),
                data=raw(draw(json_values)),
            ),
        )
        for name in draw(st.lists(st.from_regex(r"[a-z0-9_]{1,12}", fullmatch=True), max_size=3))
    ]
    return GoDeployment(
        version=draw(u32s),
        twin_id=draw(u32s),
        contract_id=draw(st.integers(0, 2**64 - 1)),
        metadata=draw(st.text(max_size=20)),
        description=draw(st.text(max_size=20)),
        expiration=draw(st.integers(-(2**40), 2**40)),
        signature_requirement=GoSignatureRequirement(
            requests=[
                GoSignatureRequest(twin_id=t, required=draw(st.booleans()), weight=draw(u32s))
                for t in draw(st.lists(u32s, max_size=2))
            ],
            weight_required=draw(st.integers(0, 2**64 - 1)),
            signatures=[
                GoSignature(twin_id=t, signature="ab", signature_type="sr25519")
                for t in draw(st.lists(u32s, max_size=2))
            ],
            signature_style=draw(st.sampled_from(["", "polka-wallet"])),
        ),
        workloads=workloads,
    )


@settings(max_examples=60, deadline=None)
@given(go_deployments())
def test_round_trips(go: GoDeployment) -> None:
    # msgpack, grid JSON and the gridtypes model all give the same deployment back
    # (null data and nil data are one value: Go's nil)
    assert zbus.decode(zbus.encode(go, GoDeployment), GoDeployment) == go
    assert GoDeployment.from_json(go.to_json()) == go
    assert GoDeployment.from_grid(go.to_grid()) == go


# -- over the bus, raw requests as a Go client sends them -------------------------------------


@dataclass
class Node:
    engine: Engine
    chain: MemoryChain
    bus: zbus.Client

    async def call(self, method: str, *inputs: bytes) -> zbus.Response:
        obj = zbus.ObjectID(PROVISION_OBJECT, VERSION)
        return await self.bus.request(obj.queue(MODULE), zbus.Request(obj, method, list(inputs)))


@pytest.fixture
async def node(tmp_path: Path, zbus_broker: str) -> AsyncIterator[Node]:
    chain = MemoryChain(keys={TWIN: USER.public_key})
    store = Store(tmp_path / "w.db")
    engine = Engine(
        store,
        GridtypesRules(),
        chain,
        {"volume": RecordingManager()},
        EngineConfig(node_id=NODE),
        memory=lambda: Memory(16 * GiB, 12 * GiB),
    )
    server = zbus.Server(MODULE, zbus_broker)
    server.register(ProvisionObject(engine))
    tasks = [asyncio.create_task(server.run()), asyncio.create_task(engine.run())]
    try:
        async with zbus.Client(zbus_broker, timeout=10) as bus:
            yield Node(engine, chain, bus)
    finally:
        server.stop()
        tasks[1].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[1]
        await tasks[0]
        store.close()


def signed(node: Node) -> tuple[Deployment, bytes]:
    """A deployment signed by the user, its contract on chain, and its Go-layout bytes."""
    dep = Deployment.new(TWIN, [Workload.new("vol", Volume(size=GiB))], contract_id=CONTRACT)
    dep.sign(TWIN, SEED)
    node.chain.create_contract(CONTRACT, TWIN, NODE, dep.challenge_hash_hex())
    data = dep.workloads[0].data.text.encode()
    assert data == DATA
    empty_result = fmap(("Created", i64(0)), ("State", s("")), ("Error", s("")), ("Data", NIL))
    wire = fmap(
        ("Version", u32(0)),
        ("TwinID", u32(TWIN)),
        ("ContractID", u64(CONTRACT)),
        ("Metadata", s("")),
        ("Description", s("")),
        ("Expiration", i64(0)),
        ("SignatureRequirement", sigreq_bytes(dep.signature_requirement.signatures[0].signature)),
        ("Workloads", arr(workload_bytes(data, empty_result))),
    )
    return dep, wire


async def test_go_client_create_and_get(node: Node) -> None:
    dep, wire = signed(node)
    reply = await node.call("CreateOrUpdate", u32(TWIN), wire, boolean(False))
    assert reply.protocol_error is None and not reply.call_error, reply
    await asyncio.wait_for(node.engine.wait_idle(), 5)

    reply = await node.call("Get", u32(TWIN), u64(CONTRACT))
    assert reply.protocol_error is None and not reply.call_error, reply
    assert reply.data is not None
    got = read(reply.data)
    assert [k for k, _ in got] == [
        "Version",
        "TwinID",
        "ContractID",
        "Metadata",
        "Description",
        "Expiration",
        "SignatureRequirement",
        "Workloads",
    ]
    fields = dict(got)
    assert fields["Version"] == ("uint32", 0)
    assert fields["TwinID"] == ("uint32", TWIN)
    assert fields["ContractID"] == ("uint64", CONTRACT)
    assert fields["Metadata"] == fields["Description"] == ("str", "")
    assert fields["Expiration"] == ("int64", 0)
    sig = dep.signature_requirement.signatures[0].signature
    assert fields["SignatureRequirement"] == read(sigreq_bytes(sig))
    [workload] = fields["Workloads"]
    assert [k for k, _ in workload] == [
        "Version",
        "Name",
        "Type",
        "Data",
        "Metadata",
        "Description",
        "Result",
    ]
    wl = dict(workload)
    assert wl["Version"] == ("uint32", 0)
    assert wl["Name"] == ("str", "vol") and wl["Type"] == ("str", "volume")
    assert wl["Data"] == ("bin", DATA)  # json.RawMessage: the JSON text as bin
    assert wl["Metadata"] == wl["Description"] == ("str", "")
    result = wl["Result"]
    assert [k for k, _ in result] == ["Created", "State", "Error", "Data"]
    res = dict(result)
    assert res["Created"][0] == "int64" and res["Created"][1] > 1_600_000_000
    assert res["State"] == ("str", "ok") and res["Error"] == ("str", "")
    assert res["Data"] == (
        "bin",
        json.dumps({"id": f"{TWIN}-{CONTRACT}-vol"}).replace(" ", "").encode(),
    )
    # and the whole reply byte for byte, with the node's own timestamp
    expected_result = fmap(
        ("Created", i64(res["Created"][1])),
        ("State", s("ok")),
        ("Error", s("")),
        ("Data", binary(res["Data"][1])),
    )
    assert reply.data == fmap(
        ("Version", u32(0)),
        ("TwinID", u32(TWIN)),
        ("ContractID", u64(CONTRACT)),
        ("Metadata", s("")),
        ("Description", s("")),
        ("Expiration", i64(0)),
        ("SignatureRequirement", sigreq_bytes(sig)),
        ("Workloads", arr(workload_bytes(DATA, expected_result))),
    )

    # List and Changes carry the same layout
    reply = await node.call("List", u32(TWIN))
    assert reply.data is not None and read(reply.data) == [got]
    reply = await node.call("Changes", u32(TWIN), u64(CONTRACT))
    assert reply.data is not None
    changes = read(reply.data)
    assert [dict(c)["Name"] for c in changes] == [("str", "vol"), ("str", "vol")]
    assert [k for k, _ in changes[0]] == [k for k, _ in workload]

    # the typed stub reads the same reply
    stub = node.bus.stub(ProvisionInterface)
    typed = await stub.get(TWIN, CONTRACT)
    assert (
        typed.workloads[0].data == DATA and typed.to_grid().challenge_hash() == dep.challenge_hash()
    )


async def test_go_client_errors(node: Node) -> None:
    # not found: the call error, with Go's zero Deployment as the data
    reply = await node.call("Get", u32(TWIN), u64(99))
    assert reply.call_error == "deployment not found"
    assert reply.data == zbus.encode_zero(GoDeployment)
    # the wrong shape for a Deployment is the protocol error Go's server gives
    reply = await node.call("CreateOrUpdate", u32(TWIN), s("nope"), boolean(False))
    assert reply.protocol_error == "invalid argument type [1] expecting gridtypes.Deployment got"
    # a workload whose data is not JSON is refused, naming the workload
    _, wire = signed(node)
    bad = wire.replace(binary(DATA), binary(b"{size"))
    reply = await node.call("CreateOrUpdate", u32(TWIN), bad, boolean(False))
    assert reply.call_error is not None
    assert reply.call_error.startswith("workload 'vol' data is not valid JSON")
    # Go decodes str and bin alike: a data sent as str is accepted (signature intact)
    lenient = wire.replace(binary(DATA), s(DATA.decode()))
    reply = await node.call("CreateOrUpdate", u32(TWIN), lenient, boolean(False))
    assert reply.protocol_error is None and not reply.call_error, reply


def test_interfaces_match_upstreams_bus_map() -> None:
    from zos_provision.api import StatisticsInterface
    from zos_zbus import busmap

    assert busmap.check_interface(ProvisionInterface) == []
    assert busmap.check_interface(StatisticsInterface) == []
