"""The contract against the ZOS bus map (zbus spec §13) and upstream's Go types."""

from __future__ import annotations

import msgpack

import zos_zbus as zbus
from zos_storage.api import (
    BrokenPool,
    Device,
    DeviceType,
    PoolStats,
    StorageModule,
    Usage,
    VDisk,
    Volume,
)
from zos_storage.storage import Storage

# method -> number of arguments, from the storaged row of the bus map
BUS_MAP = {
    "Cache": 0, "Total": 1, "Devices": 0, "DeviceAllocate": 1, "DeviceLookup": 1,
    "BrokenPools": 0, "BrokenDevices": 0, "VolumeCreate": 2, "VolumeUpdate": 2,
    "VolumeDelete": 1, "VolumeExists": 1, "VolumeLookup": 1, "VolumeList": 0,
    "DiskCreate": 2, "DiskResize": 2, "DiskWrite": 2, "DiskFormat": 1, "DiskDelete": 1,
    "DiskExists": 1, "DiskLookup": 1, "DiskList": 0, "Metrics": 0, "Monitor": 0,
}  # fmt: skip


def test_interface_matches_the_bus_map() -> None:
    spec = zbus.spec_of(StorageModule).resolve()
    assert spec.module == "storage"
    assert (spec.object.name, spec.object.version) == ("storage", "0.0.1")
    assert {name: len(m.params) for name, m in spec.methods.items()} == BUS_MAP
    assert [name for name, m in spec.methods.items() if m.is_stream] == ["Monitor"]
    # the implementation provides every method under the interface's Python name
    for m in spec.methods.values():
        assert callable(getattr(Storage, m.py_name))


def test_structs_travel_with_go_field_names() -> None:
    volume = Volume(Name="v", Path="/mnt/p/v", Usage=Usage(Size=10, Used=1))
    assert msgpack.unpackb(zbus.encode(volume, Volume)) == {
        "Name": "v",
        "Path": "/mnt/p/v",
        "Usage": {"Size": 10, "Used": 1},
    }
    # gridtypes.Unit is a uint64: non-compact cf encoding, like Go
    assert zbus.encode(Usage(Size=1, Used=0), Usage) == (
        b"\x82\xa4Size\xcf" + (1).to_bytes(8, "big") + b"\xa4Used\xcf" + bytes(8)
    )
    assert list(msgpack.unpackb(zbus.encode(Device(), Device))) == ["Path", "ID", "Usage"]
    assert msgpack.unpackb(zbus.encode(VDisk(Path="/x", Size=5), VDisk)) == {
        "Path": "/x",
        "Size": 5,
    }
    assert msgpack.unpackb(zbus.encode(BrokenPool(Label="l"), BrokenPool)) == {
        "Label": "l",
        "Err": None,
    }
    assert zbus.decode(msgpack.packb("hdd"), DeviceType) == DeviceType.HDD


def test_pool_stats_inline_the_usage_stat() -> None:
    """Go embeds disk.UsageStat in PoolStats: its fields sit in the PoolStats map."""
    keys = list(msgpack.unpackb(zbus.encode(PoolStats(), PoolStats)))
    assert keys[:3] == ["Path", "Fstype", "Total"] and keys[-1] == "Counters"
