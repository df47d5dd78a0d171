"""Seed files of every upstream version; an unusable seed is never replaced."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mnemonic import Mnemonic

from zos_identity import KeyPair, NodeIdentityManager
from zos_identity.api import SeedError
from zos_identity.seed import (
    backup_path,
    load_or_create,
    read_seed,
    split_versioned,
    write_seed,
)

# Upstream's own test vectors (pkg/identity/store/keys_test.go).
SEED_100_B64 = "IjEuMC4wIkiwBpAxl8Xpc4fgQ4Wq3Is5ssEkObXDJANf7KoOw153"
MNEMONIC_110 = ("crop orient animal script safe inquiry neglect tumble maple board degree you "
                "intact busy birth west crack cabin lizard embark seed adjust around talk")


def test_version_1_0_0(tmp_path: Path) -> None:
    path = tmp_path / "seed.txt"
    raw = base64.b64decode(SEED_100_B64)
    path.write_bytes(raw)
    loaded = read_seed(path)
    assert loaded.version == "1.0.0" and loaded.seed == raw[len('"1.0.0"'):]
    assert not loaded.migrated and path.read_bytes() == raw


def test_version_1_1_0_mnemonic(tmp_path: Path) -> None:
    path = tmp_path / "seed.txt"
    content = '"1.1.0"{"mnemonic":"' + MNEMONIC_110 + '"}'
    path.write_text(content)
    loaded = read_seed(path)
    assert loaded.version == "1.1.0"
    assert loaded.seed == bytes(Mnemonic("english").to_entropy(MNEMONIC_110))
    assert path.read_text() == content  # a current format is left alone


def test_legacy_unversioned_is_rewritten_as_1_0_0(tmp_path: Path) -> None:
    path = tmp_path / "seed.txt"
    seed = bytes(range(1, 33))
    path.write_bytes(seed)
    loaded = read_seed(path)
    assert loaded.seed == seed and loaded.version == "0.0.0" and loaded.migrated
    assert path.read_bytes() == b'"1.0.0"' + seed
    assert read_seed(path).seed == seed


def test_upstream_broken_migration_is_read(tmp_path: Path) -> None:
    # upstream rewrote legacy seeds as "1.1.0" + raw bytes, which it then could not read
    path = tmp_path / "seed.txt"
    seed = bytes(range(100, 132))
    path.write_bytes(b'"1.1.0"' + seed)
    loaded = read_seed(path)
    assert loaded.seed == seed and loaded.migrated
    assert path.read_bytes() == b'"1.0.0"' + seed


@pytest.mark.parametrize(("content", "message"), [
    (b'"1.0.0"' + b"\x01" * 31, "holds 31 bytes"),
    (b'"2.0.0"' + b"\x01" * 32, "unknown version '2.0.0'"),
    (b'"1.1.0"{"words": "x"}', 'no "mnemonic"'),
    (b'"1.1.0"{"mnemonic": "not valid words"}', "invalid mnemonic"),
    (b'"1.1.0"{"mnemonic": "' + b" ".join([b"abandon"] * 11) + b' about"}', "24 words"),
    (b"", "no version header and holds 0 bytes"),
    (b"garbage that is not a seed", "no version header"),
])
def test_unreadable_seed_is_an_error_and_kept(tmp_path: Path, content: bytes,
                                              message: str) -> None:
    path = tmp_path / "seed.txt"
    path.write_bytes(content)
    with pytest.raises(SeedError, match=message):
        load_or_create(path)
    assert path.read_bytes() == content  # never deleted, never replaced
    assert not backup_path(path).exists()


def test_identity_survives_restart_and_backup(tmp_path: Path) -> None:
    path = tmp_path / "identityd" / "seed.txt"
    first = NodeIdentityManager.from_seed_file(path, farm_id=1)
    assert path.read_bytes().startswith(b'"1.0.0"') and len(path.read_bytes()) == 39
    assert path.stat().st_mode & 0o777 == 0o400
    again = NodeIdentityManager.from_seed_file(path, farm_id=1)
    assert again.node_id() == first.node_id() and again.address() == first.address()
    assert backup_path(path).read_bytes() == path.read_bytes()
    # corrupt the seed: identityd refuses and points at the backup
    path.chmod(0o600)
    path.write_bytes(b'"1.0.0"short')
    with pytest.raises(SeedError, match="backup of the last good seed"):
        NodeIdentityManager.from_seed_file(path)
    # a missing seed with a backup beside it is not silently a new identity either
    path.unlink()
    with pytest.raises(SeedError, match="refusing to create a new identity"):
        NodeIdentityManager.from_seed_file(path)
    backup_path(path).rename(path)
    assert NodeIdentityManager.from_seed_file(path).node_id() == first.node_id()


def test_split_versioned() -> None:
    assert split_versioned(b'"1.0.0"abc') == ("1.0.0", b"abc")
    assert split_versioned(b' \n"1.1.0"{}') == ("1.1.0", b"{}")
    assert split_versioned(b'"v1.2.3-rc1"x') == ("1.2.3-rc1", b"x")
    assert split_versioned(b'"hello"x') is None
    assert split_versioned(b"123") is None
    assert split_versioned(b'"1.0.0') is None


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.one_of(
    st.binary(max_size=80),
    st.builds(lambda v, p: b'"' + v.encode() + b'"' + p,
              st.sampled_from(["1.0.0", "1.1.0", "0.0.1", "x"]), st.binary(max_size=64)),
))
def test_any_content_reads_or_fails_cleanly(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fuzz-seed.txt"
    path.unlink(missing_ok=True)
    path.write_bytes(content)
    try:
        loaded = read_seed(path)
    except SeedError:
        return
    assert len(loaded.seed) == 32
    KeyPair(loaded.seed)


def test_write_seed_rejects_wrong_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_seed(tmp_path / "s", b"x")
