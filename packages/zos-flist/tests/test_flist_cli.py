"""The `zos-flist` command line: pack, inspect, tag, clone, unpack and its errors."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from zos_flist.stores import parse_route_spec


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zos_flist.cli", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def test_pack_inspect_tag_clone_unpack(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d" / "f").write_bytes(b"content" * 100_000)
    (src / "l").symlink_to("d/f")
    meta = tmp_path / "x.fl"
    packed = cli("pack", "-m", str(meta), "-s", f"00-7f=dir://{tmp_path}/a",
                 "-s", f"80-ff=dir://{tmp_path}/b", "-t", "version=1.2", "-t", "author=me",
                 str(src))
    assert packed.returncode == 0, packed.stderr
    assert "blocks into" in packed.stdout

    info = json.loads(cli("inspect", "-m", str(meta), "--json").stdout)
    assert info["files"] == 1 and info["symlinks"] == 1 and info["directories"] == 2
    assert info["content_bytes"] == 700_000
    assert info["tags"] == {"version": "1.2", "author": "me"}
    assert info["routes"] == [f"00-7f=dir://{tmp_path}/a", f"80-ff=dir://{tmp_path}/b"]
    tree = cli("inspect", "-m", str(meta), "--tree").stdout
    assert "/d/f" in tree and "/l -> d/f" in tree

    assert cli("tag", "-m", str(meta), "add", "description=test flist").returncode == 0
    assert cli("tag", "-m", str(meta), "delete", "author").returncode == 0
    assert cli("tag", "-m", str(meta), "list").stdout.splitlines() == [
        "description=test flist", "version=1.2"]

    prefetched = cli("prefetch", "-m", str(meta), "-c", str(tmp_path / "pcache"), "d/f")
    assert prefetched.returncode == 0, prefetched.stderr
    assert prefetched.stdout.startswith("2 blocks")
    assert len([p for p in (tmp_path / "pcache").rglob("*") if p.is_file()
                and not p.name.endswith(".lock")]) == 2
    missing = cli("prefetch", "-m", str(meta), "-c", str(tmp_path / "pcache"), "nope")
    assert missing.returncode == 1 and "no regular file at 'nope'" in missing.stderr

    cloned = tmp_path / "clone.fl"
    result = cli("clone", "-m", str(meta), "-s", f"dir://{tmp_path}/c", "-o", str(cloned))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "copied 2 blocks"
    out = tmp_path / "out"
    assert cli("unpack", "-m", str(cloned), str(out)).returncode == 0
    assert (out / "d/f").read_bytes() == b"content" * 100_000
    assert (out / "l").readlink() == Path("d/f")
    # URL rewrite (off by default) lets an flist be read from a copy of its store.
    (tmp_path / "a").rename(tmp_path / "a2")
    out2 = tmp_path / "out2"
    result = cli("unpack", "-m", str(meta), "-c", str(tmp_path / "cache"), "--rewrite",
                 f"dir://{tmp_path}/a=dir://{tmp_path}/a2", str(out2))
    assert result.returncode == 0, result.stderr
    assert hashlib.sha256((out2 / "d/f").read_bytes()).digest() == hashlib.sha256(
        b"content" * 100_000).digest()


def test_bad_input_gives_clear_errors(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    result = cli("pack", "-m", str(tmp_path / "x.fl"), "-s", "ftp://x/y", str(src))
    assert result.returncode == 1 and "unknown store type 'ftp'" in result.stderr
    result = cli("pack", "-m", str(tmp_path / "x.fl"), "-s", "http://127.0.0.1:1/b", str(src))
    assert result.returncode == 0  # an empty directory has no blocks to upload
    (src / "f").write_bytes(b"x")
    result = cli("pack", "-m", str(tmp_path / "y.fl"), "-s", "http://127.0.0.1:1/b", str(src))
    assert result.returncode == 1 and "read-only" in result.stderr
    assert not (tmp_path / "y.fl").exists()
    old = tmp_path / "old.flist"
    old.write_bytes(gzip.compress(b"tar data"))
    result = cli("inspect", "-m", str(old))
    assert result.returncode == 1 and "unsupported flist format" in result.stderr
    result = cli("pack", "-m", str(tmp_path / "z.fl"), "-s", f"dir://{tmp_path}/s",
                 "-t", "novalue", str(src))
    assert result.returncode == 1 and "KEY=VALUE" in result.stderr
    # An unreachable store names the store.
    meta = tmp_path / "ok.fl"
    assert cli("pack", "-m", str(meta), "-s", f"dir://{tmp_path}/s2", str(src)).returncode == 0
    result = cli("unpack", "-m", str(meta), "--rewrite",
                 f"dir://{tmp_path}/s2=zdb://127.0.0.1:1", str(tmp_path / "u"))
    assert result.returncode == 1 and "zdb://127.0.0.1:1" in result.stderr


@given(st.integers(0, 255), st.integers(0, 255), st.text(min_size=1, max_size=20))
def test_route_spec_parser(start: int, end: int, tail: str) -> None:
    spec = f"{start:02x}-{end:02x}=dir:///{tail}"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in tail):
        try:
            parse_route_spec(spec)
        except ValueError as exc:
            assert "control characters" in str(exc)
        else:
            raise AssertionError("accepted control characters")
    elif start <= end:
        assert parse_route_spec(spec) == (start, end, f"dir:///{tail}")
    else:
        try:
            parse_route_spec(spec)
        except ValueError as exc:
            assert "after end" in str(exc)
        else:
            raise AssertionError("accepted a reversed range")


def test_flister_matches_the_bus_map() -> None:
    from zos_flist.api import Flister
    from zos_zbus.busmap import check_interface

    assert check_interface(Flister) == []
