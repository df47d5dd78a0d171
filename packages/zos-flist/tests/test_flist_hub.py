"""The local dev hub over loopback: read API as upstream 0-hub, block store, publish."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from zos_flist.hub import HubServer, publish
from zos_flist.reader import FlistReader
from zos_flist.stores import router_from_routes
from zos_flist.unpack import unpack


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubServer]:
    server = HubServer(tmp_path / "hub", "127.0.0.1", 0).start()
    yield server
    server.stop()


def _src(tmp_path: Path, name: str, content: bytes) -> Path:
    src = tmp_path / name
    src.mkdir()
    (src / "bin").mkdir()
    (src / "bin" / "tool").write_bytes(content)
    return src


def test_publish_and_read_api(hub: HubServer, tmp_path: Path) -> None:
    root = hub.layout.root
    p = publish(root, _src(tmp_path, "a", b"tool v1\n" * 1000), repo="zos", name="storaged-1.0",
                hub_url=hub.url, tag="v1", taglink="development")
    assert p.flist == root / "public/zos/storaged-1.0.fl"
    assert (root / "public/zos/.tag-v1/storaged-1.0.fl").readlink() == Path(
        "../../zos/storaged-1.0.fl")
    assert (root / "public/tf-zos/development").readlink() == Path("../zos/.tag-v1")
    (root / "public/zos/storaged.fl").symlink_to("storaged-1.0.fl")
    client = httpx.Client(base_url=hub.url)

    listing = client.get("/api/flist/zos")
    assert listing.status_code == 200 and listing.text.endswith("\n")
    assert listing.headers["access-control-allow-origin"] == "*"
    entries = {e["name"]: e for e in listing.json()}
    assert set(entries) == {"storaged-1.0.fl", "storaged.fl", "v1"}
    reg = entries["storaged-1.0.fl"]
    assert reg["type"] == "regular" and reg["size"].endswith(" KB")
    assert isinstance(reg["updated"], int)
    assert entries["storaged.fl"]["type"] == "symlink"
    assert entries["storaged.fl"]["target"] == "storaged-1.0.fl"
    assert "linktime" in entries["storaged.fl"]
    assert entries["v1"] == {"name": "v1", "size": "0 KB",
                             "updated": entries["v1"]["updated"], "type": "tag"}

    links = {e["name"]: e for e in client.get("/api/flist/tf-zos").json()}
    assert links["development"]["type"] == "taglink"
    assert links["development"]["target"] == "zos/tags/v1"
    assert client.get("/api/flist/tf-zos/development/taglink").json() == {
        "target": "zos/tags/v1"}

    tag = client.get("/api/flist/zos/tags/v1").json()
    assert [(e["name"], e["type"], e["target"]) for e in tag] == [
        ("storaged-1.0.fl", "symlink", "zos/storaged-1.0.fl")]

    data = p.flist.read_bytes()
    md5 = hashlib.md5(data).hexdigest()
    light = client.get("/api/flist/zos/storaged-1.0.fl/light").json()
    assert light == {"name": "storaged-1.0.fl", "size": len(data),
                     "updated": light["updated"], "type": "regular", "md5": md5}
    light = client.get("/api/flist/zos/storaged.fl/light").json()
    assert light["type"] == "symlink" and light["target"] == "storaged-1.0.fl"
    assert light["md5"] == md5 and "linktime" in light

    assert client.get("/zos/storaged-1.0.fl").content == data
    assert client.get("/zos/storaged.fl").content == data
    assert client.get("/zos/tags/v1/storaged-1.0.fl").content == data
    md5_answer = client.get("/zos/storaged-1.0.fl.md5")
    assert md5_answer.text == md5 + "\n"
    assert md5_answer.headers["content-type"].startswith("text/plain")

    missing_repo = client.get("/api/flist/nobody/x.fl/light")
    assert missing_repo.status_code == 404
    assert missing_repo.json() == {"status": "error", "message": "user not found"}
    missing = client.get("/api/flist/zos/nothing/light")
    assert missing.json() == {"status": "error", "message": "source not found"}
    assert client.get("/api/flist/nobody").status_code == 404
    assert client.get("/zos/nothing.fl.md5").status_code == 404
    assert client.get("/zos/..%2f..%2fetc%2fpasswd").status_code == 404


def test_published_flist_unpacks_from_the_hub_block_store(hub: HubServer,
                                                          tmp_path: Path) -> None:
    content = os.urandom(1_200_000)
    p = publish(hub.layout.root, _src(tmp_path, "b", content), repo="vm", name="img",
                hub_url=hub.url)
    with FlistReader(p.flist) as reader:
        routes = reader.routes()
        assert [(r.start, r.end, r.url) for r in routes] == [(0, 255, hub.url + "/blocks")]
        out = tmp_path / "out"
        unpack(reader, out, router_from_routes(routes))
    assert (out / "bin/tool").read_bytes() == content
    blob = next(p for p in hub.layout.blocks.rglob("*") if p.is_file())
    assert httpx.get(f"{hub.url}/blocks/{blob.name}").content == blob.read_bytes()
    assert httpx.get(f"{hub.url}/blocks/{blob.name[:2]}/{blob.name}").status_code == 200
    assert httpx.get(f"{hub.url}/blocks/00/{'0' * 64}").status_code == 404


def test_hub_cli_serves_and_publishes(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    root = tmp_path / "hubroot"
    published = subprocess.run(
        [sys.executable, "-m", "zos_flist.hub.cli", "publish", "--root", str(root), "--url", url,
         "--repo", "r", "--name", "n", str(_src(tmp_path, "c", b"x"))],
        capture_output=True, text=True, check=True, timeout=60)
    assert published.stdout.strip() == f"{url}/r/n.fl"
    proc = subprocess.Popen([sys.executable, "-m", "zos_flist.hub.cli", "serve", "--root",
                             str(root), "--listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = httpx.get(f"{url}/r/n.fl.md5")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert answer.text.strip() == hashlib.md5((root / "public/r/n.fl").read_bytes()).hexdigest()
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


def test_publish_an_existing_fl_and_bad_names(hub: HubServer, tmp_path: Path) -> None:
    existing = tmp_path / "given.fl"
    publish(hub.layout.root, _src(tmp_path, "d", b"d"), repo="tmp", name="given",
            hub_url=hub.url)
    existing.write_bytes((hub.layout.public / "tmp/given.fl").read_bytes())
    p = publish(hub.layout.root, existing, repo="other", name="copy.fl", hub_url=hub.url,
                tag="t1")
    assert p.flist.read_bytes() == existing.read_bytes()  # copied byte for byte (identity)
    md5 = hashlib.md5(existing.read_bytes()).hexdigest()
    assert httpx.get(f"{hub.url}/other/tags/t1/copy.fl.md5").text == md5 + "\n"
    for bad in ("../x", "a/b", ""):
        with pytest.raises(ValueError, match="one path component"):
            publish(hub.layout.root, existing, repo=bad or "..", name="n", hub_url=hub.url)
    with pytest.raises(ValueError, match="needs a tag"):
        publish(hub.layout.root, existing, repo="r", name="n", hub_url=hub.url, taglink="dev")
