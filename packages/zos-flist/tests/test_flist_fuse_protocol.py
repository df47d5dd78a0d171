"""The FUSE wire protocol and session: layouts checked against fuse.h's sizes, INIT
negotiation, and a session fed malformed and arbitrary messages over a SOCK_SEQPACKET pair
(the kernel never sends those, so a socket stands in for /dev/fuse: it keeps message
boundaries the same way). The real kernel is in the mount tests."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import stat
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zos_flist import fuse_protocol as fp
from zos_flist.cache import BlockCache
from zos_flist.fuse_protocol import Attributes
from zos_flist.fuse_session import FuseSession
from zos_flist.fusefs import FlistFS
from zos_flist.reader import FlistReader
from zos_flist.stores import router_from_routes

from .conftest import HandmadeFlist


def test_struct_sizes_match_fuse_h() -> None:
    sizes = {fp.IN_HEADER: 40, fp.OUT_HEADER: 16, fp.ATTR: 88, fp.OPEN_OUT: 16,
             fp.READ_IN: 40, fp.RELEASE_IN: 24, fp.INIT_OUT: 64, fp.STATFS_OUT: 80,
             fp.DIRENT: 24, fp.BACKING_MAP: 16}
    for layout, size in sizes.items():
        assert layout.size == size, layout.format
    assert fp.ENTRY_SIZE == 128
    assert fp.IOC_BACKING_OPEN == 0x4010E501 and fp.IOC_BACKING_CLOSE == 0x4004E502


def _init_body(minor: int, flags: int) -> memoryview:
    return memoryview(fp.INIT_IN.pack(7, minor, 131072, flags & 0xFFFFFFFF)
                      + struct.pack("<I", flags >> 32) + bytes(44))


@given(st.integers(0, (1 << 64) - 1), st.integers(0, 60), st.booleans())
def test_init_agrees_only_on_offered_flags(offered: int, minor: int, want: bool) -> None:
    request = fp.parse_init(_init_body(minor, offered))
    reply = fp.negotiate_init(request, passthrough=want)
    assert reply.flags & ~offered == 0
    assert reply.passthrough == (want and bool(offered & fp.PASSTHROUGH)
                                 and bool(offered & fp.INIT_EXT))
    major, got_minor, readahead, _flags = fp.INIT_IN.unpack_from(reply.payload)
    assert (major, got_minor, readahead) == (7, min(minor, fp.KERNEL_MINOR), 131072)
    fields = fp.INIT_OUT.unpack(reply.payload)
    assert fields[8] == 256  # max_pages
    assert fields[11] == (1 if reply.passthrough else 0)  # max_stack_depth


def test_init_from_another_major_version_is_refused() -> None:
    body = memoryview(fp.INIT_IN.pack(8, 0, 0, 0))
    with pytest.raises(fp.ProtocolError, match=r"FUSE 8\.0"):
        fp.negotiate_init(fp.parse_init(body), passthrough=True)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_parse_or_raise_protocol_error(data: bytes) -> None:
    view = memoryview(data)
    try:
        request = fp.parse_request(view)
    except fp.ProtocolError:
        return
    for decode in (fp.parse_name, fp.parse_open, fp.parse_read, fp.parse_release,
                   fp.parse_init):
        with contextlib.suppress(fp.ProtocolError):
            decode(request.body)


@given(ino=st.integers(1, (1 << 64) - 1), mode=st.integers(0, 0o177777),
       time_=st.integers(-(1 << 40), 1 << 40), major=st.integers(0, 4095),
       minor=st.integers(0, (1 << 20) - 1), name=st.binary(min_size=1, max_size=255))
def test_attributes_and_dirents_encode_like_the_kernel_decodes(
        ino: int, mode: int, time_: int, major: int, minor: int, name: bytes) -> None:
    attrs = Attributes(ino=ino, mode=mode, nlink=1, uid=1, gid=2, rdev=os.makedev(major, minor),
                       size=1000, mtime=time_, ctime=time_)
    fields = fp.ATTR.unpack(attrs.pack())
    assert fields[0] == ino and fields[2] == 2  # st_blocks = ceil(1000 / 512)
    assert fields[4] == time_ & fp.U64
    rdev = fields[13]  # the kernel's new_decode_dev
    assert ((rdev & 0xFFF00) >> 8, (rdev & 0xFF) | ((rdev >> 12) & 0xFFF00)) == (major, minor)
    record = fp.dirent(name, attrs, 7)
    assert len(record) % 8 == 0
    got_ino, offset, namelen, kind = fp.DIRENT.unpack_from(record)
    assert (got_ino, offset, namelen, kind) == (ino, 7, len(name), stat.S_IFMT(mode) >> 12)
    assert record[24 : 24 + namelen] == name


class FakeKernel:
    """The kernel's end of a session, over a SOCK_SEQPACKET pair; the session runs its own
    loop in a thread."""

    def __init__(self, ops: FlistFS, tmp: Path) -> None:
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(10)
        self.session = FuseSession(ops, tmp / "not-mounted", fsname="test", subtype="test")
        self.session.fd = theirs.detach()
        os.set_blocking(self.session.fd, False)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete,
                                       args=(self.session.serve(),), daemon=True)
        self.thread.start()
        self.unique = 1000

    def send(self, data: bytes) -> None:
        self.sock.send(data)

    def call(self, opcode: int, nodeid: int, body: bytes = b"") -> tuple[int, bytes]:
        """(errno, payload) of the reply to this request (other replies are skipped)."""
        self.unique += 1
        header = fp.IN_HEADER.pack(40 + len(body), opcode, self.unique, nodeid, 0, 0, 0, 0, 0)
        self.sock.send(header + body)
        while True:
            reply = self.sock.recv(1 << 21)
            length, error, unique = fp.OUT_HEADER.unpack_from(reply)
            assert length == len(reply)
            if unique == self.unique:
                return -error, reply[16:]

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.session.stop)
        self.thread.join(10)
        os.close(self.session.fd)
        self.session.fd = -1
        self.sock.close()
        self.loop.close()


@pytest.fixture
def kernel(handmade: HandmadeFlist, tmp_path: Path) -> Iterator[FakeKernel]:
    reader = FlistReader(handmade.path)
    router = router_from_routes(reader.routes())
    ops = FlistFS(reader, BlockCache(tmp_path / "cache", router))
    fake = FakeKernel(ops, tmp_path)
    yield fake
    fake.close()
    ops.close()
    router.close()
    reader.close()


def _root_is_served(kernel: FakeKernel) -> None:
    error, payload = kernel.call(fp.GETATTR, fp.ROOT_ID, bytes(16))
    assert error == 0
    assert stat.S_ISDIR(fp.ATTR.unpack_from(payload, fp.ATTR_PREFIX.size)[9])


def test_session_answers_requests_like_the_kernel_expects(kernel: FakeKernel) -> None:
    error, payload = kernel.call(fp.INIT, 0, _init_body(45, (1 << 64) - 1).tobytes())
    assert error == 0 and len(payload) == 64
    error, payload = kernel.call(fp.LOOKUP, fp.ROOT_ID, b"etc\0")
    assert error == 0 and len(payload) == fp.ENTRY_SIZE
    etc = fp.ENTRY_PREFIX.unpack_from(payload)[0]
    error, payload = kernel.call(fp.LOOKUP, etc, b"hello\0")
    assert error == 0
    hello = fp.ENTRY_PREFIX.unpack_from(payload)[0]
    error, payload = kernel.call(fp.LOOKUP, etc, b"missing\0")
    assert error == 0 and fp.ENTRY_PREFIX.unpack_from(payload)[:3] == (0, 0, int(3.1536e7))
    error, payload = kernel.call(fp.OPEN, hello, fp.OPEN_IN.pack(os.O_RDONLY, 0))
    fh, flags, backing = fp.OPEN_OUT.unpack(payload)
    assert error == 0 and flags == fp.FOPEN_KEEP_CACHE and backing == 0  # not cached yet
    error, payload = kernel.call(fp.READ, hello, fp.READ_IN.pack(fh, 6, 100, 0, 0, 0, 0))
    assert (error, payload) == (0, b"world")
    assert kernel.call(fp.RELEASE, hello, fp.RELEASE_IN.pack(fh, 0, 0, 0)) == (0, b"")
    error, payload = kernel.call(fp.OPEN, hello, fp.OPEN_IN.pack(os.O_RDONLY, 0))
    # Cached now: passthrough offered, but the "device" refuses the ioctl: normal mode.
    assert error == 0 and fp.OPEN_OUT.unpack(payload)[1:] == (fp.FOPEN_KEEP_CACHE, 0)
    assert kernel.call(fp.READLINK, etc, b"")[0] == errno.ENOLINK
    assert kernel.call(fp.OPENDIR, hello, bytes(8))[0] == errno.ENOTDIR
    assert kernel.call(fp.WRITE, hello, bytes(40))[0] == errno.EROFS
    assert kernel.call(fp.GETXATTR, hello, bytes(8))[0] == errno.ENOSYS
    assert kernel.call(fp.GETATTR, 999, bytes(16))[0] == errno.ENOENT
    assert kernel.call(fp.READ, hello, bytes(8))[0] == errno.EINVAL  # short arguments
    error, listing = kernel.call(fp.READDIRPLUS, fp.ROOT_ID,
                                 fp.READ_IN.pack(fp.ROOT_ID, 0, 4096, 0, 0, 0, 0))
    names = []
    while listing:
        _, _, namelen, _ = fp.DIRENT.unpack_from(listing, fp.ENTRY_SIZE)
        start = fp.ENTRY_SIZE + fp.DIRENT.size
        names.append(listing[start : start + namelen])
        listing = listing[start + ((namelen + 7) & ~7) :]
    assert names == [b".", b"..", b"etc", b"big.bin", b"empty", b"link", b"fifo", b"null"]


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.binary(max_size=300),
    st.tuples(st.integers(0, 60), st.integers(0, 3), st.binary(max_size=64)).map(
        lambda t: fp.IN_HEADER.pack(40 + len(t[2]), t[0], 7, t[1], 0, 0, 0, 0, 0) + t[2]),
))
def test_session_survives_malformed_requests(kernel: FakeKernel, message: bytes) -> None:
    if not message or message[4:8] == fp.DESTROY.to_bytes(4, "little"):
        return  # DESTROY ends the session (the kernel sends it only when unmounting)
    kernel.send(message)
    _root_is_served(kernel)
