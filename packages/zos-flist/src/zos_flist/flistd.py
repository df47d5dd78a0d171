"""flistd's implementation of :class:`zos_flist.api.Flister` (spec §4).

Layout under ``root``: ``flist/<md5>`` downloaded flists, ``cache/`` the shared block cache,
``ro/<md5>`` one shared read-only FUSE mount per flist content, ``mountpoint/<name>`` the
workload mounts, ``log/<md5>.log`` mount daemon logs. Calls are serialised by one lock (the
zbus object runs one worker upstream too), so the cleanup that ends every call never races a
half-made mount.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import httpx

from .api import (
    FlistdError,
    HashNotSupportedError,
    InvalidNameError,
    MountOptions,
    NotMountedError,
    Unit,
    UnsupportedFlistError,
)
from .cache import clean_cache
from .mounts import MountEntry, list_mounts, mount_entry, unmount

log = logging.getLogger(__name__)

FUSE_TYPE = "fuse.g8ufs"
DOWNLOAD_RETRIES = 5
DOWNLOAD_TIMEOUT = 20.0
MOUNT_WAIT = 3.0
CACHE_MAX_AGE_DAYS = 90.0
_MD5 = re.compile(r"^[0-9a-f]{32}$")


class Volumes(Protocol):
    """The storaged volume calls flistd needs; each returns the volume's path."""

    def lookup(self, name: str) -> str | None: ...

    def create(self, name: str, size: Unit) -> str: ...

    def update(self, name: str, size: Unit) -> None: ...

    def delete(self, name: str) -> None: ...


def _run(args: Sequence[str]) -> None:
    log.debug("run %s", " ".join(args))
    result = subprocess.run(list(args), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise FlistdError(f"{' '.join(args)}: {(result.stderr or result.stdout).strip()}")


def _is_dead_mount(path: Path) -> bool:
    # statfs always reaches the FUSE daemon (stat may be answered from the attribute cache).
    try:
        os.statvfs(path)
    except OSError as exc:
        return exc.errno == errno.ENOTCONN
    return False


def default_mount_command() -> list[str]:
    """The ``rfs`` equivalent flistd runs (``<cmd> mount --cache ... --meta ... TARGET``)."""
    return [sys.executable, "-m", "zos_flist.cli"]


class FlistManager:
    def __init__(self, root: str | os.PathLike[str], volumes: Volumes, *,
                 mount_command: Sequence[str] | None = None,
                 http: httpx.Client | None = None) -> None:
        self.root = Path(root).absolute()
        self.volumes = volumes
        self.mount_command = list(mount_command or default_mount_command())
        self.http = http or httpx.Client(timeout=DOWNLOAD_TIMEOUT, follow_redirects=True)
        self._lock = threading.Lock()
        for sub in ("flist", "cache", "ro", "mountpoint", "pid", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # -- paths -----------------------------------------------------------------------------

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    def mountpoint(self, name: str) -> Path:
        if not name or "/" in name or name in (".", "..") or "\0" in name:
            raise InvalidNameError(f"invalid mount name {name!r}: must be one path component")
        return self.root / "mountpoint" / name

    # -- Flister ---------------------------------------------------------------------------

    def mount(self, name: str, url: str, opts: MountOptions) -> str:
        target = self.mountpoint(name)
        with self._lock:
            try:
                return str(self._mount(name, target, url, opts))
            finally:
                self._cleanup_unused()

    def update_mount_size(self, name: str, limit: Unit) -> str:
        target = self.mountpoint(name)
        with self._lock:
            if mount_entry(target) is None:
                raise NotMountedError(f"mount {name} is not mounted")
            self.volumes.update(name, limit)
            return str(target)

    def unmount(self, name: str) -> None:
        target = self.mountpoint(name)
        with self._lock:
            try:
                if mount_entry(target) is not None:
                    unmount(target, lazy=_is_dead_mount(target))
                if target.is_dir():
                    target.rmdir()
                self.volumes.delete(name)  # always, as upstream
            finally:
                self._cleanup_unused()

    def hash_from_root_path(self, name: str) -> str:
        target = self.mountpoint(name)
        entry = mount_entry(target)
        if entry is None:
            raise NotMountedError(f"mount {name} is not mounted")
        fuse = self._fuse_behind(entry)
        if fuse is None:
            raise FlistdError(f"mount {name}: no flist mount behind it")
        return self._md5_of_daemon(int(fuse.source))

    def flist_hash(self, url: str) -> str:
        try:
            answer = self.http.get(url + ".md5")
        except httpx.HTTPError as exc:
            raise FlistdError(f"GET {url}.md5: {exc}") from None
        if answer.status_code == 404:
            raise HashNotSupportedError("hash not supported")
        if answer.status_code != 200:
            raise FlistdError(f"GET {url}.md5: HTTP {answer.status_code}")
        text = answer.text.strip()
        if not _MD5.match(text):
            raise FlistdError(f"GET {url}.md5: not an md5: {text[:40]!r}")
        return text

    def exists(self, name: str) -> bool:
        target = self.mountpoint(name)
        return mount_entry(target) is not None and not _is_dead_mount(target)

    # -- mount steps -----------------------------------------------------------------------

    def _mount(self, name: str, target: Path, url: str, opts: MountOptions) -> Path:
        if mount_entry(target) is not None:
            if not _is_dead_mount(target):
                return target
            log.warning("%s: dead mount (transport endpoint is not connected): remounting",
                        target)
            unmount(target, lazy=True)
        path = urllib.parse.urlsplit(url).path
        if path.endswith(".flist"):
            raise UnsupportedFlistError(
                f"unsupported flist format: {url} (old .flist files are not supported)"
            )
        if not path.endswith(".fl"):
            raise UnsupportedFlistError(f"unknown extension: {url}")
        md5 = self._download(url)
        ro = self._ensure_ro_mount(md5)
        target.mkdir(exist_ok=True)
        if opts.ReadOnly:
            try:
                _run(["mount", "--bind", str(ro), str(target)])
            except BaseException:
                target.rmdir()
                raise
            return target
        self._mount_overlay(name, target, ro, opts)
        return target

    def _download(self, url: str) -> str:
        """Download to a temp file while hashing, rename to ``flist/<md5>``; return md5."""
        flists = self.root / "flist"
        tmp = flists / f".download-{os.getpid()}-{threading.get_ident()}"
        parts = urllib.parse.urlsplit(url)
        last: Exception | None = None
        for attempt in range(DOWNLOAD_RETRIES):
            digest = hashlib.md5()
            try:
                if parts.scheme == "file":
                    with Path(urllib.parse.unquote(parts.path)).open("rb") as src, \
                            tmp.open("wb") as out:
                        while chunk := src.read(1 << 20):
                            digest.update(chunk)
                            out.write(chunk)
                else:
                    with self.http.stream("GET", url) as answer, tmp.open("wb") as out:
                        if answer.status_code != 200:
                            raise FlistdError(f"GET {url}: HTTP {answer.status_code}")
                        for chunk in answer.iter_bytes():
                            digest.update(chunk)
                            out.write(chunk)
                md5 = digest.hexdigest()
                tmp.replace(flists / md5)
                return md5
            except (httpx.HTTPError, OSError) as exc:
                last = exc
                log.warning("download %s (attempt %d): %s", url, attempt + 1, exc)
                time.sleep(min(0.2 * 2**attempt, 2.0))
            except FlistdError:
                tmp.unlink(missing_ok=True)
                raise
        tmp.unlink(missing_ok=True)
        raise FlistdError(f"download {url}: {last}")

    def _ensure_ro_mount(self, md5: str) -> Path:
        ro = self.root / "ro" / md5
        if mount_entry(ro) is not None:
            if not _is_dead_mount(ro):
                return ro
            unmount(ro, lazy=True)
        ro.mkdir(exist_ok=True)
        args = [*self.mount_command, "mount", "--cache", str(self.cache_dir), "--meta",
                str(self.root / "flist" / md5), "--daemon", "--log",
                str(self.root / "log" / f"{md5}.log"), str(ro)]
        _run(args)
        deadline = time.monotonic() + MOUNT_WAIT
        while mount_entry(ro) is None:
            if time.monotonic() > deadline:
                raise FlistdError(f"flist {md5} did not mount on {ro} in {MOUNT_WAIT:.0f}s")
            time.sleep(0.1)
        return ro

    def _mount_overlay(self, name: str, target: Path, ro: Path, opts: MountOptions) -> None:
        created = False
        if opts.PersistedVolume:
            volume = Path(opts.PersistedVolume)
        else:
            found = self.volumes.lookup(name)
            if found is None:
                found = self.volumes.create(name, opts.Limit)
                created = True
            volume = Path(found)
        try:
            (volume / "rw").mkdir(parents=True, exist_ok=True)
            (volume / "wd").mkdir(parents=True, exist_ok=True)
            options = f"lowerdir={ro},upperdir={volume / 'rw'},workdir={volume / 'wd'},noatime"
            _run(["mount", "-t", "overlay", "overlay", "-o", options, str(target)])
        except BaseException:
            if target.is_dir() and mount_entry(target) is None:
                target.rmdir()
            if created:
                self.volumes.delete(name)
            raise

    # -- cleanup ---------------------------------------------------------------------------

    def _fuse_behind(self, entry: MountEntry) -> MountEntry | None:
        if entry.fstype == FUSE_TYPE:
            return entry
        if entry.fstype == "overlay":
            lower = entry.super_option("lowerdir")
            if lower:
                below = mount_entry(lower.split(":")[0])
                if below is not None and below.fstype == FUSE_TYPE:
                    return below
        return None

    def _md5_of_daemon(self, pid: int) -> str:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError as exc:
            raise FlistdError(f"flist daemon {pid}: {exc.strerror}") from None
        # Only after the `mount` subcommand: `python -m zos_flist.cli` has a -m of its own.
        start = argv.index(b"mount") + 1 if b"mount" in argv else 0
        for i in range(start, len(argv) - 1):
            if argv[i] in (b"--meta", b"-m"):
                return Path(os.fsdecode(argv[i + 1])).name
        raise FlistdError(f"flist daemon {pid}: no --meta argument")

    def _cleanup_unused(self) -> None:
        """Unmount ``ro/`` FUSE mounts no workload uses; remove stale mount directories."""
        ro_root = str(self.root / "ro") + "/"
        mp_root = str(self.root / "mountpoint") + "/"
        mounts = list_mounts()
        used: set[str] = set()
        for entry in mounts:
            if entry.target.startswith(mp_root):
                fuse = self._fuse_behind(entry)
                if fuse is not None:
                    used.add(fuse.source)
        for entry in mounts:
            if entry.target.startswith(ro_root) and entry.fstype == FUSE_TYPE \
                    and entry.source not in used:
                log.info("unmounting unused flist mount %s", entry.target)
                try:
                    unmount(entry.target, lazy=_is_dead_mount(Path(entry.target)))
                    Path(entry.target).rmdir()
                except OSError as exc:
                    log.error("cleanup %s: %s", entry.target, exc)
        live = {e.target for e in list_mounts()}
        for sub in ("mountpoint", "ro"):
            for child in (self.root / sub).iterdir():
                if str(child) not in live and child.is_dir():
                    try:
                        child.rmdir()
                    except OSError as exc:
                        log.error("cleanup %s: %s", child, exc)

    def clean_cache(self) -> int:
        return clean_cache(self.cache_dir, CACHE_MAX_AGE_DAYS)


class DirectoryVolumes:
    """Plain directories as volumes (no quota): a stand-in where storaged is not running."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        if not name or "/" in name or name in (".", ".."):
            raise InvalidNameError(f"invalid volume name {name!r}")
        return self.root / name

    def lookup(self, name: str) -> str | None:
        path = self._path(name)
        return str(path) if path.is_dir() else None

    def create(self, name: str, size: Unit) -> str:
        path = self._path(name)
        path.mkdir(exist_ok=True)
        return str(path)

    def update(self, name: str, size: Unit) -> None:
        if self.lookup(name) is None:
            raise FlistdError(f"subvolume '{name}' not found")

    def delete(self, name: str) -> None:
        shutil.rmtree(self._path(name), ignore_errors=True)
