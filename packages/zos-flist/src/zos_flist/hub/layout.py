"""The hub's state on disk (spec §6.1): ``<root>/public/<repo>/...`` and ``<root>/blocks``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FLIST_SUFFIXES = (".flist", ".fl")


class HubNotFoundError(Exception):
    """A repository or flist that does not exist; the message is the upstream one."""


def api_target(link_text: str) -> str:
    """Upstream's target text: every ``../`` removed, ``.tag-`` replaced by ``tags/``."""
    return link_text.replace("../", "").replace(".tag-", "tags/")


def kb(size: int) -> str:
    return f"{size / 1024:.2f} KB"


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def flist_name(name: str) -> str:
    """Upstream appends ``.flist`` to names without it; the dev hub keeps ``.fl`` names."""
    return name if name.endswith(FLIST_SUFFIXES) else name + ".flist"


def _safe_component(name: str) -> bool:
    return bool(name) and "/" not in name and name not in (".", "..") and "\0" not in name


@dataclass(frozen=True)
class HubLayout:
    root: Path

    @property
    def public(self) -> Path:
        return self.root / "public"

    @property
    def blocks(self) -> Path:
        return self.root / "blocks"

    def create(self) -> None:
        self.public.mkdir(parents=True, exist_ok=True)
        self.blocks.mkdir(parents=True, exist_ok=True)

    def repo(self, repo: str) -> Path:
        if not _safe_component(repo):
            raise HubNotFoundError("user not found")
        path = self.public / repo
        if not path.is_dir():
            raise HubNotFoundError("user not found")
        return path

    def entry(self, repo: str, name: str) -> Path:
        """``public/<repo>/<name>`` (a file or a symlink), inside the hub."""
        if not _safe_component(name):
            raise HubNotFoundError("source not found")
        path = self.repo(repo) / name
        if not path.is_symlink() and not path.exists():
            raise HubNotFoundError("source not found")
        return path

    def resolve_file(self, path: Path) -> Path:
        """Follow symlinks; the result must be a regular file under ``public/``."""
        real = path.resolve()
        public = self.public.resolve()
        if not real.is_file() or public not in real.parents:
            raise HubNotFoundError("source not found")
        return real

    # -- listings --------------------------------------------------------------------------

    def _link_info(self, link: Path, name: str) -> dict[str, Any]:
        text = str(link.readlink())
        kind = "taglink" if "/.tag-" in "/" + text else "symlink"
        info: dict[str, Any] = {"name": name, "size": "0 KB", "updated": 0,
                                "linktime": int(link.lstat().st_mtime), "type": kind,
                                "target": api_target(text)}
        try:
            st = link.stat()
            info["size"] = kb(st.st_size) if kind == "symlink" else "0 KB"
            info["updated"] = int(st.st_mtime)
        except OSError:
            pass  # a dangling link is still listed
        return info

    def list_repo(self, repo: str) -> list[dict[str, Any]]:
        path = self.repo(repo)
        out = []
        for child in sorted(path.iterdir(), key=lambda p: p.name):
            if child.is_symlink():
                out.append(self._link_info(child, child.name))
            elif child.is_dir():
                if child.name.startswith(".tag-"):
                    out.append({"name": child.name[len(".tag-") :], "size": "0 KB",
                                "updated": int(child.stat().st_mtime), "type": "tag"})
            elif child.is_file() and not child.name.startswith("."):
                st = child.stat()
                out.append({"name": child.name, "size": kb(st.st_size),
                            "updated": int(st.st_mtime), "type": "regular"})
        return out

    def list_tag(self, repo: str, tag: str) -> list[dict[str, Any]]:
        if not _safe_component(tag):
            raise HubNotFoundError("tag not found")
        path = self.repo(repo) / f".tag-{tag}"
        if not path.is_dir():
            raise HubNotFoundError("tag not found")
        out = []
        for child in sorted(path.iterdir(), key=lambda p: p.name):
            if child.is_symlink():
                info = self._link_info(child, child.name)
                info["type"] = "symlink"
                out.append(info)
        return out

    def light(self, repo: str, name: str) -> dict[str, Any]:
        name = flist_name(name)
        path = self.entry(repo, name)
        real = self.resolve_file(path)
        st = real.stat()
        info: dict[str, Any] = {"name": name, "size": st.st_size, "updated": int(st.st_mtime),
                                "type": "regular", "md5": file_md5(real)}
        if path.is_symlink():
            info.update(type="symlink", target=str(path.readlink()),
                        linktime=int(path.lstat().st_mtime))
        return info

    def taglink(self, repo: str, name: str) -> dict[str, str]:
        path = self.entry(repo, name)
        if not path.is_symlink():
            raise HubNotFoundError("source not found")
        text = str(path.readlink())
        if "/.tag-" not in "/" + text:
            raise HubNotFoundError("not a taglink")
        return {"target": api_target(text)}

    def download(self, repo: str, name: str, tag: str | None = None) -> Path:
        if tag is not None:
            if not _safe_component(tag):
                raise HubNotFoundError("tag not found")
            if not _safe_component(name):
                raise HubNotFoundError("source not found")
            path = self.repo(repo) / f".tag-{tag}" / name
        else:
            path = self.entry(repo, name)
        return self.resolve_file(path)
