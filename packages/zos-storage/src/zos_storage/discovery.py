"""Turn the allowlist into pools, safely.

Rules (node-modules spec 1.1, stricter than upstream): only allowlisted devices are
considered; what a device holds is read with ``blkid -p``; a device with a partition table,
a non-btrfs filesystem, a foreign mount or the root filesystem is reported broken and left
untouched; only a blank device is ever formatted.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from zos_storage import blockdev, btrfs
from zos_storage.api import BrokenDevice, BrokenPool, DeviceType
from zos_storage.commands import CommandError, available, run, run_optional
from zos_storage.config import StorageConfig
from zos_storage.pool import SEEKTIME_FILE, Pool
from zos_storage.scan import scan_devices

log = logging.getLogger(__name__)


@dataclass
class Discovery:
    pools: list[Pool] = field(default_factory=list)
    broken_pools: list[BrokenPool] = field(default_factory=list)
    broken_devices: list[BrokenDevice] = field(default_factory=list)


class UnsafeDevice(Exception):
    """A device storaged must not touch; the message says why."""


def discover(config: StorageConfig) -> Discovery:
    result = Discovery()
    root_devices = blockdev.root_devices()
    disks = dict(config.disks)
    if config.scan_all_devices:
        for device in scan_devices():
            disks.setdefault(device, None)
    for device, forced in disks.items():
        try:
            label = _prepare_device(config, device, root_devices)
        except (UnsafeDevice, OSError, CommandError) as exc:
            log.warning("device %s not used: %s", device, exc)
            result.broken_devices.append(BrokenDevice(Path=device, Err=str(exc)))
            continue
        try:
            pool = _open_pool(config, device, label, forced)
        except (UnsafeDevice, OSError, CommandError) as exc:
            log.warning("pool %s on %s broken: %s", label, device, exc)
            result.broken_pools.append(BrokenPool(Label=label, Err=str(exc)))
            continue
        result.pools.append(pool)
    return result


def _prepare_device(config: StorageConfig, device: str, root_devices: set[str]) -> str:
    """Check a device and format it if blank; return its pool label."""
    if not blockdev.is_block_device(device):
        raise UnsafeDevice(f"{device} is not a block device")
    real = os.path.realpath(device)
    if real in root_devices:
        raise UnsafeDevice(f"{device} holds the root filesystem")
    found = blockdev.probe(device)
    if found.pttype or blockdev.has_partitions(device):
        raise UnsafeDevice(f"{device} holds a partition table ({found.pttype or 'partitions'})")
    if found.blank:
        mounts = blockdev.mounts_of(device)
        if mounts:
            raise UnsafeDevice(f"{device} is mounted at {mounts[0].target}")
        label = f"{config.label_prefix}{uuid.uuid4()}"
        log.info("formatting blank device %s as pool %s", device, label)
        btrfs.mkfs(device, label)
        run_optional(["partprobe", device])
        run_optional(["udevadm", "settle"])
        found = blockdev.probe(device)
        if found.fstype != "btrfs" or found.label != label:
            raise UnsafeDevice(f"{device} does not show the new btrfs pool {label} after mkfs")
        return label
    if found.fstype != "btrfs":
        what = f"a {found.fstype} filesystem" if found.fstype else f"label {found.label!r}"
        raise UnsafeDevice(f"{device} holds {what}; storaged only uses blank disks or btrfs pools")
    if not found.label:
        raise UnsafeDevice(f"{device} holds a btrfs filesystem without a label")
    return found.label


def _open_pool(config: StorageConfig, device: str, label: str, forced: DeviceType | None) -> Pool:
    target = config.mounts / label
    mounts = [m for m in blockdev.mounts_of(device) if "subvol=/" in m.options.split(",")]
    if mounts and not any(Path(m.target) == target for m in mounts):
        raise UnsafeDevice(f"{device} is mounted at {mounts[0].target}, not at {target}")
    if not mounts:
        if os.path.ismount(target):
            # e.g. a cloned disk carrying the label of a pool that is already mounted
            raise UnsafeDevice(f"{target} is already mounted by another device")
        btrfs.mount(device, target)
    btrfs.quota_enable(target)
    pool = Pool(
        label=label,
        device=device,
        kind=DeviceType.SSD,
        size=blockdev.size_bytes(device),
        mountpoint=target,
    )
    pool.drop_stale_qgroups()
    pool.kind = _device_type(device, target, forced)
    return pool


def _device_type(device: str, mountpoint: Path, forced: DeviceType | None) -> DeviceType:
    """Override, else the remembered ``.seektime``, else seektime, else the rotational flag."""
    marker = mountpoint / SEEKTIME_FILE
    kind = forced
    if kind is None:
        try:
            kind = DeviceType(marker.read_text().strip())
        except (OSError, ValueError):
            kind = None
    if kind is None and available("seektime"):
        try:
            kind = DeviceType(json.loads(run(["seektime", "-j", device]).stdout)["type"])
        except (CommandError, ValueError, KeyError, TypeError) as exc:
            log.info("seektime on %s gave no type: %s", device, exc)
    if kind is None:
        kind = DeviceType.HDD if blockdev.rotational(device) else DeviceType.SSD
    try:
        if marker.read_text().strip() != kind.value:
            marker.write_text(kind.value)
    except OSError:
        marker.write_text(kind.value)
    return kind
