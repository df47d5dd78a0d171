"""``zos-hub``: serve a local development hub, publish flists to it."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from ..errors import FlistError
from ..progress import Progress


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"invalid address {text!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zos-hub", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="serve the hub's read API and block store")
    p.add_argument("--root", required=True, type=Path, help="hub state (public/, blocks/)")
    p.add_argument("--listen", type=_address, default=("127.0.0.1", 5555),
                   help="HOST:PORT (default 127.0.0.1:5555; use loopback or a test netns)")
    p = sub.add_parser("publish", help="pack a directory (or copy a .fl) onto the hub")
    p.add_argument("--root", required=True, type=Path)
    p.add_argument("--url", required=True, help="the hub's base URL, e.g. http://127.0.0.1:5555")
    p.add_argument("--repo", required=True)
    p.add_argument("--name", required=True, help="flist name (.fl appended if missing)")
    p.add_argument("--tag", default=None)
    p.add_argument("--taglink", default=None, help="runmode: tf-zos/<taglink> -> repo tag")
    p.add_argument("--taglink-repo", default="tf-zos")
    p.add_argument("source", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        if args.command == "serve":
            from .server import HubServer

            server = HubServer(args.root, *args.listen)

            def stop(signum: int, frame: FrameType | None) -> None:
                raise KeyboardInterrupt

            signal.signal(signal.SIGTERM, stop)
            print(f"hub serving {args.root} on {server.url}", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                server.serve_forever()
            return 0
        from .publish import publish

        result = publish(args.root, args.source, repo=args.repo, name=args.name,
                         hub_url=args.url, tag=args.tag, taglink=args.taglink,
                         taglink_repo=args.taglink_repo, progress=Progress("publish"))
        print(result.url)
        return 0
    except (FlistError, ValueError, OSError) as exc:
        print(f"zos-hub {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
