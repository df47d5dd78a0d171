"""``provisiond --broker URL --root DIR --chain-url URL [...]``: parse, build, serve."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from pathlib import Path

from zos_provision.daemon import DaemonConfig, run

DEFAULT_BROKER = "unix:///var/run/redis.sock"
DEFAULT_ROOT = "/var/cache/modules/provisiond"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="provisiond", description="ZOS provision daemon: deployments in, workloads out"
    )
    parser.add_argument("--broker", default=DEFAULT_BROKER, help="zbus broker URL")
    parser.add_argument("--root", type=Path, default=Path(DEFAULT_ROOT), help="state folder")
    parser.add_argument(
        "--chain-url",
        default=os.environ.get("ZOS_CHAIN_URL"),
        help="the chain gateway's URL (default: $ZOS_CHAIN_URL)",
    )
    parser.add_argument("--node-id", type=int, help="this node's id (default: ask noded)")
    parser.add_argument("--farmer-twin", type=int, help="the farm owner's twin (admin commands)")
    parser.add_argument(
        "--admin-twin", type=int, action="append", default=[], help="a twin allowed zos.debug.*"
    )
    parser.add_argument("--kyc-url", help="KYC service; without it every twin may deploy")
    parser.add_argument(
        "--boot-marker",
        type=Path,
        default=Path("/run/zos/provisiond.booted"),
        help="file on a tmpfs: missing means first start after a boot",
    )
    parser.add_argument(
        "--chain-retry-limit",
        type=float,
        default=600.0,
        help="seconds an unreachable chain is retried before a deployment gets an error",
    )
    parser.add_argument(
        "--sync-interval",
        type=float,
        default=3600.0,
        help="seconds between reconciliations with the chain's contracts",
    )
    parser.add_argument("--debug", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> DaemonConfig:
    return DaemonConfig(
        broker=args.broker,
        root=args.root,
        chain_url=args.chain_url,
        node_id=args.node_id,
        farmer_twin=args.farmer_twin,
        admin_twins=frozenset(args.admin_twin),
        kyc_url=args.kyc_url,
        boot_marker=args.boot_marker,
        chain_retry_limit=args.chain_retry_limit,
        sync_interval=args.sync_interval,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(run(build_config(args)))
    return 0
