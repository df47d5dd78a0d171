"""Where a development node keeps everything: one state folder, created on demand.

Default: `zos_chain.devnode.default_state_dir`, the one rule shared with the client commands
(``$ZOS_STATE``, else ``/var/lib/zos-dev`` for root, else ``$XDG_STATE_HOME/zos-dev``, i.e.
``~/.local/state/zos-dev``). Layout::

    zinit/          the supervisor's service files (rewritten at every `zos node up`)
    run/            zinit.sock, redis.sock, node.pid (zos node up), zinit.pid
    log/zinit.log   the supervisor's own output
    redis/          redis-server's working folder (persistence is off)
    modules/<m>/    each module daemon's --root
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zos_chain import devnode
from zos_chain.devnode import default_state_dir

__all__ = ["NodePaths", "default_state_dir", "pid_running", "read_pid"]


@dataclass(frozen=True)
class NodePaths:
    state_dir: Path

    @classmethod
    def at(cls, state_dir: Path | None) -> NodePaths:
        return cls((state_dir or default_state_dir()).absolute())

    @property
    def config_dir(self) -> Path:
        return self.state_dir / "zinit"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def zinit_socket(self) -> Path:
        return self.run_dir / "zinit.sock"

    @property
    def redis_socket(self) -> Path:
        return devnode.redis_socket(self.state_dir)

    @property
    def node_pidfile(self) -> Path:
        return self.run_dir / "node.pid"

    @property
    def zinit_pidfile(self) -> Path:
        return self.run_dir / "zinit.pid"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "log"

    @property
    def redis_dir(self) -> Path:
        return self.state_dir / "redis"

    @property
    def broker(self) -> str:
        return devnode.dev_node_broker(self.state_dir)

    def create(self) -> None:
        for folder in (self.config_dir, self.run_dir, self.log_dir, self.redis_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if len(str(self.zinit_socket).encode()) > 107:
            raise ValueError(
                f"state dir {self.state_dir} is too long for unix socket paths "
                "(at most about 95 characters); pick a shorter --state"
            )


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def pid_running(pid: int | None, needle: str) -> bool:
    """``pid`` is alive (not a zombie) and its command line contains ``needle``."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        return False
    return needle in cmdline
