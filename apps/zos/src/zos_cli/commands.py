"""Subcommands other packages add to `zos` through the ``zos.commands`` entry-point group.

Each entry point is ``register(subparsers) -> None``: it adds its subparser(s) and sets
``func=`` (``Namespace -> int``) with ``set_defaults``.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

COMMANDS_GROUP = "zos.commands"


def load_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for entry in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        try:
            register = entry.load()
            register(subparsers)
        except Exception as e:  # a broken plugin must not take the whole CLI down
            print(
                f"zos: ignoring command plugin {entry.name!r} ({entry.value}): {e}", file=sys.stderr
            )
