"""flistd's mount manager for real: hub over loopback, FUSE, bind and overlay mounts.

Volumes here are plain directories (DirectoryVolumes); the storaged-backed volumes go through
the same ``Volumes`` calls.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zos_flist.api import (
    DEFAULT_MOUNT_OPTIONS,
    READ_ONLY_MOUNT_OPTIONS,
    HashNotSupportedError,
    InvalidNameError,
    MountOptions,
    NotMountedError,
    UnsupportedFlistError,
)
from zos_flist.flistd import DirectoryVolumes, FlistManager
from zos_flist.hub import HubServer, publish
from zos_flist.mounts import list_mounts, mount_entry

pytestmark = pytest.mark.real


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubServer]:
    server = HubServer(tmp_path / "hub", "127.0.0.1", 0).start()
    yield server
    server.stop()


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[FlistManager]:
    mgr = FlistManager(tmp_path / "flistd", DirectoryVolumes(tmp_path / "volumes"))
    yield mgr
    # Remove every mount the test left under our root, deepest first.
    root = str(mgr.root) + "/"
    for entry in sorted(list_mounts(), key=lambda e: -len(e.target)):
        if entry.target.startswith(root):
            subprocess.run(["umount", "-l", entry.target], check=False)
    assert not [e for e in list_mounts() if e.target.startswith(root)]


def _published(hub: HubServer, tmp_path: Path, name: str, text: bytes) -> str:
    src = tmp_path / f"src-{name}"
    (src / "etc").mkdir(parents=True)
    (src / "etc" / "config").write_bytes(text)
    (src / "big").write_bytes(os.urandom(700_000))
    return publish(hub.layout.root, src, repo="tf", name=name, hub_url=hub.url).url


def _ro_mounts(mgr: FlistManager) -> list[str]:
    prefix = str(mgr.root / "ro") + "/"
    return [e.target for e in list_mounts()
            if e.target.startswith(prefix) and e.fstype == "fuse.g8ufs"]


def test_read_only_and_writable_mounts_share_one_flist_mount(
        manager: FlistManager, hub: HubServer, tmp_path: Path) -> None:
    url = _published(hub, tmp_path, "app", b"v1\n")
    md5 = hashlib.md5((hub.layout.public / "tf/app.fl").read_bytes()).hexdigest()
    ro_path = Path(manager.mount("reader", url, READ_ONLY_MOUNT_OPTIONS))
    assert ro_path == manager.root / "mountpoint" / "reader"
    assert (ro_path / "etc/config").read_bytes() == b"v1\n"
    assert manager.exists("reader") and not manager.exists("nobody")
    assert manager.mount("reader", url, READ_ONLY_MOUNT_OPTIONS) == str(ro_path)  # idempotent
    with pytest.raises(OSError):
        (ro_path / "new").write_bytes(b"x")

    rw_path = Path(manager.mount("writer", url, DEFAULT_MOUNT_OPTIONS))
    assert _ro_mounts(manager) == [str(manager.root / "ro" / md5)]  # shared by content
    (rw_path / "etc/config").write_bytes(b"changed\n")
    (rw_path / "new-file").write_bytes(b"new\n")
    volume = tmp_path / "volumes" / "writer"
    assert (volume / "rw/new-file").read_bytes() == b"new\n"  # writes land in the volume
    assert (volume / "rw/etc/config").read_bytes() == b"changed\n"
    assert (ro_path / "etc/config").read_bytes() == b"v1\n"
    entry = mount_entry(rw_path)
    assert entry is not None and entry.fstype == "overlay"

    assert manager.hash_from_root_path("reader") == md5
    assert manager.hash_from_root_path("writer") == md5
    assert manager.flist_hash(url) == md5
    assert manager.update_mount_size("writer", 512 * 1024 * 1024) == str(rw_path)

    manager.unmount("reader")
    assert not ro_path.exists()
    assert _ro_mounts(manager) == [str(manager.root / "ro" / md5)]  # still used by writer
    manager.unmount("writer")
    assert not rw_path.exists() and not volume.exists()  # volume deleted, as upstream
    assert _ro_mounts(manager) == []  # unused flist mount cleaned up
    manager.unmount("writer")  # a missing mount is not an error


def test_new_flist_version_gets_its_own_mount(manager: FlistManager, hub: HubServer,
                                              tmp_path: Path) -> None:
    v1 = _published(hub, tmp_path, "v1", b"one\n")
    v2 = _published(hub, tmp_path, "v2", b"two\n")
    a = Path(manager.mount("a", v1, READ_ONLY_MOUNT_OPTIONS))
    b = Path(manager.mount("b", v2, MountOptions(ReadOnly=True)))
    assert (a / "etc/config").read_bytes() == b"one\n"
    assert (b / "etc/config").read_bytes() == b"two\n"
    assert len(_ro_mounts(manager)) == 2
    assert manager.hash_from_root_path("a") != manager.hash_from_root_path("b")
    manager.unmount("a")
    manager.unmount("b")
    assert _ro_mounts(manager) == []


def test_persisted_volume_and_errors(manager: FlistManager, hub: HubServer,
                                     tmp_path: Path) -> None:
    url = _published(hub, tmp_path, "p", b"p\n")
    persisted = tmp_path / "persisted"
    persisted.mkdir()
    path = Path(manager.mount("vm", url, MountOptions(PersistedVolume=str(persisted))))
    (path / "data").write_bytes(b"kept")
    assert (persisted / "rw/data").read_bytes() == b"kept"
    manager.unmount("vm")
    assert (persisted / "rw/data").read_bytes() == b"kept"

    with pytest.raises(InvalidNameError):
        manager.mount("../escape", url, READ_ONLY_MOUNT_OPTIONS)
    with pytest.raises(UnsupportedFlistError, match="unsupported flist format"):
        manager.mount("old", hub.url + "/tf/old.flist", READ_ONLY_MOUNT_OPTIONS)
    with pytest.raises(UnsupportedFlistError, match="unknown extension"):
        manager.mount("odd", hub.url + "/tf/odd.tar", READ_ONLY_MOUNT_OPTIONS)
    with pytest.raises(HashNotSupportedError):
        manager.flist_hash(hub.url + "/tf/missing.fl")
    with pytest.raises(NotMountedError):
        manager.update_mount_size("nothing", 1)
    with pytest.raises(NotMountedError):
        manager.hash_from_root_path("nothing")
    assert not list((manager.root / "mountpoint").iterdir())


def test_dead_fuse_mount_is_remounted(manager: FlistManager, hub: HubServer,
                                      tmp_path: Path) -> None:
    url = _published(hub, tmp_path, "d", b"d\n")
    path = Path(manager.mount("d", url, READ_ONLY_MOUNT_OPTIONS))
    entry = mount_entry(path)
    assert entry is not None
    os.kill(int(entry.source), 9)  # the FUSE daemon dies: transport endpoint not connected


    deadline = time.monotonic() + 5
    while manager.exists("d") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not manager.exists("d")
    again = Path(manager.mount("d", url, READ_ONLY_MOUNT_OPTIONS))
    assert (again / "etc/config").read_bytes() == b"d\n"
    manager.unmount("d")


def test_failed_overlay_deletes_the_volume_it_created(
        manager: FlistManager, hub: HubServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import zos_flist.flistd as flistd_module

    url = _published(hub, tmp_path, "f", b"f\n")
    real_run = flistd_module._run

    def failing_overlay(args: list[str]) -> None:
        if "overlay" in args:
            raise flistd_module.FlistdError("mount: overlay refused (simulated)")
        real_run(args)

    monkeypatch.setattr(flistd_module, "_run", failing_overlay)
    with pytest.raises(flistd_module.FlistdError, match="simulated"):
        manager.mount("broken", url, DEFAULT_MOUNT_OPTIONS)
    assert not (tmp_path / "volumes" / "broken").exists()
    assert not (manager.root / "mountpoint" / "broken").exists()
    assert _ro_mounts(manager) == []  # the unused flist mount was cleaned up too
