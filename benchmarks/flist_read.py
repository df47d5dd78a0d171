"""Sequential read through the FUSE mount beside reading the source file directly.

- direct (page cache): the source file, read from the page cache (it was just written);
- direct (disk): the source file after evicting it from the page cache (posix_fadvise
  DONTNEED on that file only) - both are baselines;
- cold: fresh block cache, fresh mount (blocks fetched from a local dir store and decoded);
- warm: block cache filled, fresh mount (the kernel page cache of the mount is empty);
- hot: same mount again (served from the kernel page cache; keep_cache is on).
Target (issue 6): warm >= half of direct.
Run: hatch run python benchmarks/flist_read.py [--mib 64]
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


def mounted(meta: Path, target: Path, cache: Path) -> int:
    subprocess.run([sys.executable, "-m", "zos_flist.cli", "mount", "-m", str(meta), "-c",
                    str(cache), "-d", str(target)], check=True)
    entry = mount_entry(target)
    assert entry is not None
    return int(entry.source)


def unmount(target: Path) -> None:
    subprocess.run(["umount", str(target)], check=True)
    while is_mountpoint(target):
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=64)
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
        direct = min(read_all(src / "data") for _ in range(3))
        disk_times = []
        for _ in range(3):
            with (src / "data").open("rb") as f:
                os.fsync(f.fileno())
                os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            disk_times.append(read_all(src / "data"))
        disk = min(disk_times)
        cache = work / "cache"
        mounted(meta, target, cache)
        cold = read_all(target / "data")
        unmount(target)
        mounted(meta, target, cache)
        warm = read_all(target / "data")
        hot = read_all(target / "data")
        unmount(target)
        mb = size / 1e6
        print(f"file: {args.mib} MiB, {os.cpu_count()} cores")
        print(f"baseline direct read, page cache: {mb / direct:8.1f} MB/s")
        print(f"baseline direct read, disk:       {mb / disk:8.1f} MB/s")
        print(f"FUSE cold (fetch + decode):       {mb / cold:8.1f} MB/s")
        print(f"FUSE warm (block cache):          {mb / warm:8.1f} MB/s "
              f"({direct / warm:.0%} of direct page cache, {disk / warm:.0%} of direct disk; "
              "target >= 50%)")
        print(f"FUSE hot (kernel page cache):     {mb / hot:8.1f} MB/s")
    finally:
        if is_mountpoint(target):
            subprocess.run(["umount", "-l", str(target)], check=False)
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
