"""Add flists, tags and taglinks to a dev hub (spec §6.3)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ..pack import pack
from ..progress import Progress
from ..stores import open_router
from .layout import HubLayout, _safe_component


@dataclass(frozen=True)
class Published:
    flist: Path
    url: str
    """Download URL of the flist on the hub."""
    tag: Path | None = None
    taglink: Path | None = None


def _relink(link: Path, text: str) -> None:
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(text)
    tmp.replace(link)


def publish(
    root: str | os.PathLike[str],
    source: str | os.PathLike[str],
    *,
    repo: str,
    name: str,
    hub_url: str,
    tag: str | None = None,
    taglink: str | None = None,
    taglink_repo: str = "tf-zos",
    tags: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> Published:
    """Publish ``source`` (a directory to pack, or an existing ``.fl``) as ``<repo>/<name>``.

    A packed directory's blobs go into the hub's block store and its route points at
    ``<hub_url>/blocks``. ``tag`` adds ``<repo>/.tag-<tag>/<name> -> ../../<repo>/<name>``;
    ``taglink`` adds ``<taglink_repo>/<taglink> -> ../<repo>/.tag-<tag>``.
    """
    for what, value in (("repo", repo), ("name", name), ("tag", tag), ("taglink", taglink),
                        ("taglink repo", taglink_repo)):
        if value is not None and not _safe_component(value):
            raise ValueError(f"invalid {what} {value!r}: must be one path component")
    if not name.endswith((".fl", ".flist")):
        name += ".fl"
    if taglink and not tag:
        raise ValueError("a taglink needs a tag")
    layout = HubLayout(Path(root))
    layout.create()
    repo_dir = layout.public / repo
    repo_dir.mkdir(parents=True, exist_ok=True)
    target = repo_dir / name
    src = Path(source)
    if src.is_dir():
        router = open_router([f"dir://{layout.blocks.resolve()}"])
        tmp = repo_dir / f".{name}.publish"
        try:
            pack(src, tmp, router, tags=tags, progress=progress)
        finally:
            router.close()
        db = sqlite3.connect(tmp)
        with db:  # route the flist at the hub's block store over http, not the local dir
            db.execute("DELETE FROM route")
            db.execute('INSERT INTO route (start, "end", url) VALUES (0, 255, ?)',
                       (hub_url.rstrip("/") + "/blocks",))
        db.close()
        tmp.replace(target)
    elif src.is_file():
        shutil.copyfile(src, repo_dir / f".{name}.publish")
        (repo_dir / f".{name}.publish").replace(target)
    else:
        raise ValueError(f"{src}: not a directory or a file")
    result = Published(target, f"{hub_url.rstrip('/')}/{repo}/{name}")
    tag_link = link = None
    if tag:
        tag_dir = repo_dir / f".tag-{tag}"
        tag_dir.mkdir(exist_ok=True)
        tag_link = tag_dir / name
        _relink(tag_link, f"../../{repo}/{name}")
    if taglink:
        links = layout.public / taglink_repo
        links.mkdir(exist_ok=True)
        link = links / taglink
        _relink(link, f"../{repo}/.tag-{tag}")
    return Published(result.flist, result.url, tag_link, link)
