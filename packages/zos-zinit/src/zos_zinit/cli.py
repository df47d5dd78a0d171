"""The ``zinit`` command: ``init`` runs the supervisor; every other command is a client."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from zos_zinit.client import DEFAULT_SOCKET, Client
from zos_zinit.errors import ZinitError

# The protocol version this supervisor speaks; ZOS reads it to decide what it may send.
PROTOCOL_VERSION = "v0.2.14"


class _KmsgHandler(logging.Handler):
    """Also log to the kernel ring (only as the machine's init, see setup_logging)."""

    def __init__(self) -> None:
        super().__init__()
        self._fd = os.open("/dev/kmsg", os.O_WRONLY | os.O_CLOEXEC)

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(OSError):
            os.write(self._fd, (self.format(record) + "\n").encode()[:1000])


def setup_logging(debug: bool, kmsg: bool) -> None:
    formatter = logging.Formatter("zinit: %(levelname)s (%(name)s) %(message)s")
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    out = logging.StreamHandler(sys.stdout)
    out.setFormatter(formatter)
    root.addHandler(out)
    if kmsg:
        with contextlib.suppress(OSError):
            handler = _KmsgHandler()
            handler.setFormatter(formatter)
            root.addHandler(handler)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zinit", description="A zinit-compatible process supervisor and its client"
    )
    parser.add_argument("-s", "--socket", default=str(DEFAULT_SOCKET), help="the unix socket")
    parser.add_argument("-d", "--debug", action="store_true", help="debug logging")
    parser.add_argument("-V", "--version", action="version", version=f"zinit {PROTOCOL_VERSION}")
    sub = parser.add_subparsers(dest="command")

    init = sub.add_parser("init", help="run the supervisor")
    init.add_argument("-c", "--config", default="/etc/zinit/", help="service files folder")
    init.add_argument("-b", "--buffer", type=int, default=2000, help="log ring size in lines")
    init.add_argument(
        "--container", action="store_true", help="exit on shutdown instead of rebooting"
    )

    sub.add_parser("list", help="every service and its state")
    for name, text in (
        ("status", "one service's status"),
        ("start", "set target Up and start"),
        ("stop", "set target Down and send the stop signal"),
        ("forget", "drop a stopped service"),
        ("monitor", "load <config>/<name>.yaml and supervise it"),
        ("restart", "stop, wait (SIGKILL after 20 s), start"),
    ):
        sub.add_parser(name, help=text).add_argument("service")
    kill = sub.add_parser("kill", help="send a signal to a service's process group")
    kill.add_argument("service")
    kill.add_argument("signal", nargs="?", default="SIGTERM")
    sub.add_parser("shutdown", help="stop every service, then exit or power off")
    sub.add_parser("reboot", help="stop every service, then exit or reboot")
    logp = sub.add_parser("log", help="show (and follow) the log ring")
    logp.add_argument("-s", "--snapshot", action="store_true", help="do not follow")
    logp.add_argument("filter", nargs="?", help="only lines of this service")
    return parser


def _print_yaml(body: Any) -> None:
    if body is None:
        return
    sys.stdout.write(yaml.safe_dump(body, default_flow_style=False, sort_keys=False))


async def _client_command(args: argparse.Namespace) -> int:
    client = Client(args.socket, timeout=60)
    command = args.command or "list"
    if command == "list":
        _print_yaml(await client.request("list"))
    elif command == "status":
        _print_yaml(await client.request("status", args.service))
    elif command in {"start", "stop", "forget", "monitor"}:
        await client.request(command, args.service)
    elif command == "kill":
        await client.request("kill", args.service, args.signal)
    elif command in {"shutdown", "reboot"}:
        await client.request(command)
    elif command == "restart":
        await client.restart(args.service)
    elif command == "log":
        prefix = f"{args.filter}:" if args.filter else None
        async for line in client.logs(follow=not args.snapshot):
            if prefix is None or line[4:].startswith(prefix):
                print(line, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "init":
        from zos_zinit.server import run

        setup_logging(args.debug, kmsg=os.getpid() == 1 and not args.container)
        if args.buffer < 1:
            print(f"zinit: --buffer must be at least 1 line, got {args.buffer}", file=sys.stderr)
            return 2
        return asyncio.run(
            run(
                Path(args.socket).absolute(),
                Path(args.config).absolute(),
                buffer=args.buffer,
                container=args.container,
            )
        )
    try:
        return asyncio.run(_client_command(args))
    except ZinitError as e:
        print(e, file=sys.stderr)
        return 1
    except (OSError, TimeoutError) as e:
        print(f"zinit: cannot talk to {args.socket}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
