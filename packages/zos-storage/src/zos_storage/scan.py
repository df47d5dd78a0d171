"""Opt-in full scan of the machine's disks (upstream's discovery), for production nodes only.

storaged normally acts on its allowlist alone. With ``StorageConfig.scan_all_devices`` the
top-level disks found here are added to it; each one still goes through the same ``blkid -p``
checks (so a used disk is never formatted), but a blank disk *is* formatted: never enable it
on a machine whose disks are not all meant for the node. With udev running, pyudev (the
``udev`` extra) lists the disks; otherwise ``lsblk``, exactly as upstream calls it.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from zos_storage.commands import run

EXCLUDED_MAJORS = (1, 2, 11)
"""ram, floppy, SCSI CD-ROM (loop and zram are not excluded, as upstream)."""
USB_SUBSYSTEMS = "block:scsi:usb:pci"
"""Upstream skips USB sticks (exactly this SUBSYSTEMS value)."""


def parse_lsblk(text: str) -> list[str]:
    """Top-level device paths from ``lsblk --json ... --path`` (children are partitions)."""
    found = []
    for device in json.loads(text).get("blockdevices", []):
        if device.get("subsystems") == USB_SUBSYSTEMS:
            continue
        path = device.get("path") or device.get("name")
        if isinstance(path, str) and path:
            found.append(path)
    return found


def _lsblk_devices() -> list[str]:
    excluded = ",".join(str(m) for m in EXCLUDED_MAJORS)
    proc = run(
        ["lsblk", "--json", "-o", "PATH,NAME,SIZE,SUBSYSTEMS,FSTYPE,LABEL,ROTA", "--bytes",
         "--exclude", excluded, "--path", "--nodeps"]
    )  # fmt: skip
    return parse_lsblk(proc.stdout)


def _udev_devices() -> list[str] | None:
    if not Path("/run/udev/control").exists():
        return None
    try:
        pyudev: Any = importlib.import_module("pyudev")
    except ImportError:
        return None
    context = pyudev.Context()
    found = []
    for device in context.list_devices(subsystem="block", DEVTYPE="disk"):
        if int(device.get("MAJOR", 0)) in EXCLUDED_MAJORS or not device.device_node:
            continue
        if device.get("ID_BUS") == "usb":
            continue
        found.append(str(device.device_node))
    return sorted(found)


def scan_devices() -> list[str]:
    """Every top-level disk of the machine (pyudev when udev runs, else lsblk)."""
    devices = _udev_devices()
    return devices if devices is not None else _lsblk_devices()
