"""``zos-flist``: pack, unpack, mount, inspect, tag and clone `.fl` files (modelled on rfs)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from .cache import BlockCache
from .clone import clone
from .errors import FlistError
from .inspect import edit_tags, summary, tree_lines
from .pack import pack
from .progress import Progress
from .reader import FlistReader
from .stores import open_router, router_from_routes
from .unpack import unpack


def _pairs(items: Sequence[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise FlistError(f"invalid {what} {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zos-flist", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="verbose logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("pack", help="pack a directory into a .fl and upload its blocks")
    p.add_argument("-m", "--meta", required=True, type=Path, help="output .fl file")
    p.add_argument("-s", "--store", action="append", required=True,
                   help="store URL or xx-yy=URL (repeatable)")
    p.add_argument("-t", "--tag", action="append", default=[], help="KEY=VALUE tag")
    p.add_argument("--no-strip-password", action="store_true",
                   help="keep store passwords in the route table")
    p.add_argument("-j", "--jobs", type=int, default=None, help="parallel block encoders")
    p.add_argument("source", type=Path)

    p = sub.add_parser("unpack", help="extract a .fl into a directory")
    p.add_argument("-m", "--meta", required=True, type=Path)
    p.add_argument("-c", "--cache", type=Path, default=None, help="block cache directory")
    p.add_argument("-p", "--preserve-ownership", action="store_true")
    p.add_argument("--rewrite", action="append", default=[], help="OLD_URL_PREFIX=NEW")
    p.add_argument("target", type=Path)

    p = sub.add_parser("mount", help="mount a .fl read-only with FUSE")
    p.add_argument("-m", "--meta", required=True, type=Path)
    p.add_argument("-c", "--cache", type=Path, default=Path("/tmp/cache"))
    p.add_argument("-d", "--daemon", action="store_true", help="return once mounted")
    p.add_argument("-l", "--log", type=Path, default=None, help="daemon log file")
    p.add_argument("--rewrite", action="append", default=[], help="OLD_URL_PREFIX=NEW")
    p.add_argument("--no-passthrough", action="store_true",
                   help="serve every read from this process (no kernel passthrough to cache "
                        "files, no whole-file copies)")
    p.add_argument("target", type=Path)

    p = sub.add_parser("inspect", help="show a .fl's tags, routes, sizes (and tree)")
    p.add_argument("-m", "--meta", required=True, type=Path)
    p.add_argument("--tree", action="store_true", help="list every entry")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("tag", help="list, add or delete tags (changes the file's md5)")
    p.add_argument("-m", "--meta", required=True, type=Path)
    p.add_argument("action", choices=["list", "add", "delete"])
    p.add_argument("items", nargs="*", help="KEY=VALUE to add, KEY to delete")

    p = sub.add_parser("prefetch", help="fill the block cache with a .fl's blocks in parallel")
    p.add_argument("-m", "--meta", required=True, type=Path)
    p.add_argument("-c", "--cache", type=Path, default=Path("/tmp/cache"))
    p.add_argument("-j", "--jobs", type=int, default=8)
    p.add_argument("--rewrite", action="append", default=[], help="OLD_URL_PREFIX=NEW")
    p.add_argument("paths", nargs="*", help="files inside the flist (default: all)")

    p = sub.add_parser("clone", help="copy a .fl's blocks to other stores")
    p.add_argument("-m", "--meta", required=True, type=Path)
    p.add_argument("-s", "--store", action="append", required=True,
                   help="destination store URL or xx-yy=URL (repeatable)")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="write a copy of the .fl routed to the destination")
    p.add_argument("--rewrite", action="append", default=[], help="OLD_URL_PREFIX=NEW")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.command == "pack":
        router = open_router(args.store)
        try:
            stats = pack(args.source, args.meta, router, tags=_pairs(args.tag, "tag"),
                         keep_password=args.no_strip_password, workers=args.jobs,
                         progress=Progress("pack"))
        finally:
            router.close()
        print(f"packed {stats.inodes} entries, {stats.files} files, {stats.bytes} bytes, "
              f"{stats.blocks} blocks into {args.meta}")
        return 0
    if args.command == "mount":
        from .mount import mount

        return mount(args.meta, args.target, args.cache, daemon=args.daemon,
                     log_file=args.log, rewrite=_pairs(args.rewrite, "rewrite"),
                     passthrough=not args.no_passthrough)
    with FlistReader(args.meta) as reader:
        if args.command == "unpack":
            router = router_from_routes(reader.routes(), _pairs(args.rewrite, "rewrite"))
            try:
                cache = BlockCache(args.cache, router) if args.cache else None
                count = unpack(reader, args.target, router, cache=cache,
                               preserve_ownership=args.preserve_ownership,
                               progress=Progress("unpack"))
            finally:
                router.close()
            print(f"unpacked {count} entries into {args.target}")
        elif args.command == "inspect":
            info = summary(reader)
            if args.json:
                print(json.dumps(info, indent=2))
            else:
                for key, value in info.items():
                    print(f"{key}: {value}")
            if args.tree:
                for line in tree_lines(reader):
                    print(line)
        elif args.command == "clone":
            source = router_from_routes(reader.routes(), _pairs(args.rewrite, "rewrite"))
            destination = open_router(args.store)
            try:
                copied = clone(reader, source, destination, output=args.output,
                               progress=Progress("clone"))
            finally:
                source.close()
                destination.close()
            print(f"copied {copied} blocks")
        elif args.command == "prefetch":
            from .prefetch import prefetch

            router = router_from_routes(reader.routes(), _pairs(args.rewrite, "rewrite"))
            try:
                count = prefetch(reader, BlockCache(args.cache, router), args.paths,
                                 workers=args.jobs, progress=Progress("prefetch"))
            finally:
                router.close()
            print(f"{count} blocks in {args.cache}")
        elif args.command == "tag" and args.action == "list":
            for key, value in sorted(reader.tags().items()):
                print(f"{key}={value}")
    if args.command == "tag" and args.action == "add":
        edit_tags(args.meta, _pairs(args.items, "tag"), [])
    elif args.command == "tag" and args.action == "delete":
        edit_tags(args.meta, {}, args.items)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except (FlistError, ValueError, OSError) as exc:
        print(f"zos-flist {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
