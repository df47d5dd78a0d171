"""The ``zos-gridtypes`` command and the example deployments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from zos_gridtypes import Deployment, KeyPair
from zos_gridtypes.cli import main

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SEED = "1284e9694936fbe13223b71aee065182beac25f83dd1a33935c367c5626f61b7"
PUBLIC = KeyPair.from_seed(bytes.fromhex(SEED)).public_key.hex()


def test_examples_are_valid_deployments() -> None:
    files = sorted(EXAMPLES.glob("*.json"))
    assert any(f.name == "vm-disk-network.json" for f in files)
    for path in files:
        d = Deployment.model_validate_json(path.read_bytes())
        d.valid()
        types = {w.type for w in d.workloads}
        if path.name == "vm-disk-network.json":
            assert {"network", "zmount", "zmachine"} <= types


def test_hash_validate_sign_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = EXAMPLES / "vm-disk-network.json"
    expected = Deployment.model_validate_json(example.read_bytes()).challenge_hash().hex()

    assert main(["hash", str(example)]) == 0
    assert capsys.readouterr().out.strip() == expected
    assert main(["hash", "--challenge", str(example)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == expected

    assert main(["validate", str(example)]) == 0
    assert capsys.readouterr().out.strip() == "valid"

    signed = tmp_path / "signed.json"
    assert main(["sign", str(example), "--twin", "42", "--seed", SEED, "-o", str(signed)]) == 0
    assert capsys.readouterr().err.strip() == expected

    assert main(["verify", str(signed), "--key", f"42={PUBLIC}"]) == 0
    assert capsys.readouterr().out.strip() == "verified"

    assert main(["verify", str(signed), "--key", f"42={'00' * 32}"]) == 1
    assert "failed to verify signature" in capsys.readouterr().err
    assert main(["verify", str(example), "--key", f"42={PUBLIC}"]) == 1
    assert "missing required signature for twin '42'" in capsys.readouterr().err
    assert main(["verify", str(signed)]) == 1
    assert "failed to get public key for twin '42'" in capsys.readouterr().err


def test_sign_with_mnemonic_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    words = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
    monkeypatch.setenv("ZOS_MNEMONIC", words)
    target = tmp_path / "d.json"
    target.write_bytes((EXAMPLES / "zdb.json").read_bytes())
    assert main(["sign", str(target), "--twin", "42", "--key-type", "sr25519", "--in-place"]) == 0
    key = KeyPair.from_mnemonic(words, "sr25519").public_key.hex()
    assert main(["verify", str(target), "--key", f"42={key}"]) == 0
    capsys.readouterr()


def test_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"workloads":[{"name":"x","type":"zmount","data":{"size":0}}]}')
    assert main(["validate", str(bad)]) == 1
    assert capsys.readouterr().err.strip() == "error: invalid size"
    assert main(["hash", str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().err
    bad.write_text("{")
    assert main(["hash", str(bad)]) == 1
    assert "invalid JSON" in capsys.readouterr().err
    assert main(["sign", str(EXAMPLES / "zdb.json"), "--twin", "1"]) == 1
    assert "a key is needed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["frobnicate"])


def test_schema_covers_every_type(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "Deployment" in schema and "workload:zmachine" in schema
    assert len([k for k in schema if k.startswith("workload:")]) == 13
    assert "result" in schema["workload:zdb"]


def test_console_script_reads_stdin() -> None:
    example = (EXAMPLES / "zdb.json").read_bytes()
    out = subprocess.run(
        [sys.executable, "-m", "zos_gridtypes.cli", "hash", "-"],
        input=example,
        capture_output=True,
        check=True,
    )
    assert (
        out.stdout.decode().strip() == Deployment.model_validate_json(example).challenge_hash_hex()
    )
