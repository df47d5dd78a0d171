"""identityd's manager object over zbus."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import zos_zbus as zbus
from zos_identity import KeyPair, NodeIdentityManager, verify
from zos_identity.api import GO_METHODS, MODULE, IdentityManager, SemVer, VersionMonitor
from zos_identity.service import IdentityService, VersionService


def test_interface_matches_upstream_names() -> None:
    spec = zbus.spec_of(IdentityManager)
    assert spec.module == "identityd" and str(spec.object) == "manager@0.0.1"
    assert {m.go_name: m.py_name for m in spec.methods.values()} == GO_METHODS


async def test_manager_over_zbus(tmp_path: Path, zbus_broker: str) -> None:
    manager = NodeIdentityManager.from_seed_file(tmp_path / "seed.txt", farm_id=3)
    server = zbus.Server(MODULE, zbus_broker)
    server.register(IdentityService(manager))
    server.register(VersionService("3.10.2-rc.1+abc", interval=0.05))
    task = asyncio.create_task(server.run())
    try:
        async with zbus.Client(zbus_broker, timeout=10) as bus:
            identity = bus.stub(IdentityManager)
            assert await identity.node_id() == manager.node_id()
            assert await identity.address() == manager.address()
            assert await identity.farm_id() == 3
            assert await identity.store_kind() == "file"
            signature = await identity.sign(b"payload")
            verify(manager.keys.public_key, b"payload", signature)
            await identity.verify(b"payload", signature)
            with pytest.raises(zbus.RemoteCallError, match="invalid signature"):
                await identity.verify(b"other", signature)
            assert await identity.decrypt(await identity.encrypt(b"s")) == b"s"
            peer = KeyPair(bytes(range(32)))
            sealed = await identity.encrypt_ecdh(b"hi", peer.public_key)
            assert peer.decrypt_ecdh(sealed, manager.keys.public_key) == b"hi"
            back = peer.encrypt_ecdh(b"yo", manager.keys.public_key)
            assert await identity.decrypt_ecdh(back, peer.public_key) == b"yo"
            assert len(await identity.private_key()) == 64
            with pytest.raises(zbus.RemoteCallError, match="no chain"):
                await identity.farm()
            version = await bus.stub(VersionMonitor).get_version()
            assert str(version) == "3.10.2-rc.1+abc" and version.Minor == 10
            async with bus.subscribe(VersionMonitor.version) as versions:
                assert await asyncio.wait_for(anext(versions), 10) == version
    finally:
        server.stop()
        await task


def test_semver() -> None:
    assert str(SemVer.parse("v1.2.3")) == "1.2.3"
    parsed = SemVer.parse("1.0.0-alpha.1+b.7")
    assert [p.IsNum for p in parsed.Pre] == [False, True] and parsed.Build == ["b", "7"]
    with pytest.raises(ValueError, match="semantic version"):
        SemVer.parse("1.2")
