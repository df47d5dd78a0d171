"""The child of test_flist_mount_unprivileged, run as its own process (as root):
``python unprivileged_child.py META TARGET CACHE WANT_FILE``. It makes a private fuse device,
drops to nobody, serves the mount and reads it from a thread; it prints "ok" or what failed,
then whether the mount is gone once the server returned."""

from __future__ import annotations

import ctypes
import os
import signal
import stat
import sys
import threading
import time
from pathlib import Path

from zos_flist.mount import serve
from zos_flist.mounts import is_mountpoint, mount_entry

NOBODY = 65534
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
CLONE_NEWNS = 0x00020000


def _private_fuse_device(node: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for result in (libc.unshare(CLONE_NEWNS),
                   libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None)):
        if result != 0:
            raise OSError(ctypes.get_errno(), "private mount namespace")
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(10, 229))
    node.chmod(0o666)
    if libc.mount(os.fsencode(node), b"/dev/fuse", None, MS_BIND, None) != 0:
        raise OSError(ctypes.get_errno(), "bind mount over /dev/fuse")


def serve_as_nobody(meta: Path, target: Path, cache: Path, want: bytes) -> None:
    """Drop to nobody, serve, and read through the mount meanwhile."""
    _private_fuse_device(target.parent / "fuse-device")
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)

    def reader() -> None:
        message = b"timeout"
        try:
            deadline = time.monotonic() + 20
            while not is_mountpoint(target) and time.monotonic() < deadline:
                time.sleep(0.05)
            entry = mount_entry(target)
            if entry is None:
                message = b"not mounted"
            elif entry.source != str(os.getpid()) or entry.fstype != "fuse.g8ufs":
                message = f"mounted as {entry.fstype} from {entry.source}".encode()
            elif (target / "data").read_bytes() != want or (target / "data").read_bytes() != want:
                message = b"wrong bytes"
            else:
                message = b"ok"
        except Exception as exc:
            message = repr(exc).encode()
        finally:
            print(message.decode(), flush=True)
            os.kill(os.getpid(), signal.SIGTERM)  # serve() unmounts and returns

    threading.Thread(target=reader, daemon=True).start()
    serve(meta, target, cache)


if __name__ == "__main__":
    meta, target, cache, want = (Path(arg) for arg in sys.argv[1:5])
    serve_as_nobody(meta, target, cache, want.read_bytes())
    # The mount lives in this process's own namespace: only here can it be seen to be gone.
    print("mounted" if is_mountpoint(target) else "unmounted", flush=True)
