"""Entry point of the `zos` command: `zos node ...` plus the ``zos.commands`` plugins."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from zos_cli.commands import load_commands
from zos_cli.node_paths import NodePaths, default_state_dir


def _node(args: argparse.Namespace) -> int:
    from zos_cli import node

    paths = NodePaths.at(args.state)
    try:
        if args.node_command == "up":
            return asyncio.run(node.up(paths))
        if args.node_command == "down":
            return node.down(paths)
        return asyncio.run(node.status(paths))
    except (node.NodeError, ValueError, OSError) as e:
        print(f"zos node {args.node_command}: {e}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zos", description="Zero-OS development node tools")
    sub = parser.add_subparsers(dest="command", required=True)

    node = sub.add_parser("node", help="run a development node on this machine")
    node_sub = node.add_subparsers(dest="node_command", required=True)
    state_help = f"the node's state folder (default {default_state_dir()})"
    for name, text in (
        ("up", "start the supervisor, redis and every module; Ctrl-C stops and cleans up"),
        ("status", "every service, its state and health; exit 0 only if all are healthy"),
        ("down", "stop a running node (or clean up after a crashed one)"),
    ):
        cmd = node_sub.add_parser(name, help=text, description=text)
        cmd.add_argument("--state", type=Path, default=None, help=state_help)
    node.set_defaults(func=_node)

    load_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
