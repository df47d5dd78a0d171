"""The hub's HTTP server (spec §6.2, §6.3): upstream read endpoints plus ``/blocks``.

Standard library only (ThreadingHTTPServer). Every answer carries
``Access-Control-Allow-Origin: *`` as upstream's does; JSON bodies end with a newline.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .layout import HubLayout, HubNotFoundError, file_md5

log = logging.getLogger(__name__)

_HEX_ID = re.compile(r"^[0-9a-f]{64}$")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, value: Any, status: int = 200) -> None:
        self._send(status, (json.dumps(value) + "\n").encode(), "application/json")

    def _error(self, message: str, status: int = 404) -> None:
        self._json({"status": "error", "message": message}, status)

    def _file(self, path: Path) -> None:
        self._send(200, path.read_bytes(), "application/octet-stream")

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        parts = [p for p in path.split("/") if p]
        try:
            self._route(parts)
        except HubNotFoundError as exc:
            self._error(str(exc))
        except Exception:
            log.exception("GET %s", self.path)
            self._error("internal error", 500)

    def _route(self, parts: list[str]) -> None:
        layout = self.server.layout
        if parts and parts[0] == "blocks":
            return self._block(parts[1:])
        if parts[:2] == ["api", "flist"]:
            rest = parts[2:]
            if len(rest) == 1:
                return self._json(layout.list_repo(rest[0]))
            if len(rest) == 3 and rest[1] == "tags":
                return self._json(layout.list_tag(rest[0], rest[2]))
            if len(rest) == 3 and rest[2] == "light":
                return self._json(layout.light(rest[0], rest[1]))
            if len(rest) == 3 and rest[2] == "taglink":
                return self._json(layout.taglink(rest[0], rest[1]))
            return self._error("not found")
        if len(parts) in (2, 4) and parts[-1].endswith(".md5"):
            name = parts[-1][: -len(".md5")]
            tag = parts[2] if len(parts) == 4 and parts[1] == "tags" else None
            real = layout.download(parts[0], name, tag)
            return self._send(200, (file_md5(real) + "\n").encode(), "text/plain")
        if len(parts) == 2:
            return self._file(layout.download(parts[0], parts[1]))
        if len(parts) == 4 and parts[1] == "tags":
            return self._file(layout.download(parts[0], parts[3], parts[2]))
        return self._error("not found")

    def _block(self, parts: list[str]) -> None:
        blocks = self.server.layout.blocks
        if len(parts) == 2 and _HEX_ID.match(parts[1]) and parts[0] == parts[1][:2]:
            candidates = [blocks / parts[0] / parts[1], blocks / parts[1]]
        elif len(parts) == 1 and _HEX_ID.match(parts[0]):
            candidates = [blocks / parts[0], blocks / parts[0][:2] / parts[0]]
        else:
            return self._error("not found")
        for candidate in candidates:
            if candidate.is_file():
                return self._file(candidate)
        return self._error("block not found")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], layout: HubLayout) -> None:
        self.layout = layout
        super().__init__(address, _Handler)


class HubServer:
    """The dev hub on ``host:port`` (port 0 picks a free one); run in a thread or forever."""

    def __init__(self, root: str | Path, host: str = "127.0.0.1", port: int = 5555) -> None:
        self.layout = HubLayout(Path(root))
        self.layout.create()
        self._server = _Server((host, port), self.layout)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def start(self) -> HubServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True, name="hub")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
