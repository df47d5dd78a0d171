"""The kernel's FUSE wire protocol (``include/uapi/linux/fuse.h``, 7.40): what a read-only
server needs, as struct layouts and pure encode/decode functions.

Nothing here touches a file descriptor: `fuse_session` reads requests from ``/dev/fuse``,
decodes them with these functions and writes what they encode. Every decoder raises
`ProtocolError` on a short or malformed message, never another exception.
"""

from __future__ import annotations

import stat
import struct
from dataclasses import dataclass

KERNEL_VERSION = 7
KERNEL_MINOR = 40
"""The minor version we speak: 7.40 added passthrough (``backing_id`` in the open reply and
``max_stack_depth`` in the init reply). Structures of older minors are prefixes of these."""
ROOT_ID = 1

# Opcodes (enum fuse_opcode).
LOOKUP, FORGET, GETATTR, SETATTR, READLINK, SYMLINK = 1, 2, 3, 4, 5, 6
MKNOD, MKDIR, UNLINK, RMDIR, RENAME, LINK, OPEN, READ, WRITE, STATFS, RELEASE = (
    8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
FSYNC, SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR, FLUSH, INIT = 20, 21, 22, 23, 24, 25, 26
OPENDIR, READDIR, RELEASEDIR, FSYNCDIR, GETLK, SETLK, SETLKW, ACCESS, CREATE = (
    27, 28, 29, 30, 31, 32, 33, 34, 35)
INTERRUPT, BMAP, DESTROY, IOCTL, POLL, NOTIFY_REPLY, BATCH_FORGET, FALLOCATE = (
    36, 37, 38, 39, 40, 41, 42, 43)
READDIRPLUS, RENAME2, LSEEK, COPY_FILE_RANGE = 44, 45, 46, 47
NO_REPLY = frozenset({FORGET, BATCH_FORGET, INTERRUPT, NOTIFY_REPLY})
"""Requests the kernel expects no reply to."""
MODIFYING = frozenset({SETATTR, SYMLINK, MKNOD, MKDIR, UNLINK, RMDIR, RENAME, LINK, WRITE,
                       SETXATTR, REMOVEXATTR, CREATE, FALLOCATE, RENAME2, COPY_FILE_RANGE})
"""Requests that would change the file system: answered EROFS."""

# INIT flags (bits 32.. travel in flags2).
ASYNC_READ = 1 << 0
DO_READDIRPLUS = 1 << 13
READDIRPLUS_AUTO = 1 << 14
PARALLEL_DIROPS = 1 << 18
MAX_PAGES = 1 << 22
CACHE_SYMLINKS = 1 << 23
INIT_EXT = 1 << 30
PASSTHROUGH = 1 << 37
NO_EXPORT_SUPPORT = 1 << 38

# Open reply flags.
FOPEN_DIRECT_IO = 1 << 0
FOPEN_KEEP_CACHE = 1 << 1
FOPEN_CACHE_DIR = 1 << 3
FOPEN_PASSTHROUGH = 1 << 7

# /dev/fuse ioctls: _IOW(229, 1, struct fuse_backing_map) and _IOW(229, 2, uint32_t).
IOC_BACKING_OPEN = (1 << 30) | (16 << 16) | (229 << 8) | 1
IOC_BACKING_CLOSE = (1 << 30) | (4 << 16) | (229 << 8) | 2

IN_HEADER = struct.Struct("<IIQQIIIHH")  # len opcode unique nodeid uid gid pid extlen pad
OUT_HEADER = struct.Struct("<IiQ")  # len error unique
ATTR = struct.Struct("<QQQQQQIIIIIIIIII")
ENTRY_PREFIX = struct.Struct("<QQQQII")  # nodeid generation entry_valid attr_valid nsecs
ATTR_PREFIX = struct.Struct("<QII")  # attr_valid attr_valid_nsec dummy
OPEN_OUT = struct.Struct("<QIi")  # fh open_flags backing_id
OPEN_IN = struct.Struct("<II")  # flags open_flags
READ_IN = struct.Struct("<QQIIQII")  # fh offset size read_flags lock_owner flags padding
RELEASE_IN = struct.Struct("<QIIQ")  # fh flags release_flags lock_owner
INIT_IN = struct.Struct("<IIII")  # major minor max_readahead flags
INIT_OUT = struct.Struct("<IIIIHHIIHHII24x")
STATFS_OUT = struct.Struct("<QQQQQIIII24x")
DIRENT = struct.Struct("<QQII")  # ino off namelen type
BACKING_MAP = struct.Struct("<iIQ")  # fd flags padding

ENTRY_SIZE = ENTRY_PREFIX.size + ATTR.size
U64 = (1 << 64) - 1


class ProtocolError(Exception):
    """A message from the kernel that does not parse (short, or lengths that disagree)."""


@dataclass(frozen=True, slots=True)
class Attributes:
    """What a server says about an inode (``struct fuse_attr``); times in whole seconds."""
    ino: int
    mode: int
    nlink: int
    uid: int
    gid: int
    rdev: int
    size: int
    mtime: int
    ctime: int

    def pack(self) -> bytes:
        # atime = mtime (spec §3.2). Negative times wrap like the kernel's u64 fields;
        # rdev's low 32 bits are the kernel's new_encode_dev form for every major below 4096.
        return ATTR.pack(self.ino, self.size, -(-self.size // 512), self.mtime & U64,
                         self.mtime & U64, self.ctime & U64, 0, 0, 0, self.mode, self.nlink,
                         self.uid, self.gid, self.rdev & 0xFFFFFFFF, 4096, 0)


@dataclass(frozen=True, slots=True)
class Request:
    opcode: int
    unique: int
    nodeid: int
    uid: int
    gid: int
    pid: int
    body: memoryview
    """The opcode's arguments (after the header and any extensions)."""


def parse_request(data: memoryview) -> Request:
    if len(data) < IN_HEADER.size:
        raise ProtocolError(f"request of {len(data)} bytes is shorter than its header")
    length, opcode, unique, nodeid, uid, gid, pid, extlen, _ = IN_HEADER.unpack_from(data)
    if length != len(data):
        raise ProtocolError(f"request says {length} bytes, read {len(data)}")
    end = length - extlen * 8  # extensions (7.38) trail the arguments
    if end < IN_HEADER.size:
        raise ProtocolError(f"request extensions of {extlen * 8} bytes do not fit")
    return Request(opcode, unique, nodeid, uid, gid, pid, data[IN_HEADER.size : end])


def _need(body: memoryview, size: int, what: str) -> None:
    if len(body) < size:
        raise ProtocolError(f"{what} arguments of {len(body)} bytes, need {size}")


def parse_name(body: memoryview) -> bytes:
    """A NUL-terminated name (LOOKUP)."""
    raw = bytes(body)
    end = raw.find(b"\0")
    if end < 0:
        raise ProtocolError("name without its terminating NUL")
    return raw[:end]


def parse_open(body: memoryview) -> int:
    _need(body, 4, "open")  # flags; open_flags came in 7.38 (OPEN_IN.size)
    return int.from_bytes(body[:4], "little")


def parse_read(body: memoryview) -> tuple[int, int, int]:
    """(fh, offset, size) of READ or READDIR(PLUS)."""
    _need(body, 20, "read")
    fh, offset, size = struct.unpack_from("<QQI", body)
    return fh, offset, size


def parse_release(body: memoryview) -> int:
    _need(body, 8, "release")
    return int.from_bytes(body[:8], "little")


@dataclass(frozen=True, slots=True)
class InitRequest:
    major: int
    minor: int
    max_readahead: int
    flags: int
    """flags | flags2 << 32 (flags2 only when INIT_EXT is set)."""


def parse_init(body: memoryview) -> InitRequest:
    _need(body, INIT_IN.size, "init")
    major, minor, max_readahead, flags = INIT_IN.unpack_from(body)
    if flags & INIT_EXT and len(body) >= INIT_IN.size + 4:
        flags |= int.from_bytes(body[16:20], "little") << 32
    return InitRequest(major, minor, max_readahead, flags)


@dataclass(frozen=True, slots=True)
class InitReply:
    flags: int
    """What both sides agreed on."""
    payload: bytes

    @property
    def passthrough(self) -> bool:
        return bool(self.flags & PASSTHROUGH)


WANTED = (ASYNC_READ | DO_READDIRPLUS | READDIRPLUS_AUTO | PARALLEL_DIROPS | MAX_PAGES
          | CACHE_SYMLINKS | NO_EXPORT_SUPPORT | INIT_EXT)
MAX_PAGES_WANTED = 256
"""1 MiB requests (the kernel's own limit is 256 pages unless raised by sysctl)."""


def negotiate_init(request: InitRequest, *, passthrough: bool) -> InitReply:
    """The INIT reply: the kernel's flags we want, requests of up to 1 MiB, passthrough when
    asked for and offered.

    ``max_stack_depth`` 1: backing files must sit on a plain file system (not on another
    stacked one), and an overlay may still stack on this mount (flistd's RW layers do;
    overlayfs allows a lower layer of depth 1 at most)."""
    if request.major != KERNEL_VERSION:
        raise ProtocolError(f"kernel speaks FUSE {request.major}.{request.minor}, "
                            f"we speak {KERNEL_VERSION}.{KERNEL_MINOR}")
    wanted = WANTED | (PASSTHROUGH if passthrough else 0)
    agreed = request.flags & wanted
    if not agreed & INIT_EXT:
        agreed &= (1 << 32) - 1
    minor = min(request.minor, KERNEL_MINOR)
    payload = INIT_OUT.pack(
        KERNEL_VERSION, minor, request.max_readahead, agreed & 0xFFFFFFFF,
        16, 12,  # max_background, congestion_threshold (libfuse's defaults are 12 and 9)
        4096, 1,  # max_write (read-only: the minimum), time_gran (ns)
        MAX_PAGES_WANTED, 0,  # max_pages, map_alignment
        agreed >> 32, 1 if agreed & PASSTHROUGH else 0)  # flags2, max_stack_depth
    return InitReply(agreed, payload)


def reply_header(unique: int, payload_size: int, error: int = 0) -> bytes:
    """``error`` is a positive errno (sent negated)."""
    return OUT_HEADER.pack(OUT_HEADER.size + payload_size, -error, unique)


def entry(attrs: Attributes, ttl: float) -> bytes:
    seconds, nsec = _split(ttl)
    return ENTRY_PREFIX.pack(attrs.ino, 0, seconds, seconds, nsec, nsec) + attrs.pack()


def negative_entry(ttl: float) -> bytes:
    """A lookup reply for a name that does not exist, cached for ``ttl`` (nodeid 0): the
    caller sees ENOENT, and the kernel does not ask again (the content is immutable)."""
    seconds, nsec = _split(ttl)
    return ENTRY_PREFIX.pack(0, 0, seconds, 0, nsec, 0) + bytes(ATTR.size)


def attr_reply(attrs: Attributes, ttl: float) -> bytes:
    seconds, nsec = _split(ttl)
    return ATTR_PREFIX.pack(seconds, nsec, 0) + attrs.pack()


def open_reply(fh: int, flags: int, backing_id: int = 0) -> bytes:
    return OPEN_OUT.pack(fh, flags, backing_id)


def statfs_reply(*, bsize: int, frsize: int, namelen: int) -> bytes:
    return STATFS_OUT.pack(0, 0, 0, 0, 0, bsize, namelen, frsize, 0)


def _split(ttl: float) -> tuple[int, int]:
    seconds = int(ttl)
    return seconds, int((ttl - seconds) * 1e9)


def _padded(size: int) -> int:
    return (size + 7) & ~7


def dirent(name: bytes, attrs: Attributes, offset: int) -> bytes:
    """One READDIR entry; ``offset`` is what the kernel sends back to continue after it."""
    record = DIRENT.pack(attrs.ino, offset, len(name), stat.S_IFMT(attrs.mode) >> 12) + name
    return record + bytes(_padded(len(record)) - len(record))


def direntplus(name: bytes, attrs: Attributes, offset: int, ttl: float) -> bytes:
    """One READDIRPLUS entry: the lookup reply and the dirent. Like a LOOKUP, it gives the
    kernel a reference to the inode (we keep no per-inode state, so FORGETs need no work)."""
    return entry(attrs, ttl) + dirent(name, attrs, offset)
