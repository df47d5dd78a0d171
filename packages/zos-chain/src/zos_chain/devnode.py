"""Where a client finds a running development node (`zos node up`) from its state folder.

`default_state_dir` is THE single definition of the development node's default state folder:
`zos node` (apps/zos), `zos chain` and `zos deploy` (zos-provision) all import it from here,
the lowest package they share that knows the node's layout. Rule: ``$ZOS_STATE`` if set, else
``/var/lib/zos-dev`` for root, else ``$XDG_STATE_HOME/zos-dev`` (``~/.local/state/zos-dev``).

In that folder the node's redis (its zbus and msgbus broker) listens on ``run/redis.sock`` and
its chain service on `zos_chain.service.dev_node_url` (a loopback port derived from the path).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from zos_chain.service import dev_node_url

__all__ = [
    "DevNodeError",
    "default_state_dir",
    "dev_node_broker",
    "dev_node_url",
    "redis_socket",
    "running_broker",
    "running_chain_url",
]

STATE_ENV = "ZOS_STATE"


class DevNodeError(Exception):
    """No running development node at a state folder (one line, meant for the user)."""


def default_state_dir() -> Path:
    if os.environ.get(STATE_ENV):
        return Path(os.environ[STATE_ENV])
    if os.geteuid() == 0:
        return Path("/var/lib/zos-dev")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "zos-dev"


def redis_socket(state_dir: Path) -> Path:
    return state_dir / "run" / "redis.sock"


def dev_node_broker(state_dir: Path) -> str:
    return f"unix://{redis_socket(state_dir).absolute()}"


def _not_running(state_dir: Path, what: str) -> DevNodeError:
    if not state_dir.is_dir():
        return DevNodeError(
            f"no development node at {state_dir} (no such folder); "
            f"start one with `zos node up --state {state_dir}`"
        )
    return DevNodeError(
        f"the development node at {state_dir} is not running ({what}); "
        f"start it with `zos node up --state {state_dir}`"
    )


def running_broker(state_dir: Path | None = None, timeout: float = 2.0) -> str:
    """The broker URL of the node at ``state_dir`` (default: `default_state_dir`), checked live."""
    state_dir = state_dir or default_state_dir()
    path = redis_socket(state_dir)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except OSError:
            raise _not_running(state_dir, f"no redis on {path}") from None
    return dev_node_broker(state_dir)


def running_chain_url(state_dir: Path | None = None, timeout: float = 2.0) -> str:
    """The chain service URL of the node at ``state_dir``, checked live (a TCP connect)."""
    state_dir = state_dir or default_state_dir()
    url = dev_node_url(state_dir)
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout).close()
    except OSError:
        raise _not_running(state_dir, f"no chain service on {url}") from None
    return url
