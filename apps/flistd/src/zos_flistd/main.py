"""``flistd --broker URL --root DIR``: parse, build, serve."""

from __future__ import annotations

import argparse
import logging
import shlex
from pathlib import Path

DEFAULT_BROKER = "unix:///var/run/redis.sock"
DEFAULT_ROOT = "/var/cache/modules/flistd"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="flistd", description="ZOS flist daemon: mounts flists for workloads, on zbus"
    )
    parser.add_argument("--broker", default=DEFAULT_BROKER, help="zbus broker URL")
    parser.add_argument("--root", default=DEFAULT_ROOT, type=Path,
                        help="state folder (flist/, cache/, ro/, mountpoint/, log/)")
    parser.add_argument("--mount-command", default=None,
                        help="the rfs-compatible mounter to run (default: this Python's "
                             "`-m zos_flist.cli`)")
    parser.add_argument("--debug", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from zos_flist.daemon import run
    from zos_zbus import runtime as zbus_runtime

    command = shlex.split(args.mount_command) if args.mount_command else None
    zbus_runtime.run(run(args.root, args.broker, mount_command=command))
    return 0
