"""The compiled fast paths of ``model_validate_json`` agree with the exact Go-like decoder.

Every test runs twice: with the C decoder (``_cfast``, used when the extension is built) and
with the pydantic-core one (``_fastpath``, used without a C compiler).

For any input the fast path either declines (the exact decoder then decides) or builds models
indistinguishable from the exact decoder's: same types, field values, ``model_fields_set``,
extras, raw ``data`` text, typed data, and the same outcome of every operation on them.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zos_gridtypes import IP, Deployment, GoModel, IPNet, RawJSON, SignatureError, ValidationError
from zos_gridtypes._fastpath import fast_decode
from zos_gridtypes._jsontext import Float, Obj

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SETTINGS = settings(
    max_examples=int(os.environ.get("ZOS_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(autouse=True, params=["c", "pydantic-core"])
def fast_path_impl(request: pytest.FixtureRequest) -> Any:
    from zos_gridtypes import _cfast, _fastpath

    if request.param == "c":
        assert _cfast.AVAILABLE, "the C extension is not built (see build_ext.py)"
    previous = _fastpath.use_c
    _fastpath.use_c = request.param == "c"
    yield request.param
    _fastpath.use_c = previous


def _vector_documents() -> list[Any]:
    # As conftest's ``shared_vectors_dir`` (needed here at collection time, not as a fixture).
    env = os.environ.get("ZOS_SHARED_DIR")
    candidates = [Path(env), Path(env) / "vectors"] if env else []
    candidates += [p / "shared" / "vectors" for p in Path(__file__).resolve().parents]
    for directory in candidates:
        path = directory / "gridtypes_vectors.json"
        if path.is_file():
            vectors = json.loads(path.read_text())
            return [case["deployment"] for case in vectors["deployments"]]
    raise FileNotFoundError("shared/vectors not found beside the repository; set ZOS_SHARED_DIR")


def _example_documents() -> list[Any]:
    return [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))]


SEEDS = _example_documents() + _vector_documents()


def _plain(value: Any) -> Any:
    """Parsed JSON (ordered pairs, float literals) in a form that compares by value."""
    if isinstance(value, Obj):
        return ("obj", [(k, _plain(v)) for k, v in value])
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Float):
        return ("float", value.text)
    return value


def _outcome(fn: Callable[[], Any]) -> Any:
    try:
        result = fn()
    except (ValidationError, SignatureError) as e:
        return (type(e).__name__, str(e))
    if isinstance(result, GoModel):
        return ("model", type(result).__name__, result.model_dump_json())
    return ("ok", result)


def assert_same(a: Any, b: Any, where: str = "") -> None:
    assert type(a) is type(b), where
    if isinstance(a, GoModel):
        assert a.model_fields_set == b.model_fields_set, where
        assert a.__pydantic_extra__ == b.__pydantic_extra__, where
        assert a.__pydantic_private__ == b.__pydantic_private__, where
        assert a.__dict__.keys() == b.__dict__.keys(), where
        for name in type(a).model_fields:
            assert_same(getattr(a, name), getattr(b, name), f"{where}.{name}")
    elif isinstance(a, RawJSON):
        assert a.is_absent() == b.is_absent(), where
        assert bool(a) == bool(b), where
        assert a.text == b.text, where
        value_a = _outcome(lambda: _plain(a.value()))
        assert value_a == _outcome(lambda: _plain(b.value())), where
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a.items()) == list(b.items()), where
    elif isinstance(a, IP):
        assert (a.packed, a.challenge_text(), str(a)) == (b.packed, b.challenge_text(), str(b))
    elif isinstance(a, IPNet):
        assert (a.ip, a.prefix, a.v4_text, a.challenge_text()) == (
            b.ip,
            b.prefix,
            b.v4_text,
            b.challenge_text(),
        ), where
    else:
        assert a == b, where


def agree(raw: str | bytes) -> bool:
    """Check both paths on ``raw``; True when the fast path took it."""
    taken = fast_decode(Deployment, raw) is not None
    try:
        exact = Deployment.exact_validate_json(raw)
    except ValidationError as e:
        assert not taken, "fast path accepted what the exact decoder rejects"
        with pytest.raises(ValidationError) as again:
            Deployment.model_validate_json(raw)
        assert str(again.value) == str(e)
        return False
    got = Deployment.model_validate_json(raw)
    assert_same(got, exact, "deployment")
    for i, (w, x) in enumerate(zip(got.workloads, exact.workloads, strict=True)):
        typed_w, typed_x = _outcome(w.workload_data), _outcome(x.workload_data)
        assert typed_w == typed_x, i
        if typed_w[0] == "model":
            assert_same(w.workload_data(), x.workload_data(), f"workloads[{i}].data")
        assert _outcome(w.result_data) == _outcome(x.result_data), i
    for step in ("valid", "challenge", "capacity", "model_dump_json", "deployment_id"):
        assert _outcome(getattr(got, step)) == _outcome(getattr(exact, step)), step
    legacy = _outcome(lambda: exact.challenge(variant="legacy"))
    assert _outcome(lambda: got.challenge(variant="legacy")) == legacy
    def key(twin: int) -> bytes:
        return bytes(32)

    assert _outcome(lambda: got.verify(key)) == _outcome(lambda: exact.verify(key))
    return taken


def compact(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def test_plain_documents_take_the_fast_path() -> None:
    for doc in _example_documents():
        d = Deployment.model_validate_json(compact(doc))
        for raw in (compact(doc), d.model_dump_json(), d.model_dump_json().encode()):
            assert agree(raw), raw[:80]
        # json.dumps' default separators: a space after the colon is fine.
        assert agree(json.dumps(doc))


def test_every_vector_agrees() -> None:
    for doc in SEEDS:
        for raw in (compact(doc), json.dumps(doc, indent=2)):
            agree(raw)
        agree(Deployment.exact_validate_json(compact(doc)).model_dump_json())


@pytest.mark.parametrize(
    "raw",
    [
        '{"twin_id":1,"twin_id":2}',
        '{"twin_id":1,"Twin_Id":2}',
        '{"signature_requirement":{"weight_required":3},"signature_requirement":{}}',
        '{"twin_id" :1,"twin_id":2}',
        '{"twin_id"\n:1,"version":2,"version":3}',
        '{"metadata":"a\\\\","twin_id":1,"twin_id":2}',
        '{"metadata":"\\":","twin_id":1}',
        '{"metadata":"\\u0022:","twin_id":1,"twin_id":2}',
        '{"version":null}',
        '{"version":1.0}',
        '{"version":-0}',
        '{"version":4294967296}',
        '{"expiration":"2024-01-01T00:00:00Z"}',
        '{"description":"\\ud800"}',
        b'{"description":"\xff"}',
        '\ufeff{}',
        '{"workloads":[{"name":"a","type":"zmount","data":{"size":1},"data":{"size":2}}]}',
        '{"workloads":[{"name":"a","type":"zmount","data":{"size":1,"SIZE":2}}]}',
        '{"workloads":[{"name":"a","type":"nope","data":{}}]}',
        '{"workloads":[{"name":"a","type":"zmount"}]}',
        '{"workloads":[{"name":"a","type":"zmount","data":null}]}',
        '{"workloads":[{"name":"a","type":"zmount","data":{"size":1},"result":{"data":{"x":1}}}]}',
        '{"workloads":[{"name":"a","type":"zmachine","data":{"env":{"A":"1","A":"2"}}}]}',
        '{"workloads":[{"name":"a","type":"network","data":{"ip_range":"10.0.0.0/08"}}]}',
        '{"workloads":[{"name":"a","type":"network","data":{"subnet":"1.2.3.4/33"}}]}',
        '{"workloads":[{"name":"a","type":"network","data":{"mycelium":{"hex_key":"0g"}}}]}',
        '{"workloads":[{"name":"a","type":"zmachine","data":{"network":{"interfaces":[null]}}}]}',
        '[]',
        '{}',
        '',
    ],
)
def test_doubtful_documents_agree(raw: str | bytes) -> None:
    agree(raw)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


SEED_PATHS = [(i, p) for i, doc in enumerate(SEEDS) for p in _paths(doc)[1:]]


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


@SETTINGS
@given(st.sampled_from(SEED_PATHS), json_values)
def test_any_value_replaced(seed_path: tuple[int, tuple[Any, ...]], value: Any) -> None:
    index, path = seed_path
    doc = copy.deepcopy(SEEDS[index])
    _get(doc, path[:-1])[path[-1]] = value
    agree(compact(doc))


Edit = Callable[[tuple[Any, ...], list[str]], None]


def _encode(value: Any, edit: Edit, at: tuple[Any, ...]) -> str:
    """Compact JSON of ``value`` where ``edit`` may rewrite each object's ``"key":value`` items."""
    if isinstance(value, dict):
        items = [f"{json.dumps(k)}:{_encode(v, edit, (*at, k))}" for k, v in value.items()]
        edit(at, items)
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode(v, edit, (*at, i)) for i, v in enumerate(value)) + "]"
    return json.dumps(value, ensure_ascii=False)


@SETTINGS
@given(
    st.integers(min_value=0, max_value=len(SEEDS) - 1),
    st.randoms(use_true_random=False),
    st.sampled_from(["duplicate", "case", "space", "unknown", "escape", "null"]),
)
def test_text_level_changes(seed: int, rnd: Any, change: str) -> None:
    doc = SEEDS[seed]
    objects = [p for p in _paths(doc) if isinstance(_get(doc, p), dict) and _get(doc, p)]
    target = rnd.choice(objects)

    def edit(at: tuple[Any, ...], items: list[str]) -> None:
        if at != target:
            return
        i = rnd.randrange(len(items))
        key, _, rest = items[i].partition(":")
        if change == "duplicate":
            other = rnd.choice(items).partition(":")[2]
            items.insert(rnd.randrange(len(items) + 1), f"{key}:{rnd.choice([rest, other])}")
        elif change == "case":
            items[i] = f"{key.upper() if rnd.random() < 0.5 else key.title()}:{rest}"
        elif change == "space":
            items[i] = f"{key}{rnd.choice([' ', chr(10), chr(9) + ' '])}:{rest}"
        elif change == "unknown":
            items.insert(i, f'"x{rnd.randrange(9)}":{rest}')
        elif change == "escape":
            inner = key[1:-1]
            if inner:
                j = rnd.randrange(len(inner))
                inner = inner[:j] + f"\\u{ord(inner[j]):04x}" + inner[j + 1 :]
            items[i] = f'"{inner}":{rest}'
        else:
            items[i] = f"{key}:null"

    agree(_encode(doc, edit, ()))


@SETTINGS
@given(json_values)
def test_arbitrary_documents(value: Any) -> None:
    agree(json.dumps(value))


def agree_model(cls: type[GoModel], raw: str) -> bool:
    """``agree`` for any model class decoded on its own (a workload, its data, a result)."""
    taken = fast_decode(cls, raw) is not None
    try:
        exact = cls.exact_validate_json(raw)
    except ValidationError as e:
        assert not taken, "fast path accepted what the exact decoder rejects"
        with pytest.raises(ValidationError) as again:
            cls.model_validate_json(raw)
        assert str(again.value) == str(e)
        return False
    got = cls.model_validate_json(raw)
    assert_same(got, exact, cls.__name__)
    assert got.model_dump_json() == exact.model_dump_json()
    return taken


WORKLOADS = [w for doc in SEEDS for w in (doc.get("workloads") or [])]


@SETTINGS
@given(
    st.sampled_from(WORKLOADS),
    st.sampled_from([None, "version", "data", "result", "type"]),
    json_values,
)
def test_workloads_and_their_data_alone(workload: Any, field: str | None, value: Any) -> None:
    from zos_gridtypes import WORKLOAD_TYPES, Result, Workload

    doc = copy.deepcopy(workload)
    if field is not None:
        doc[field] = value
    agree_model(Workload, compact(doc))
    data_cls = WORKLOAD_TYPES.get(workload["type"])
    if data_cls is not None:
        agree_model(data_cls, compact(doc.get("data")))
    agree_model(Result, compact(doc.get("result")))


def test_plain_workloads_take_the_fast_path() -> None:
    from zos_gridtypes import WORKLOAD_TYPES, Workload

    for workload in WORKLOADS[:8]:
        raw = Workload.exact_validate_json(compact(workload)).model_dump_json()
        assert agree_model(Workload, raw), raw[:80]
        data = Workload.model_validate_json(raw).workload_data()
        assert agree_model(WORKLOAD_TYPES[workload["type"]], data.model_dump_json())
