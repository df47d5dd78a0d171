"""The C extension (``_accel``): built from this source, same results as the Python reference.

Decoding is compared with the exact decoder in ``test_gridtypes_fastpath.py``; here: the
compiled challenge against the Python renderer, the challenge-hash memo, arbitrary bytes into
the C decoder, and reference leaks.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zos_gridtypes import (
    Deployment,
    MachineCapacity,
    MachineInterface,
    MachineMount,
    MachineNetwork,
    Workload,
    ZMachine,
    ZMount,
    _cfast,
)

SETTINGS = settings(
    max_examples=int(os.environ.get("ZOS_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_extension_is_built_from_this_source() -> None:
    try:
        from zos_gridtypes import _accel
    except ImportError:
        pytest.fail("zos_gridtypes._accel is not built: is a C compiler installed?")
    assert _cfast.source_sha() == _accel.SOURCE_SHA, (
        "zos_gridtypes._accel was built from another version of _accel.c; rebuild it with "
        "`hatch run python packages/zos-gridtypes/build_ext.py`"
    )
    assert _cfast.AVAILABLE


def python_challenge(d: Deployment, monkeypatch: pytest.MonkeyPatch) -> bytes:
    with monkeypatch.context() as m:
        m.setattr(_cfast, "AVAILABLE", False)
        return d.challenge()


def _vector_deployments(vectors: dict[str, Any]) -> Iterator[tuple[str, Deployment]]:
    for case in vectors["deployments"]:
        d = Deployment.model_validate_json(json.dumps(case["deployment"]))
        with contextlib.suppress(Exception):
            d.valid()  # decodes every workload's data (the C renderer needs it decoded)
        yield case["id"], d


def test_compiled_challenge_matches_every_vector(
    vectors: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = 0
    for case_id, d in _vector_deployments(vectors):
        c = _cfast.deployment_challenge(d)
        if c is not None:
            compiled += 1
            assert c == python_challenge(d, monkeypatch), case_id
    assert compiled >= len(vectors["deployments"]) - 2  # all but qsfs-style documents


def test_challenge_hashes_match_vectors_without_the_extension(
    vectors: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cfast, "AVAILABLE", False)
    for case in vectors["deployments"]:
        d = Deployment.model_validate_json(json.dumps(case["deployment"]))
        assert d.challenge_hash().hex() == case["reference_challenge_hash"], case["id"]


texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
u8 = st.integers(0, 255)
u64 = st.integers(0, 2**64 - 1)


@st.composite
def machines(draw: st.DrawFn) -> Deployment:
    vm = ZMachine(
        flist=draw(texts),
        network=MachineNetwork(
            public_ip=draw(texts),
            planetary=draw(st.booleans()),
            interfaces=[
                MachineInterface(network=draw(texts), ip=draw(st.sampled_from(["", "10.1.2.3"])))
                for _ in range(draw(st.integers(0, 2)))
            ],
        ),
        size=draw(u64),
        compute_capacity=MachineCapacity(cpu=draw(u8), memory=draw(u64)),
        mounts=[MachineMount(name=draw(texts), mountpoint=draw(texts))],
        entrypoint=draw(texts),
        env=draw(st.dictionaries(texts, texts, max_size=4)),
        gpu=draw(st.lists(texts, max_size=2)),
    )
    d = Deployment.new(
        draw(st.integers(0, 2**32 - 1)),
        [Workload.new("vm", vm), Workload.new("disk", ZMount(size=draw(u64)))],
        metadata=draw(texts),
        description=draw(texts),
    )
    d.expiration = draw(st.integers(-(2**63), 2**63 - 1))
    return d


@SETTINGS
@given(machines())
def test_compiled_challenge_matches_generated_documents(d: Deployment) -> None:
    for w in d.workloads:
        w.workload_data()
    c = _cfast.deployment_challenge(d)
    assert c is not None
    saved = _cfast.AVAILABLE
    _cfast.AVAILABLE = False
    try:
        assert c == d.challenge()
    finally:
        _cfast.AVAILABLE = saved


class Text(str):
    """A str subclass: the C renderer must leave it to Python (its str() may differ)."""


def test_unexpected_values_are_left_to_python(
    vectors: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, d = next(x for x in _vector_deployments(vectors) if x[1].workloads)
    assert _cfast.deployment_challenge(d) is not None
    odd = d.model_copy(deep=True)
    object.__setattr__(odd, "metadata", Text("x"))  # bypasses validation, like a careless caller
    assert _cfast.deployment_challenge(odd) is None
    odd = d.model_copy(deep=True)
    odd.__dict__["version"] = True  # a bool is an int to C, but str(True) is "True"
    assert _cfast.deployment_challenge(odd) is None
    assert odd.challenge() == python_challenge(odd, monkeypatch)
    fresh = Deployment.exact_validate_json(d.model_dump_json())  # data not decoded yet
    assert _cfast.deployment_challenge(fresh) is None
    assert fresh.challenge() == d.challenge()


def _hash_from_scratch(d: Deployment) -> bytes:
    return Deployment.model_validate_json(d.model_dump_json()).challenge_hash()


def test_challenge_hash_memo_follows_every_change(vectors: dict[str, Any]) -> None:
    case = next(c for c in vectors["deployments"] if len(c["deployment"]["workloads"]) >= 2)
    d = Deployment.model_validate_json(json.dumps(case["deployment"]))
    seen = {d.challenge_hash()}

    def changed() -> None:
        h = d.challenge_hash()
        assert h == _hash_from_scratch(d)
        assert h not in seen
        seen.add(h)

    d.version += 1
    changed()
    d.workloads[0].name = "renamed"
    changed()
    d.signature_requirement.requests[0].weight += 1
    changed()
    d.signature_requirement.requests.append(copy.deepcopy(d.signature_requirement.requests[0]))
    changed()
    d.workloads.append(Workload.new("extra", ZMount(size=1)))
    changed()
    d.workloads[-1] = Workload.new("extra", ZMount(size=2))  # same list, same length
    changed()
    d.workloads.reverse()
    changed()
    before = d.challenge_hash()
    d.sign(d.twin_id, bytes(32))  # signatures are not part of the challenge
    assert d.challenge_hash() == before == _hash_from_scratch(d)
    legacy = Deployment.model_validate_json(d.model_dump_json()).challenge_hash("legacy")
    assert d.challenge_hash("legacy") == legacy  # the memo is per variant
    assert d.challenge_hash() == before


def _doc_bytes(vectors: dict[str, Any]) -> list[bytes]:
    return [json.dumps(c["deployment"]).encode() for c in vectors["deployments"]]


@SETTINGS
@given(data=st.data())
def test_arbitrary_bytes_never_crash_the_c_decoder(vectors: dict[str, Any], data: Any) -> None:
    docs = _doc_bytes(vectors)
    doc = bytearray(data.draw(st.sampled_from(docs)))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(doc) - 1))
        op = data.draw(st.sampled_from(["flip", "cut", "dup", "byte"]))
        if op == "flip":
            doc[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del doc[i:]
            if not doc:
                doc += b"{"
        elif op == "dup":
            doc[i:i] = doc[i : i + data.draw(st.integers(1, 20))]
        else:
            doc[i] = data.draw(st.integers(0, 255))
    raw = bytes(doc)
    model = _cfast.fast_decode(Deployment, raw)
    if model is not None:  # accepted: exactly what the exact decoder makes of it
        exact = Deployment.exact_validate_json(raw)
        assert model == exact
        assert model.model_dump_json() == exact.model_dump_json()


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_are_declined_or_exact(raw: bytes) -> None:
    model = _cfast.fast_decode(Deployment, raw)
    if model is not None:
        assert model == Deployment.exact_validate_json(raw)


def test_no_references_leak(vectors: dict[str, Any]) -> None:
    docs = _doc_bytes(vectors)
    declined = [d[:-1] for d in docs] + [d.replace(b'"version"', b'"Version"') for d in docs]

    def run() -> None:
        for _ in range(200):
            for raw in docs:
                d = _cfast.fast_decode(Deployment, raw)
                if d is not None:
                    _cfast.deployment_challenge(d)
            for raw in declined:
                assert _cfast.fast_decode(Deployment, raw) is None

    run()  # warm every cache
    before = sys.getallocatedblocks()
    run()
    assert sys.getallocatedblocks() - before < 1000
