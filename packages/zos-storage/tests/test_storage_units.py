"""Pure parts: parsers, the cache policy, the --disk option, error mapping."""

from __future__ import annotations

import contextlib
from pathlib import PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zos_storage.api import (
    DeviceType,
    InvalidNameError,
    NotEnoughSpaceError,
    NotFoundError,
    StorageError,
    error_from_message,
    volume_not_found,
)
from zos_storage.blockdev import parse_blkid_export
from zos_storage.btrfs import parse_qgroup_show
from zos_storage.cachepolicy import next_cache_limit
from zos_storage.config import parse_disk_arg
from zos_storage.scan import parse_lsblk
from zos_storage.stats import parse_diskstats
from zos_storage.storage import check_name

GIB = 1024**3

QGROUP_OLD = """\
qgroupid         rfer         excl     max_rfer     max_excl
--------         ----         ----     --------     --------
0/5             16384        16384         none         none
0/256        10485760     10485760    104857600         none
"""
QGROUP_NEW = """\
Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive   Path
--------    ----------    ---------  --------------  -------------   ----
0/5              16384        16384            none           none   <toplevel>
0/256                0            0       104857600           none   a
1/1                  0            0            none           none   <0 member qgroups>
"""


@pytest.mark.parametrize("text", [QGROUP_OLD, QGROUP_NEW])
def test_qgroup_show_both_formats(text: str) -> None:
    groups = parse_qgroup_show(text)
    assert set(groups) == {5, 256}
    assert groups[256].max_referenced == 104857600
    assert groups[5].max_referenced == 0


@given(st.text())
def test_qgroup_parser_never_crashes_on_noise(text: str) -> None:
    # a malformed number in a qgroup line is a ValueError, nothing else
    with contextlib.suppress(ValueError):
        parse_qgroup_show(text)


def test_diskstats() -> None:
    line = "   7       0 loop0 120 0 2400 30 50 0 800 10 0 40 40 0 0 0 0 0 0\n"
    stats = parse_diskstats(line)["loop0"]
    assert stats.ReadCount == 120 and stats.ReadBytes == 2400 * 512
    assert stats.WriteBytes == 800 * 512 and stats.Name == "loop0"


@pytest.mark.parametrize(
    ("limit", "used", "expected"),
    [
        (5 * GIB, 4 * GIB, 10 * GIB),  # >= 60 %: grow a step
        (20 * GIB, 1 * GIB, 5 * GIB),  # < 20 %: 2 x used rounded up to a step
        (20 * GIB, 3 * GIB, 10 * GIB),
        (5 * GIB, 0, 5 * GIB),  # never below a step
        (0, 4 * GIB, 8 * GIB),  # unlimited: max(step, 2 x used)
        (0, 0, 5 * GIB),
        (10 * GIB, 3 * GIB, 10 * GIB),  # between: unchanged
    ],
)
def test_cache_policy(limit: int, used: int, expected: int) -> None:
    assert next_cache_limit(limit, used, 5 * GIB) == expected


@given(st.integers(0, 2**50), st.integers(0, 2**50))
def test_cache_policy_bounds(limit: int, used: int) -> None:
    step = 5 * GIB
    new = next_cache_limit(limit, used, step)
    assert new >= step
    if limit:
        assert new <= max(limit + step, 2 * used + step)


def test_disk_argument() -> None:
    assert parse_disk_arg("/dev/loop3") == ("/dev/loop3", None)
    assert parse_disk_arg("/dev/loop3=SSD") == ("/dev/loop3", DeviceType.SSD)
    assert parse_disk_arg("/dev/vdd=hdd") == ("/dev/vdd", DeviceType.HDD)
    with pytest.raises(ValueError, match="type must be 'ssd' or 'hdd'"):
        parse_disk_arg("/dev/loop3=nvme")
    with pytest.raises(ValueError, match="absolute device path"):
        parse_disk_arg("loop3")


def test_errors_round_trip_through_their_message() -> None:
    err = error_from_message(str(NotEnoughSpaceError(DeviceType.HDD)))
    assert isinstance(err, NotEnoughSpaceError) and err.kind == DeviceType.HDD
    assert isinstance(error_from_message(str(volume_not_found("x"))), NotFoundError)
    assert type(error_from_message("boom")) is StorageError


def test_blkid_export() -> None:
    text = "DEVNAME=/dev/loop0\nLABEL=pool=1\nUUID=x\nTYPE=btrfs\nUSAGE=filesystem\n"
    probe = parse_blkid_export(text)
    assert (probe.fstype, probe.label, probe.pttype) == ("btrfs", "pool=1", "")
    assert not probe.blank
    assert parse_blkid_export("PTTYPE=gpt\n").pttype == "gpt"
    assert parse_blkid_export("").blank


@given(
    st.dictionaries(
        st.sampled_from(["TYPE", "LABEL", "PTTYPE", "UUID"]),
        st.text(
            alphabet=st.characters(blacklist_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
            min_size=1,
        ),
    )
)
def test_blkid_export_round_trip(values: dict[str, str]) -> None:
    probe = parse_blkid_export("".join(f"{k}={v}\n" for k, v in values.items()))
    assert probe.fstype == values.get("TYPE", "")
    assert probe.label == values.get("LABEL", "")
    assert probe.pttype == values.get("PTTYPE", "")
    # any signature at all means the device is used
    assert probe.blank == (not ({"TYPE", "LABEL", "PTTYPE"} & values.keys()))


@given(st.text())
def test_disk_argument_never_crashes(text: str) -> None:
    try:
        device, kind = parse_disk_arg(text)
    except ValueError as exc:
        assert "invalid disk" in str(exc)
    else:
        assert device.startswith("/") and kind in (None, DeviceType.SSD, DeviceType.HDD)


def test_lsblk_scan_keeps_top_level_non_usb_disks() -> None:
    text = """{"blockdevices": [
      {"path": "/dev/vda", "name": "/dev/vda", "subsystems": "block:virtio:pci",
       "children": [{"path": "/dev/vda1"}]},
      {"path": "/dev/sdb", "name": "/dev/sdb", "subsystems": "block:scsi:usb:pci"},
      {"path": "/dev/zram0", "name": "/dev/zram0", "subsystems": "block"}
    ]}"""
    assert parse_lsblk(text) == ["/dev/vda", "/dev/zram0"]


@given(st.text())
def test_names_never_escape_their_folder(name: str) -> None:
    base = PurePosixPath("/mnt/pool/vdisks")
    try:
        check_name(name, "vdisk")
    except InvalidNameError:
        return
    assert (base / name).parent == base and name not in {".", ".."}
