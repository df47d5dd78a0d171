"""What the node knows about its host: capacity, interfaces, flags (for registration)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from zos_chain.api import Interface, Resources

StorageTotals = Callable[[], Awaitable[tuple[int, int]]]
"""(sru, hru): total SSD and HDD bytes, as storaged's ``Total(ssd)`` / ``Total(hdd)``."""


def host_storage_totals(root: Path) -> StorageTotals:
    """Fallback when storaged is not reachable: the filesystem holding ``root`` as SSD."""

    async def totals() -> tuple[int, int]:
        return shutil.disk_usage(root).total, 0

    return totals


async def capacity(storage: StorageTotals) -> Resources:
    """cru/mru from the host, sru/hru from storaged."""
    sru, hru = await storage()
    return Resources(cru=os.cpu_count() or 1, mru=psutil.virtual_memory().total, sru=sru,
                     hru=hru)


def interfaces(preferred: str = "zos") -> list[Interface]:
    """The ``zos`` interface as upstream reports it: the zos bridge's MAC and IPs.

    On a development host without a ``zos`` bridge, the interface of the default route (or the
    first non-loopback interface with an address) stands in, still named ``zos``.
    """
    addresses = psutil.net_if_addrs()
    name = preferred if preferred in addresses else _default_route_interface()
    if name is None:
        name = next((n for n, addrs in addresses.items() if n != "lo" and any(
            a.family.name in ("AF_INET", "AF_INET6") for a in addrs)), None)
    if name is None or name not in addresses:
        return []
    mac = ""
    ips: list[str] = []
    for addr in addresses[name]:
        if addr.family == psutil.AF_LINK:
            mac = addr.address
        elif addr.family.name in ("AF_INET", "AF_INET6") and not addr.address.startswith("fe80"):
            ips.append(addr.address.split("%")[0])
    return [Interface(name="zos", mac=mac, ips=sorted(ips))]


def _default_route_interface() -> str | None:
    try:
        lines = Path("/proc/net/route").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) > 1 and fields[1] == "00000000":
            return fields[0]
    return None


def virtualized() -> bool:
    """Upstream checks for a hypervisor; the CPU's ``hypervisor`` flag says the same."""
    try:
        return " hypervisor" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def secure_boot() -> bool:
    efivars = Path("/sys/firmware/efi/efivars")
    try:
        entries = [p for p in efivars.iterdir() if p.name.startswith("SecureBoot-")]
        return bool(entries) and entries[0].read_bytes()[-1:] == b"\x01"
    except OSError:
        return False


def board_serial() -> str:
    try:
        return Path("/sys/class/dmi/id/board_serial").read_text().strip()
    except OSError:
        return ""


def uptime_seconds() -> int:
    try:
        return int(float(Path("/proc/uptime").read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        return int(psutil.time.time() - psutil.boot_time())
