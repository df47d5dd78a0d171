"""``ls -l`` of a 5,000-entry directory through the FUSE mount, beside ``ls -l`` of the source.

Two flists of the same tree: one written by zos-flist (with the parent_name index) and one
without the index (as upstream rfs writes it; the reader then uses an in-memory name map).
Each listing runs on a fresh mount (empty kernel dentry/attribute caches).
Target (issue 6): the listing under half a second.
Run: hatch run python benchmarks/flist_listing.py [--entries 5000]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zos_flist.mounts import is_mountpoint
from zos_flist.pack import pack
from zos_flist.stores import open_router


def ls(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["ls", "-l", str(path)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=5000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="flist-bench-ls-"))
    target = work / "mnt"
    target.mkdir()
    try:
        many = work / "src" / "many"
        many.mkdir(parents=True)
        for i in range(args.entries):
            (many / f"file-{i:05d}.txt").write_bytes(b"x")
        ours = work / "ours.fl"
        pack(work / "src", ours, open_router([f"dir://{work}/store"]))
        upstream = work / "upstream.fl"
        shutil.copy(ours, upstream)
        db = sqlite3.connect(upstream)
        db.execute("DROP INDEX parent_name")
        db.commit()
        db.close()
        baseline = min(ls(many) for _ in range(3))
        results = {}
        for name, meta in (("with parent_name index", ours), ("upstream file, no index", upstream)):
            subprocess.run([sys.executable, "-m", "zos_flist.cli", "mount", "-m", str(meta),
                            "-c", str(work / "cache"), "-d", str(target)], check=True)
            results[name] = (ls(target / "many"), ls(target / "many"))
            subprocess.run(["umount", str(target)], check=True)
        print(f"ls -l of {args.entries} entries")
        print(f"baseline, source directory:          {baseline * 1000:7.1f} ms")
        for name, (first, again) in results.items():
            verdict = "OK" if first < 0.5 else "ABOVE TARGET"
            print(f"FUSE, {name:<24} fresh mount {first * 1000:7.1f} ms ({verdict}), "
                  f"again {again * 1000:7.1f} ms")
    finally:
        if is_mountpoint(target):
            subprocess.run(["umount", "-l", str(target)], check=False)
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
