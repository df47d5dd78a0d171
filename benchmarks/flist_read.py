"""Sequential read through the FUSE mount beside reading the source file directly, like with
like (the same page-cache state on both sides):

- direct, page cache: the source file read from the page cache (baseline);
- direct, disk: the source file after evicting it (posix_fadvise DONTNEED on that file only);
- cold: empty block cache, fresh mount (blocks fetched from a local dir store and decoded);
- first re-read: blocks cached, no whole-file copy yet, fresh mount: served by the server
  (its open starts the whole-file copy, which is awaited before the rounds);
- warm: the cache filled and in the page cache, fresh mount (the mount's own page cache is
  empty): the open is passed through to the whole-file copy; compared with direct, page cache;
- warm, no passthrough: the same with `--no-passthrough` (every read answered by the server
  from the block cache files);
- warm from disk: the cache filled but evicted (DONTNEED on each cache file, whole-file copy
  included), fresh mount: compared with direct, disk;
- hot: the same mount read again: compared with direct, page cache.
Target (issue 6): warm >= half of direct. Reads are 1 MiB read() calls. Every round measures
everything once, interleaved; the best of the rounds is reported, with the load average.
Run: hatch run python benchmarks/flist_read.py [--mib 256] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zos_flist.mounts import is_mountpoint, mount_entry
from zos_flist.pack import pack
from zos_flist.stores import open_router


def read_all(path: Path) -> float:
    started = time.perf_counter()
    with path.open("rb", buffering=0) as f:
        while f.read(1 << 20):
            pass
    return time.perf_counter() - started


def evict(path: Path) -> None:
    """Drop ``path`` (a file or every file below a directory) from the page cache."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for file in files:
        with file.open("rb") as f:
            os.fsync(f.fileno())
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def mounted(meta: Path, target: Path, cache: Path, *, passthrough: bool = True) -> int:
    subprocess.run([sys.executable, "-m", "zos_flist.cli", "mount", "-m", str(meta), "-c",
                    str(cache), "-d", *([] if passthrough else ["--no-passthrough"]),
                    str(target)], check=True)
    entry = mount_entry(target)
    assert entry is not None
    return int(entry.source)


def unmount(target: Path) -> None:
    subprocess.run(["umount", str(target)], check=True)
    while is_mountpoint(target):
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="flist-bench-read-"))
    target = work / "mnt"
    target.mkdir()
    try:
        src = work / "src"
        src.mkdir()
        size = args.mib * 2**20
        (src / "data").write_bytes(os.urandom(size))
        meta = work / "data.fl"
        pack(src, meta, open_router([f"dir://{work}/store"]))
        cache = work / "cache"
        best: dict[str, float] = {}

        def keep(name: str, seconds: float) -> None:
            best[name] = min(best.get(name, seconds), seconds)

        mounted(meta, target, cache)
        keep("cold", read_all(target / "data"))
        unmount(target)
        mounted(meta, target, cache)
        keep("first", read_all(target / "data"))
        started = time.perf_counter()
        while not any(p.is_file() and not p.name.startswith(".")
                      for p in (cache / "files").rglob("*")):  # the whole-file copy
            if time.perf_counter() - started > 60:
                raise SystemExit("no whole-file copy after 60 s")
            time.sleep(0.05)
        copy_seconds = time.perf_counter() - started
        unmount(target)
        for _ in range(args.rounds):
            read_all(src / "data")  # into the page cache
            keep("direct", read_all(src / "data"))
            evict(src / "data")
            keep("disk", read_all(src / "data"))
            mounted(meta, target, cache)
            keep("warm", read_all(target / "data"))
            keep("hot", read_all(target / "data"))
            unmount(target)
            mounted(meta, target, cache, passthrough=False)
            keep("warm_handler", read_all(target / "data"))
            unmount(target)
            evict(cache)
            mounted(meta, target, cache)
            keep("warm_disk", read_all(target / "data"))
            unmount(target)
        mb = size / 1e6
        rate = {name: mb / seconds for name, seconds in best.items()}

        def versus(name: str, base: str) -> str:
            return f"{rate[name] / rate[base]:.0%} of {base}"

        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"file: {args.mib} MiB, {os.cpu_count()} cores, best of {args.rounds} rounds; "
              f"load average after: {load}")
        print(f"baseline direct read, page cache (direct): {rate['direct']:8.1f} MB/s")
        print(f"baseline direct read, evicted (disk):      {rate['disk']:8.1f} MB/s")
        print(f"FUSE cold (fetch + decode):                {rate['cold']:8.1f} MB/s")
        print(f"FUSE first re-read (server, blocks cached):{rate['first']:8.1f} MB/s "
              f"({versus('first', 'direct')}); whole-file copy ready "
              f"{copy_seconds:.2f} s after it")
        print(f"FUSE warm, cache in page cache:            {rate['warm']:8.1f} MB/s "
              f"({versus('warm', 'direct')}; target >= 50%)")
        print(f"FUSE warm, no passthrough (server):        {rate['warm_handler']:8.1f} MB/s "
              f"({versus('warm_handler', 'direct')})")
        print(f"FUSE warm, cache evicted:                  {rate['warm_disk']:8.1f} MB/s "
              f"({versus('warm_disk', 'disk')}; target >= 50%)")
        print(f"FUSE hot, same mount (kernel page cache):  {rate['hot']:8.1f} MB/s "
              f"({versus('hot', 'direct')})")
    finally:
        if is_mountpoint(target):
            subprocess.run(["umount", "-l", str(target)], check=False)
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
