"""The chain CLI drives contracts through their lifecycle."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from zos_chain import ChainServer, DevChain
from zos_chain.cli import main, register
from zos_chain.devnode import default_state_dir
from zos_chain.service import dev_node_url
from zos_gridtypes import KeyPair

# BIP39 test vector: all-zero entropy.
ZERO_MNEMONIC = ("abandon abandon abandon abandon abandon abandon abandon abandon abandon "
                 "abandon abandon about")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_lifecycle_via_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chain = DevChain(tmp_path / "chain.sqlite")
    with ChainServer(chain) as server:
        url = ["--url", server.url]
        out = run(capsys, "twin", "create", "--mnemonic", ZERO_MNEMONIC, *url)
        sr = KeyPair.from_mnemonic(ZERO_MNEMONIC, "sr25519")
        assert out.strip() == f"twin 1 account {sr.ss58_address()}"
        assert chain.list_twins()[0].key_type == "sr25519"
        run(capsys, "twin", "create", "--key", "cd" * 32, "--relay", "relay.dev", *url)
        out = run(capsys, "twin", "create", "--generate", *url)
        assert "mnemonic: " in out and "twin 3" in out
        assert "farm 1" in run(capsys, "farm", "create", "--twin", "1", "--name", "f",
                               "--ip", "185.0.0.10/24,185.0.0.1", *url)
        # a node registered by its own key
        from zos_chain import ChainGateway
        from zos_chain.api import Node

        node = ChainGateway(chain, bytes.fromhex("cd" * 32)).create_node(
            Node(farm_id=1, twin_id=2))
        hash_ = "0123456789abcdef0123456789abcdef"
        out = run(capsys, "contract", "create", "--twin", "1", "--node", str(node),
                  "--hash", hash_, "--public-ips", "1", *url)
        assert out.strip() == "contract 1"
        run(capsys, "contract", "grace-start", "1", *url)
        assert chain.get_contract(1).state.is_grace_period
        run(capsys, "contract", "grace-end", "1", *url)
        run(capsys, "contract", "update", "1", "--hash", "f" * 32, *url)
        run(capsys, "contract", "name", "--twin", "1", "gw1", *url)
        run(capsys, "contract", "rent", "--twin", "3", "--node", str(node), *url)
        run(capsys, "node", "public-config", str(node), "--ip4", "185.0.0.9/24", "--gw4",
            "185.0.0.1", *url)
        run(capsys, "node", "power-target", str(node), "down", *url)
        run(capsys, "twin", "kyc", "1", *url)
        run(capsys, "contract", "cancel", "1", *url)
        assert chain.get_contract(1).state.is_deleted
        listing = run(capsys, "list", *url)
        assert "twins (3):" in listing and "contracts (3):" in listing
        assert "1: twin=1 deleted node" in listing
        events = json.loads(run(capsys, "list", "events", "--json", *url))["events"]
        assert [e["kind"] for e in events] == [
            "ContractGracePeriodStarted", "ContractGracePeriodEnded", "NodePublicConfigStored",
            "PowerTargetChanged", "NodeContractCanceled"]
        # errors are reported, not raised
        assert main(["contract", "cancel", "1", *url]) == 1
        assert "already deleted" in capsys.readouterr().err
        assert main(["twin", "create", "--key", "cd" * 32, *url]) == 1
        assert "already exists" in capsys.readouterr().err
    chain.close()


def test_db_mode_and_zos_registration(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "chain.sqlite")
    run(capsys, "twin", "create", "--key", "ab" * 32, "--db", db)
    assert "twins (1):" in run(capsys, "list", "twins", "--db", db)
    parser = argparse.ArgumentParser(prog="zos")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["chain", "list", "twins", "--db", db])
    assert args.func(args) == 0
    assert "twins (1):" in capsys.readouterr().out


def test_twin_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "chain.sqlite")
    out = run(capsys, "twin", "create", "--mnemonic", ZERO_MNEMONIC, "--key-type", "ed25519",
              "--db", db)
    ed = KeyPair.from_mnemonic(ZERO_MNEMONIC, "ed25519")
    assert out.strip() == f"twin 1 account {ed.ss58_address()}"
    with pytest.raises(SystemExit, match="--mnemonic"):
        main(["twin", "create", "--mnemonic", "not a mnemonic at all", "--db", db])
    with pytest.raises(SystemExit, match="32-byte"):
        main(["twin", "create", "--key", "abcd", "--db", db])


def zos_chain(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="zos")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["chain", *argv])
    status: int = args.func(args)
    return status


def test_state_finds_the_dev_node_chain(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`zos chain list --state DIR` reaches the chain service of the node at DIR."""
    for name in ("ZOS_CHAIN_URL", "ZOS_CHAIN_DB", "ZOS_STATE"):
        monkeypatch.delenv(name, raising=False)
    state = tmp_path / "node"
    (state / "run").mkdir(parents=True)
    chain = DevChain(tmp_path / "chain.sqlite")
    chain.create_twin(bytes.fromhex("ab" * 32))
    listen = dev_node_url(state).removeprefix("http://")
    with ChainServer(chain, listen):
        assert zos_chain("list", "twins", "--state", str(state)) == 0
        assert "twins (1):" in capsys.readouterr().out
        # the default state folder is $ZOS_STATE (the same rule as `zos node`)
        monkeypatch.setenv("ZOS_STATE", str(state))
        assert default_state_dir() == state
        assert zos_chain("list", "twins") == 0
        assert "twins (1):" in capsys.readouterr().out
        # an explicit --db still wins over the node
        assert zos_chain("list", "twins", "--db", str(tmp_path / "other.sqlite")) == 0
        assert "twins (0):" in capsys.readouterr().out
    chain.close()
    # the node is stopped: one line naming the folder and how to start it
    with pytest.raises(SystemExit) as info:
        zos_chain("list", "--state", str(state))
    message = str(info.value)
    assert f"the development node at {state} is not running" in message
    assert f"zos node up --state {state}" in message and "\n" not in message
    missing = tmp_path / "nowhere"
    pattern = f"no development node at {re.escape(str(missing))} .*zos node up"
    with pytest.raises(SystemExit, match=pattern):
        zos_chain("ping", "--state", str(missing))
