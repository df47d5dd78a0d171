"""The development-node module: loop-file disks in the state dir, removed exactly."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from pathlib import Path

from zos_cli.node_modules import ENTRY_POINT_GROUP, NodeContext, NodeModule
from zos_storage import loopdisk
from zos_storaged.node import StoragedModule


def test_registered_under_the_node_modules_group() -> None:
    (found,) = [e for e in entry_points(group=ENTRY_POINT_GROUP) if e.name == "storaged"]
    module = found.load()
    assert isinstance(module, NodeModule)
    assert module.name == "storaged" and module.order == 20


def test_prepare_services_cleanup(tmp_path: Path) -> None:
    ctx = NodeContext(state_dir=tmp_path, broker="unix:///x/redis.sock", python=sys.executable)
    module = StoragedModule()
    try:
        module.prepare(ctx)
        module.prepare(ctx)  # idempotent: the same devices
        disks = module.disks(ctx)
        assert [d["type"] for d in disks] == ["ssd", "ssd", "hdd"]
        for disk in disks:
            file = Path(disk["file"])
            assert file.parent == tmp_path / "disks" and ctx.tag in file.name
            assert file.stat().st_blocks == 0  # sparse
            assert loopdisk.devices_of(file) == [disk["device"]]
        service = module.services(ctx)["storaged"]
        for disk in disks:
            assert f"--disk {disk['device']}={disk['type']}" in service["exec"]
        assert "--broker unix:///x/redis.sock" in service["exec"]
        assert service["test"].startswith("mountpoint")
    finally:
        module.cleanup(ctx)
    for disk in disks:
        assert not Path(disk["file"]).exists()
        assert loopdisk.backing_file(disk["device"]) != Path(disk["file"])
    module.cleanup(ctx)  # idempotent, also without a manifest
