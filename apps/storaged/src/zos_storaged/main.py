"""``storaged --broker URL --root DIR --disk DEVICE[=ssd|=hdd] ...``: parse, build, serve."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from zos_storage.api import DeviceType
from zos_storage.config import StorageConfig, parse_disk_arg

DEFAULT_BROKER = "unix:///var/run/redis.sock"
DEFAULT_ROOT = "/var/cache/modules/storaged"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="storaged", description="ZOS storage daemon: pools on allowlisted disks, on zbus"
    )
    parser.add_argument("--broker", default=DEFAULT_BROKER, help="zbus broker URL")
    parser.add_argument("--root", default=DEFAULT_ROOT, type=Path, help="state folder")
    parser.add_argument(
        "--disk",
        action="append",
        default=[],
        metavar="DEVICE[=ssd|=hdd]",
        help="a device storaged may use (repeatable); without any, no disk is touched",
    )
    parser.add_argument(
        "--disks-file",
        type=Path,
        help="more allowlisted devices, one DEVICE[=ssd|=hdd] a line (# comments)",
    )
    parser.add_argument("--mount-root", type=Path, help="where pools are mounted (ROOT/mnt)")
    parser.add_argument("--cache-target", type=Path, help="cache mount point (ROOT/cache)")
    parser.add_argument("--label-prefix", default="", help="prefix of new pool labels")
    parser.add_argument(
        "--cache-size", type=int, default=5 * 1024**3, help="cache limit step in bytes"
    )
    parser.add_argument(
        "--monitor-interval", type=float, default=5.0, help="seconds between Monitor stats"
    )
    parser.add_argument(
        "--scan-all-devices",
        action="store_true",
        help="production only: also use every blank disk of the machine (formats them!)",
    )
    parser.add_argument("--debug", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> StorageConfig:
    entries: list[str] = list(args.disk)
    if args.disks_file is not None and not args.disks_file.exists():
        logging.getLogger("storaged").warning("no %s: no disk allowlisted", args.disks_file)
    elif args.disks_file is not None:
        for line in args.disks_file.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                entries.append(line)
    disks: dict[str, DeviceType | None] = {}
    for entry in entries:
        device, kind = parse_disk_arg(entry)
        disks[device] = kind
    return StorageConfig(
        root=args.root,
        disks=disks,
        mount_root=args.mount_root,
        cache_target=args.cache_target,
        label_prefix=args.label_prefix,
        cache_size=args.cache_size,
        monitor_interval=args.monitor_interval,
        scan_all_devices=args.scan_all_devices,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = build_config(args)
    except (ValueError, OSError) as exc:
        print(f"storaged: {exc}", file=sys.stderr)
        return 2
    from zos_storage.daemon import run

    asyncio.run(run(config, args.broker))
    return 0
