"""The flist module's contract (flistd): mount flists for workloads.

Wire names follow upstream ZOS (``pkg/flist.go``): module ``flist``, object ``flist``, version
``0.0.1``, interface ``Flister``. Struct fields keep their Go names (zbus encodes structs as
maps keyed by Go field name). Sizes are bytes (``gridtypes.Unit``).

- ``mount(name, url, opts)``: download the flist at ``url`` (a ``.fl``), share one read-only
  FUSE mount per distinct flist content (named by its MD5), and return ``mountpoint/<name>``:
  a bind mount of it (``ReadOnly``) or an overlay whose upper layer is a storaged volume
  (writable). Idempotent.
- ``unmount(name)``: undo it and **always** delete the storaged volume ``name`` (upstream
  behaviour): a ``PersistedVolume`` must therefore never be named like its mount.
- ``hash_from_root_path(name)``: MD5 of the flist behind a mount; ``flist_hash(url)``: the
  hub's ``url + ".md5"``; ``exists(name)``: ``mountpoint/<name>`` is a live mount.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

import zos_zbus as zbus
from zos_zbus import U64

MODULE = "flist"
OBJECT = "flist"
VERSION = "0.0.1"

Unit = U64
"""gridtypes.Unit: a size in bytes (uint64 on the wire)."""

DEFAULT_LIMIT: Unit = 256 * 1024 * 1024


class MountOptions(BaseModel):
    """upstream ``pkg.MountOptions``."""

    __go_type__ = "pkg.MountOptions"
    model_config = ConfigDict(frozen=True, extra="ignore")

    ReadOnly: bool = False
    Limit: Unit = 0
    """Quota of the writable layer (bytes)."""
    Storage: str = ""
    """Store URL override; only meaningful for old ``.flist`` files (unsupported here)."""
    PersistedVolume: str = ""
    """Path of an existing volume to use as the writable layer instead of a new one."""


DEFAULT_MOUNT_OPTIONS = MountOptions(ReadOnly=False, Limit=DEFAULT_LIMIT)
READ_ONLY_MOUNT_OPTIONS = MountOptions(ReadOnly=True)


class FlistdError(zbus.CallError):
    """Any failure of a flistd call; the message says what was wrong."""


class InvalidNameError(FlistdError):
    """A mount name that is not a single path component."""


class NotMountedError(FlistdError):
    """``update_mount_size`` on a name that is not mounted."""


class HashNotSupportedError(FlistdError):
    """The hub has no ``.md5`` for that flist."""


class UnsupportedFlistError(FlistdError):
    """An old-format ``.flist`` or an unknown extension."""


def error_from_message(message: str) -> FlistdError:
    """Rebuild the typed error from the text a zbus call error carries."""
    if message.startswith("invalid mount name"):
        return InvalidNameError(message)
    if message.endswith("is not mounted"):
        return NotMountedError(message)
    if message == "hash not supported":
        return HashNotSupportedError(message)
    if message.startswith(("unsupported flist format", "unknown extension")):
        return UnsupportedFlistError(message)
    return FlistdError(message)


_RAISES = (FlistdError, OSError)
"""What a handler raises as the Go ``error`` return (anything else is a zbus panic)."""


@zbus.interface(module=MODULE, object=OBJECT, version=VERSION)
class Flister:
    """upstream ``pkg.Flister``. Python clients: ``zbus.Client(url).stub(Flister)``; a failing
    call raises ``zbus.RemoteCallError`` (see :func:`error_from_message`)."""

    @zbus.method("Mount", raises=_RAISES)
    async def mount(self, name: str, url: str, opts: MountOptions) -> str:
        """Mount the flist at ``url`` for workload ``name``; returns the mount path."""
        raise NotImplementedError

    @zbus.method("UpdateMountSize", raises=_RAISES)
    async def update_mount_size(self, name: str, limit: Unit) -> str:
        """Set the quota of the writable layer of mount ``name``; returns its path."""
        raise NotImplementedError

    @zbus.method("Unmount", raises=_RAISES)
    async def unmount(self, name: str) -> None:
        """Unmount ``name`` and delete the storaged volume of that name."""
        raise NotImplementedError

    @zbus.method("HashFromRootPath", raises=_RAISES)
    async def hash_from_root_path(self, name: str) -> str:
        """MD5 of the flist mounted as ``name``."""
        raise NotImplementedError

    @zbus.method("FlistHash", raises=_RAISES)
    async def flist_hash(self, url: str) -> str:
        """The hub's MD5 of the flist at ``url`` (``url + ".md5"``)."""
        raise NotImplementedError

    @zbus.method("Exists", raises=_RAISES)
    async def exists(self, name: str) -> bool:
        """Whether ``mountpoint/<name>`` is a live mount."""
        raise NotImplementedError


GO_METHODS: dict[str, str] = {
    "mount": "Mount",
    "update_mount_size": "UpdateMountSize",
    "unmount": "Unmount",
    "hash_from_root_path": "HashFromRootPath",
    "flist_hash": "FlistHash",
    "exists": "Exists",
}
"""Python method -> upstream Go method name (the zbus ``Method`` field)."""
