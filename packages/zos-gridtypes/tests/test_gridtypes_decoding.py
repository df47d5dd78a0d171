"""JSON decoding and encoding the way the Go node does it (spec section 1)."""

from __future__ import annotations

import json

import pytest

from zos_gridtypes import (
    IP,
    Deployment,
    IPNet,
    Network,
    PublicIPResult,
    Result,
    ValidationError,
    Workload,
    ZMachine,
    ZMachineResult,
    ZMount,
)


def dep(doc: object) -> Deployment:
    return Deployment.model_validate_json(json.dumps(doc))


def data_of(workload_type: str, data: object) -> object:
    d = dep({"workloads": [{"name": "w", "type": workload_type, "data": data}]})
    return d.workloads[0].workload_data()


def test_keys_match_exactly_or_case_insensitively() -> None:
    d = dep({"Version": 3, "TWIN_ID": 42, "Workloads": [{"NAME": "a", "Type": "zmount"}]})
    assert (d.version, d.twin_id) == (3, 42)
    assert d.workloads[0].name == "a" and d.workloads[0].type == "zmount"
    # Go folds the Kelvin sign and the long s like k and s.
    assert dep({"de\u017fcription": "x"}).description == "x"


def test_unknown_keys_are_ignored() -> None:
    d = dep({"__type": "Deployment", "node_id": 9, "twin_id": 1, "extra": {"deep": [1, 2.5]}})
    assert d.twin_id == 1


def test_the_last_duplicate_wins_and_objects_merge() -> None:
    raw = '{"twin_id": 1, "Twin_Id": 2, "signature_requirement": {"weight_required": 3},'
    raw += ' "signature_requirement": {"signature_style": "polka-wallet"}}'
    d = Deployment.model_validate_json(raw)
    assert d.twin_id == 2
    assert d.signature_requirement.weight_required == 3
    assert d.signature_requirement.signature_style == "polka-wallet"


def test_null_leaves_the_zero_value_and_absent_keys_are_zero() -> None:
    d = dep({"version": None, "metadata": None, "workloads": None, "signature_requirement": None})
    assert (d.version, d.metadata, d.workloads) == (0, "", [])
    assert d.signature_requirement.requests == []
    net = data_of("network", {"mycelium": None, "peers": None})
    assert isinstance(net, Network) and net.mycelium is None and net.peers == []
    assert not net.ip_range and net.ip_range.challenge_text() == "<nil>"


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"version": 1.5}, "cannot unmarshal number 1.5 into Go struct field Deployment.version"),
        ({"version": 1e3}, "Deployment.version of type uint32"),
        ({"version": -1}, "number -1 into Go struct field Deployment.version"),
        ({"version": 2**32}, f"number {2**32} into Go struct field Deployment.version"),
        ({"contract_id": 2**64}, "Deployment.contract_id of type uint64"),
        ({"version": "1"}, "cannot unmarshal string into Go struct field Deployment.version"),
        ({"version": True}, "cannot unmarshal bool into Go struct field Deployment.version"),
        ({"metadata": 5}, "cannot unmarshal number into Go struct field Deployment.metadata"),
        ({"workloads": {}}, "cannot unmarshal object into Go struct field Deployment.workloads"),
        ({"workloads": [1]}, "Deployment.workloads of type gridtypes.Workload"),
        (
            {"signature_requirement": {"requests": [{"required": "yes"}]}},
            "SignatureRequest.signature_requirement.requests.required of type bool",
        ),
        ({"expiration": 1.5}, "unknown timestamp format"),
        ({"expiration": "yesterday"}, "unknown timestamp format"),
    ],
)
def test_wrong_types_and_ranges_are_errors(doc: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError) as e:
        dep(doc)
    assert problem in str(e.value)


def test_contract_id_takes_the_full_u64_range() -> None:
    assert dep({"contract_id": 2**64 - 1}).contract_id == 2**64 - 1


def test_timestamps_are_integers_or_rfc3339() -> None:
    assert dep({"expiration": -5}).expiration == -5
    assert dep({"expiration": "2024-01-01T00:00:00Z"}).expiration == 1704067200
    assert dep({"expiration": "2024-01-01T02:00:00.5+02:00"}).expiration == 1704067200
    assert b"0-5" in dep({"expiration": -5}).challenge()


def test_data_decoding_errors_name_the_go_type_and_field() -> None:
    d = dep(
        {
            "workloads": [
                {"name": "vm", "type": "zmachine", "data": {"compute_capacity": {"cpu": 256}}}
            ]
        }
    )
    with pytest.raises(ValidationError) as e:
        d.valid()
    message = str(e.value)
    assert message.startswith("failed to load data into object of type '*zos.ZMachine': ")
    assert "compute_capacity.cpu" in message and "uint8" in message and "256" in message
    with pytest.raises(ValidationError) as e:
        d.challenge()
    assert str(e.value) == message


@pytest.mark.parametrize(
    ("workload_type", "go_type"),
    [
        ("zmount", "ZMount"),
        ("volume", "Volume"),
        ("zdb", "ZDB"),
        ("network", "Network"),
        ("network-light", "NetworkLight"),
        ("ip", "PublicIP"),
        ("ipv4", "PublicIP4"),
        ("zmachine", "ZMachine"),
        ("zmachine-light", "ZMachineLight"),
        ("gateway-name-proxy", "GatewayNameProxy"),
        ("gateway-fqdn-proxy", "GatewayFQDNProxy"),
        ("zlogs", "ZLogs"),
        ("qsfs", "QuantumSafeFS"),
    ],
)
def test_each_type_names_its_go_type(workload_type: str, go_type: str) -> None:
    d = dep({"workloads": [{"name": "w", "type": workload_type, "data": "not an object"}]})
    with pytest.raises(ValidationError) as e:
        d.valid()
    assert str(e.value).startswith(f"failed to load data into object of type '*zos.{go_type}': ")


def test_missing_data_is_an_error_of_the_data_decoder() -> None:
    d = dep({"workloads": [{"name": "w", "type": "zmount"}]})
    with pytest.raises(ValidationError) as e:
        d.valid()
    assert str(e.value) == (
        "failed to load data into object of type '*zos.ZMount': unexpected end of JSON input"
    )


def test_hex_fields() -> None:
    net = data_of("network", {"mycelium": {"hex_key": "ABcd", "peers": []}})
    assert isinstance(net, Network) and net.mycelium is not None
    assert net.mycelium.hex_key == b"\xab\xcd"
    assert b"abcd" in net.challenge()
    with pytest.raises(ValidationError, match="odd length hex string"):
        data_of("network", {"mycelium": {"hex_key": "abc"}})
    with pytest.raises(ValidationError, match="invalid byte: U\\+0067 'g'"):
        data_of("network", {"mycelium": {"hex_key": "zg"[1:] + "0"}})


def test_cidr_keeps_the_host_part_and_canonicalises() -> None:
    assert IPNet.parse("10.1.2.5/24").challenge_text() == "10.1.2.5/24"
    assert IPNet.parse("10.1.2.5/024").challenge_text() == "10.1.2.5/24"  # Go's dtoi
    assert IPNet.parse("10.1.2.5/0").challenge_text() == "10.1.2.5/0"
    assert IPNet.parse("2A02:1802:5E:0:0:0:0:0/64").challenge_text() == "2a02:1802:5e::/64"
    assert IPNet.parse("::ffff:10.0.0.1/120").challenge_text() == "10.0.0.1/24"
    assert str(IPNet.parse("")) == "" and IPNet.parse("").challenge_text() == "<nil>"
    for bad in ("10.0.0.0", "10.0.0.0/33", "10.0.0.0/", "010.0.0.0/8", "1::1%eth0/64", "x/8"):
        with pytest.raises(ValueError, match="invalid CIDR address"):
            IPNet.parse(bad)
    with pytest.raises(ValidationError, match=r"invalid CIDR address: 10\.0\.0\.0/33"):
        data_of("network", {"subnet": "10.0.0.0/33"})


def test_ip_text_is_go_canonical() -> None:
    assert IP.parse("2001:DB8:0:0:0:0:0:0001").challenge_text() == "2001:db8::1"
    assert IP.parse("::ffff:1.2.3.4").challenge_text() == "1.2.3.4"
    assert IP.parse("1:0:0:1:0:0:0:1").challenge_text() == "1:0:0:1::1"
    assert IP.parse("1:0:1:0:1:0:1:0").challenge_text() == "1:0:1:0:1:0:1:0"
    assert IP.parse("").challenge_text() == "<nil>"
    for bad in ("fe80::1%eth0", "01.2.3.4", "1.2.3", "::1::", "1.2.3.256", "[::1]"):
        with pytest.raises(ValueError, match="invalid IP address"):
            IP.parse(bad)


def test_data_is_kept_raw_and_echoed() -> None:
    data_text = '{ "size" : 1024 ,"future_field":[1, 2.50, {"a":null}], "size": 2048 }'
    raw = '{"workloads":[{"name":"d","type":"zmount","data":' + data_text + "}]}"
    d = Deployment.model_validate_json(raw)
    workload = d.workloads[0]
    data = workload.workload_data()
    assert isinstance(data, ZMount) and data.size == 2048
    assert workload.data.text == data_text
    assert data_text in d.model_dump_json()
    again = Deployment.model_validate_json(d.model_dump_json())
    assert again.workloads[0].data.text == data_text
    assert again.challenge_hash() == d.challenge_hash()


def test_encoding_matches_the_node() -> None:
    d = dep({"twin_id": 1, "workloads": [{"name": "n", "type": "network", "data": {}}]})
    out = json.loads(d.model_dump_json())
    assert out["workloads"][0]["result"] == {"created": 0, "state": "", "message": "", "data": None}
    net = d.workloads[0].workload_data()
    encoded = json.loads(net.model_dump_json())
    assert encoded["ip_range"] == "" and "mycelium" not in encoded


def test_results_decode_per_type() -> None:
    workload = Workload.model_validate_json(
        json.dumps(
            {
                "name": "vm",
                "type": "zmachine",
                "data": {},
                "result": {"created": 5, "state": "ok", "data": {"id": "x", "ygg_ip": "300::1"}},
            }
        )
    )
    result = workload.result_data()
    assert isinstance(result, ZMachineResult) and result.planetary_ip == "300::1"
    ip = Result.model_validate_json(
        '{"created":1,"state":"ok","data":{"ip":"185.1.1.5/24","gateway":"185.1.1.1"}}'
    ).unmarshal(PublicIPResult)
    assert isinstance(ip, PublicIPResult) and str(ip.ip) == "185.1.1.5/24"
    assert str(ip.gateway) == "185.1.1.1" and str(ip.ip6) == ""


def test_unpaired_surrogates_become_replacement_characters() -> None:
    d = Deployment.model_validate_json('{"description":"a\\ud800b"}')
    assert d.description == "a\ufffdb"
    assert "a\ufffdb".encode() in d.challenge()


def test_env_is_hashed_in_utf8_byte_order() -> None:
    vm = data_of("zmachine", {"env": {"b": "1", "\U0001f600": "2", "\uff21": "3", "B": "4"}})
    assert isinstance(vm, ZMachine)
    assert "B=4b=1\uff21=3\U0001f600=2".encode() in vm.challenge()


def test_model_validate_accepts_parsed_json() -> None:
    doc = {"twin_id": 7, "Workloads": [{"name": "d", "type": "zmount", "data": {"size": 5}}]}
    d = Deployment.model_validate(doc)
    assert d.challenge_hash() == dep(doc).challenge_hash()
    with pytest.raises(ValidationError):
        Deployment.model_validate({"twin_id": -1})


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"[1]", b'{"a":NaN}', b'{"a":1} x', b"\xef\xbb\xbf{}", b'{"a":"\x01"}', b"null x"],
)
def test_malformed_json_is_a_validation_error(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        Deployment.model_validate_json(raw)


def test_deep_nesting_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="nesting"):
        Deployment.model_validate_json(b'{"x":' + b"[" * 200_000 + b"]" * 200_000 + b"}")
