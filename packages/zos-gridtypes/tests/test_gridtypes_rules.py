"""Validation, capacity, names and ids beyond the shared vectors (spec sections 3 to 5)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from zos_gridtypes import (
    WORKLOAD_TYPES,
    Capacity,
    Deployment,
    GiB,
    MiB,
    ValidationError,
    Workload,
    ZMount,
    backend_error,
    is_sharable,
    min_root_size,
    name_error,
    parse_workload_id,
    workload_id,
    workload_id_path,
)

WG = {
    "ip_range": "10.1.0.0/16",
    "subnet": "10.1.1.0/24",
    "wireguard_private_key": "k",
    "wireguard_listen_port": 1,
}
VM: dict[str, Any] = {
    "flist": "f",
    "network": {"interfaces": [{"network": "n", "ip": "10.1.1.2"}]},
    "compute_capacity": {"cpu": 1, "memory": GiB},
}


def deployment(*workloads: dict[str, Any], version: int = 0) -> Deployment:
    items = [{"version": 0, **w} for w in workloads]
    return Deployment.model_validate_json(
        json.dumps({"version": version, "twin_id": 42, "contract_id": 1, "workloads": items})
    )


def error_of(*workloads: dict[str, Any]) -> str | None:
    try:
        deployment(*workloads).valid()
    except ValidationError as e:
        return str(e)
    return None


def w(name: str, workload_type: str, data: Any) -> dict[str, Any]:
    return {"name": name, "type": workload_type, "data": data}


def test_the_thirteen_types_are_registered() -> None:
    assert sorted(WORKLOAD_TYPES) == [
        "gateway-fqdn-proxy",
        "gateway-name-proxy",
        "ip",
        "ipv4",
        "network",
        "network-light",
        "qsfs",
        "volume",
        "zdb",
        "zlogs",
        "zmachine",
        "zmachine-light",
        "zmount",
    ]
    updatable = {name for name, cls in WORKLOAD_TYPES.items() if cls.updatable}
    assert updatable == {"zmount", "volume", "zdb", "network", "network-light", "qsfs"}


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "name cannot be empty"),
        ("a" * 36, None),
        ("a" * 37, "name cannot exceed 36 characters"),
        ("é" * 18, "unsupported character in workload name"),
        ("é" * 19, "name cannot exceed 36 characters"),  # 38 bytes
        ("a.b", "unsupported character in workload name"),
        ("a\n", "unsupported character in workload name"),
        ("ygg", "invalid name 'ygg' is reserved"),
        ("YGG", None),
        ("Ok_1", None),
    ],
)
def test_names(name: str, error: str | None) -> None:
    assert name_error(name) == error


def test_checks_run_in_order() -> None:
    # version before name, name before duplicates, duplicates before the type.
    assert error_of({"version": 1, "name": "", "type": "x"}) == (
        "workload '' version '1' cannot be higher than deployment version '0'"
    )
    assert error_of(w("", "x", {})) == "name '' is invalid: name cannot be empty"
    assert error_of(w("a", "x", {}), w("a", "y", {})) == "invalid reservation type 'x'"
    assert error_of(w("a", "zmount", {"size": 1}), w("a", "y", {})) == (
        "multiple workloads with the same name 'a'"
    )
    # The first failing workload wins.
    assert error_of(w("a", "zmount", {"size": 0}), w("b", "volume", {"size": 0})) == "invalid size"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({**WG, "ip_range": ""}, "network IP range cannot be empty"),
        ({**WG, "subnet": ""}, "network resource subnet cannot empty"),
        (
            {**WG, "peers": [{"allowed_ips": ["10.1.2.0/24"], "wireguard_public_key": "p"}]},
            "peer wireguard subnet cannot empty",
        ),
        (
            {**WG, "peers": [{"subnet": "10.1.2.0/24", "allowed_ips": ["10.1.2.0/24"]}]},
            "peer wireguard public key cannot empty",
        ),
        ({**WG, "mycelium": {"hex_key": "00" * 32}}, None),
        ({**WG, "mycelium": {"hex_key": ""}}, "invalid mycelium key length, expected 32"),
        (WG, None),
    ],
)
def test_network(data: dict[str, Any], error: str | None) -> None:
    assert error_of(w("n", "network", data)) == error


def test_network_light() -> None:
    key = {"hex_key": "ab" * 32, "peers": []}
    assert error_of(w("n", "network-light", {"subnet": "10.1.1.0/24", "mycelium": key})) is None
    assert error_of(w("n", "network-light", {"mycelium": key})) == (
        "network resource subnet cannot empty"
    )
    assert error_of(
        w(
            "n",
            "network-light",
            {"subnet": "10.1.1.0/24", "mycelium": {**key, "peers": ["tcp://1.1.1.1:9651"]}},
        )
    ) == ("user defined peers list is not supported right now")


def test_network_light_variants_differ_only_for_light() -> None:
    light = deployment(w("n", "network-light", {**WG, "mycelium": {"hex_key": "ab" * 32}}))
    assert light.challenge() != light.challenge(variant="legacy")
    assert b"10.1.1.0/24" + b"ab" * 32 in light.challenge(variant="legacy")
    full = deployment(w("n", "network", WG), w("d", "zmount", {"size": 1}))
    assert full.challenge() == full.challenge(variant="legacy")


def vm(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(VM))
    for key, value in changes.items():
        data[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (vm(), None),
        (
            vm(network={"interfaces": []}),
            "only one network private network is supported at the moment",
        ),
        (vm(compute_capacity={"cpu": 1, "memory": 250 * MiB}), None),
        (
            vm(compute_capacity={"cpu": 1, "memory": 250 * MiB - 1}),
            "mem capacity can't be less that 250M",
        ),
        (vm(size=500 * MiB), None),
        (vm(size=500 * MiB - 1), "disk size can't be less that 524288000. Set to 0 for minimum"),
        (
            vm(network={"interfaces": [{"network": "pub", "ip": "10.1.1.2"}]}),
            "'pub' is reserved network name",
        ),
        (
            vm(network={"interfaces": [{"network": "mycelium", "ip": "10.1.1.2"}]}),
            "'mycelium' is reserved network name",
        ),
        (
            vm(
                network={
                    "interfaces": [{"network": "n", "ip": "10.1.1.2"}],
                    "mycelium": {"network": "n", "hex_seed": "00" * 6},
                }
            ),
            None,
        ),
    ],
)
def test_zmachine(data: dict[str, Any], error: str | None) -> None:
    assert error_of(w("vm", "zmachine", data)) == error
    assert error_of(w("vm", "zmachine-light", data)) == error


def test_mycelium_network_key_accepts_go_spelling() -> None:
    data = vm(
        network={
            "interfaces": [{"network": "n", "ip": "10.1.1.2"}],
            "mycelium": {"Network": "n", "hex_seed": "00" * 6},
        }
    )
    d = deployment(w("vm", "zmachine", data))
    assert b"n000000000000" in d.challenge()
    assert '"network":"n"' in d.workloads[0].workload_data().model_dump_json()


def test_public_ip_rules() -> None:
    ip = w("pip", "ip", {"v4": True})
    with_ip = vm(network={**VM["network"], "public_ip": "pip"})
    assert error_of(ip, w("vm", "zmachine", with_ip)) is None
    assert error_of(w("vm", "zmachine", with_ip)) == "public ip is not found"
    # zmachine-light has no public_ip field: the key is ignored.
    assert error_of(w("vm", "zmachine-light", with_ip)) is None


def test_min_root_size() -> None:
    assert min_root_size(1, 8 * GiB - 1) == 500 * MiB
    assert min_root_size(1, 8 * GiB) == 2 * GiB
    assert min_root_size(2, 4 * GiB) == 2 * GiB
    assert min_root_size(2, 2**63) == 500 * MiB  # u64 arithmetic wraps, as in Go


def test_capacities() -> None:
    d = deployment(
        w("d", "zmount", {"size": 3}),
        w("v", "volume", {"size": 4}),
        w("z", "zdb", {"size": 5, "mode": "seq"}),
        w("i", "ip", {"v4": False, "v6": True}),
        w("i4", "ipv4", {}),
        w("q", "qsfs", {"cache": 7}),
        w("vm", "zmachine", vm(size=3 * GiB, compute_capacity={"cpu": 3, "memory": GiB})),
        w("g", "gateway-name-proxy", {"name": "a", "backends": ["http://1.1.1.1"]}),
        w("n", "network", WG),
    )
    assert d.capacity() == Capacity(cru=4, sru=3 + 4 + 7 + 3 * GiB, hru=5, mru=2 * GiB, ipv4u=1)
    assert Capacity(cru=1) + Capacity(sru=2) == Capacity(cru=1, sru=2)
    assert Capacity().is_zero()


def test_zdb_modes_and_qsfs() -> None:
    assert error_of(w("z", "zdb", {"size": 1, "mode": "user"})) is None
    assert error_of(w("z", "zdb", {"size": 0, "mode": "fast"})) == "invalid size"
    qsfs = {"cache": 1, "config": {"minimal_shards": 4, "expected_shards": 4}}
    assert error_of(w("q", "qsfs", qsfs)) is None


@pytest.mark.parametrize(
    ("backend", "tls", "reason"),
    [
        ("http://1.2.3.4", False, None),
        ("http://1.2.3.4:8080/path?q=1", False, None),
        ("http://[2a02:1802:5e::1]:80", False, None),
        ("http://[::1]:80", False, "invalid ip address in backend: ::1"),
        ("http://example.com", False, "invalid ip address in backend: example.com"),
        ("ftp://1.2.3.4", False, "scheme expected to be http"),
        (
            "1.2.3.4:80",
            False,
            'failed to parse backend with error: parse "1.2.3.4:80": first path segment in URL '
            "cannot contain colon",
        ),
        (
            "http://1.2.3.4:abc",
            False,
            'failed to parse backend with error: parse "http://1.2.3.4:abc": invalid port ":abc" '
            "after host",
        ),
        (
            "http://[::1",
            False,
            "failed to parse backend with error: parse \"http://[::1\": missing ']' in host",
        ),
        ("1.2.3.4:443", True, None),
        ("[2a02::1]:443", True, None),
        (
            "1.2.3.4",
            True,
            "failed to parse backend 1.2.3.4 with error: failed to parse backend "
            "1.2.3.4 with error: address 1.2.3.4: missing port in address",
        ),
        ("example.com:443", True, "failed to parse backend example.com:443 with error: invalid ip"),
        (
            "1.2.3.4:http",
            True,
            "failed to parse backend 1.2.3.4:http with error: invalid port in backend: http",
        ),
        (
            "1.2.3.4:70000",
            True,
            "failed to parse backend 1.2.3.4:70000 with error: port '70000' must be <= 65535",
        ),
    ],
)
def test_gateway_backends(backend: str, tls: bool, reason: str | None) -> None:
    assert backend_error(backend, tls) == reason
    d = deployment(
        w(
            "g",
            "gateway-fqdn-proxy",
            {"fqdn": "a.example.com", "tls_passthrough": tls, "backends": [backend]},
        )
    )
    if reason is None:
        d.valid()
    else:
        with pytest.raises(ValidationError) as e:
            d.valid()
        assert str(e.value) == f"failed to validate backend '{backend}': {reason}"


def test_gateway_names() -> None:
    ok = {"backends": ["http://1.2.3.4"]}
    assert error_of(w("g", "gateway-name-proxy", {**ok, "name": "my-app_1"})) is None
    assert error_of(w("g", "gateway-name-proxy", {**ok, "name": ""})) == "name  is invalid"
    assert error_of(w("g", "gateway-fqdn-proxy", {**ok, "fqdn": "a.b.cd"})) is None
    assert (
        error_of(w("g", "gateway-fqdn-proxy", {**ok, "fqdn": "a.b.c"})) == "fqdn a.b.c is invalid"
    )
    assert error_of(w("g", "gateway-fqdn-proxy", {**ok, "fqdn": "a.b.c\n"})) == (
        "fqdn a.b.c\n is invalid"
    )
    with_network = deployment(w("g", "gateway-name-proxy", {**ok, "name": "a", "network": "n"}))
    assert with_network.challenge().endswith(b"ggateway-name-proxyafalsehttp://1.2.3.4n0")


def test_zlogs() -> None:
    machine = w("vm", "zmachine", VM)
    assert (
        error_of(machine, w("l", "zlogs", {"zmachine": "vm", "output": "wss://1.2.3.4/x"})) is None
    )
    assert error_of(machine, w("l", "zlogs", {"zmachine": "vm", "output": "http://1.2.3.4"})) == (
        "invalid output schema 'http' not supported"
    )
    assert error_of(machine, w("l", "zlogs", {"zmachine": "vm", "output": "redis://h:x"})) == (
        'invalid url supplied in output: parse "redis://h:x": invalid port ":x" after host'
    )


def test_ids() -> None:
    assert workload_id(42, 1001, "vm1") == "42-1001-vm1"
    assert parse_workload_id("42-1001-my_vm") == (42, 1001, "my_vm")
    assert workload_id_path("42-1001-vm1") == "42/1001/vm1"
    with pytest.raises(ValidationError):
        parse_workload_id("42-vm")
    assert is_sharable("network") and is_sharable("network-light") and not is_sharable("zmount")


def test_workload_helpers() -> None:
    workload = Workload.new("disk", ZMount(size=GiB), version=2, description="d")
    assert workload.type == "zmount" and workload.version == 2
    assert workload.challenge() == b"2diskzmountd1073741824"
    assert workload.capacity() == Capacity(sru=GiB)
    bad = Workload(name="x", type="kubernetes", data={})
    with pytest.raises(ValidationError, match="invalid reservation type 'kubernetes'"):
        bad.challenge()


def test_keyword_construction_errors_are_validation_errors() -> None:
    with pytest.raises(ValidationError, match="size"):
        ZMount(size=-1)
    with pytest.raises(ValidationError, match="size"):
        ZMount(size=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="data"):
        Workload(name="x", type="zmount", data="{not json")
