"""Bad input never crashes a parser: each answers with its own clear error type."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from zos_provision.client import DeploySpec, SpecError, parse_size
from zos_provision.model import Deployment, parse_workload_id
from zos_provision.msgbus import Caller, MsgbusError, Request, Router

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_msgbus_request_decode(raw: bytes) -> None:
    try:
        Request.decode(raw)
    except MsgbusError as err:
        assert str(err)


@given(
    st.fixed_dictionaries(
        {
            "ref": st.text(min_size=1, max_size=4),
            "cmd": st.text(min_size=1, max_size=4),
            "ret": st.text(min_size=1, max_size=4),
        },
        optional={
            "exp": json_values,
            "now": json_values,
            "src": json_values,
            "dat": st.text(max_size=8),
            "shm": json_values,
        },
    )
)
def test_msgbus_request_fields(obj: dict[str, Any]) -> None:
    try:
        Request.decode(json.dumps(obj))
    except MsgbusError as err:
        assert str(err)


@given(st.text(max_size=20))
def test_caller_parse(src: str) -> None:
    try:
        caller = Caller.parse(src)
    except MsgbusError as err:
        assert "invalid source" in str(err)
    else:
        assert caller.twin >= 0


@given(json_values)
def test_deploy_spec_parse(obj: Any) -> None:
    try:
        DeploySpec.parse(obj)
    except SpecError as err:
        assert str(err).startswith("deployment")


@given(st.integers() | st.text(max_size=10) | st.floats(allow_nan=False))
def test_parse_size(value: Any) -> None:
    try:
        assert parse_size(value, "x") > 0
    except SpecError as err:
        assert str(err).startswith("x: ")


@given(json_values)
def test_deployment_model(obj: Any) -> None:
    try:
        Deployment.from_json(obj)
    except ValueError as err:
        assert str(err)


@given(st.text(max_size=30))
def test_workload_id(text: str) -> None:
    try:
        twin, contract, name = parse_workload_id(text)
    except ValueError as err:
        assert "invalid workload id" in str(err)
    else:
        assert name and twin >= 0 and contract >= 0


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=100), st.text(max_size=10))
def test_router_dispatch_never_raises(payload: bytes, src: str) -> None:
    async def handler(caller: Caller, data: bytes) -> Any:
        return json.loads(data)

    router = Router(redis=None)  # type: ignore[arg-type]
    router.register("zos.echo", handler)
    req = Request("r", src, "zos.echo", 10, payload, None, "ret", "application/json", 0)
    result, error = asyncio.run(router.dispatch(req))
    assert (result is None) != (error is None)
    if error is not None:
        assert error[0] == 0 and error[1]


@settings(max_examples=150, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "version": json_values,
            "twin_id": json_values,
            "contract_id": json_values,
            "description": json_values,
            "signature_requirement": json_values,
            "workloads": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "name": json_values,
                        "type": st.sampled_from(["volume", "zmount", "x"]) | json_values,
                        "version": json_values,
                        "data": json_values,
                    },
                ),
                max_size=3,
            )
            | json_values,
        },
    )
)
def test_admission_answers_every_deployment_with_a_provision_error(obj: dict[str, Any]) -> None:
    """Whatever arrives as a deployment, admission answers ProvisionError or accepts it."""
    import tempfile
    from pathlib import Path

    from zos_provision.api import ProvisionError
    from zos_provision.engine import Engine, EngineConfig
    from zos_provision.gridrules import GridtypesRules
    from zos_provision.store import Store
    from zos_provision.testing import MemoryChain

    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "h.db")
        engine = Engine(store, GridtypesRules(), MemoryChain(), {}, EngineConfig(node_id=1))
        try:
            asyncio.run(engine.create_or_update(42, obj, update=False))
        except ProvisionError as err:
            assert str(err)
        finally:
            store.close()
