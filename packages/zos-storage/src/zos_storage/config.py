"""storaged's configuration: which disks it may use and where it keeps things."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from zos_storage.api import DeviceType

GIB = 1024**3


@dataclass(frozen=True)
class StorageConfig:
    root: Path
    """storaged's own folder: pool mounts, the cache target and flags live under it by default."""
    disks: dict[str, DeviceType | None] = field(default_factory=dict)
    """The allowlist: device path -> forced type (None: detect). Nothing else is ever touched."""
    mount_root: Path | None = None
    """Where pools are mounted as ``<mount_root>/<label>`` (upstream: /mnt); default root/mnt."""
    cache_target: Path | None = None
    """Where the cache volume is bind-mounted (upstream: /var/cache); default root/cache."""
    flags_dir: Path | None = None
    """Where app flags such as ``limited-cache`` are written; default root/flags."""
    label_prefix: str = ""
    """Prepended to the uuid4 label of new pools, so several test nodes share one kernel."""
    cache_size: int = 5 * GIB
    """The cache volume's initial limit and its growth step (upstream: 5 GiB)."""
    limited_cache_size: str = "500M"
    """Size of the tmpfs mounted on the cache target when no pool can hold the cache."""
    monitor_interval: float = 5.0
    scan_all_devices: bool = False
    """Production opt-in: also consider every disk of the machine (see zos_storage.scan)."""

    @property
    def mounts(self) -> Path:
        return self.mount_root or self.root / "mnt"

    @property
    def cache(self) -> Path:
        return self.cache_target or self.root / "cache"

    @property
    def flags(self) -> Path:
        return self.flags_dir or self.root / "flags"


def parse_disk_arg(text: str) -> tuple[str, DeviceType | None]:
    """``DEVICE`` or ``DEVICE=ssd|hdd`` (the ``--disk`` option)."""
    device, sep, kind = text.partition("=")
    if not device.startswith("/"):
        raise ValueError(f"invalid disk {text!r}: expected an absolute device path")
    if not sep:
        return device, None
    try:
        return device, DeviceType(kind.lower())
    except ValueError:
        raise ValueError(
            f"invalid disk {text!r}: type must be 'ssd' or 'hdd', got {kind!r}"
        ) from None
