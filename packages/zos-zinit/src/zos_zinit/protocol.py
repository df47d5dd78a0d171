"""The zinit v0.2.14 line protocol: request parsing and reply encoding (spec boot.md §6.5).

One command per connection: the client writes ``<cmd> [args]\\n`` (split shell-style), the
server answers one JSON object without a trailing newline and closes; ``log`` answers plain
text lines instead.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from zos_zinit.errors import CommandError, ZinitError

# Commands and their argument counts (after the command word).
ARITY: dict[str, int] = {
    "list": 0,
    "shutdown": 0,
    "reboot": 0,
    "status": 1,
    "start": 1,
    "stop": 1,
    "forget": 1,
    "monitor": 1,
    "kill": 2,
}


@dataclass(frozen=True)
class Request:
    command: str
    args: tuple[str, ...] = ()

    @property
    def follow(self) -> bool:
        """For ``log``: follow new lines (``log``) or not (``log snapshot``)."""
        return not self.args


def parse_request(line: str) -> Request:
    """The command of one request line; CommandError with zinit's text when it is bad."""
    try:
        words = shlex.split(line)
    except ValueError:
        raise CommandError("invalid command syntax") from None
    if not words:
        raise CommandError("unknown command")
    command, args = words[0], tuple(words[1:])
    if command == "log":
        if args and args != ("snapshot",):
            raise CommandError("invalid log command arguments")
        return Request(command, args)
    if ARITY.get(command) != len(args):
        raise CommandError.unknown(command)
    return Request(command, args)


def format_request(command: str, *args: str) -> bytes:
    return (shlex.join([command, *args]) + "\n").encode()


def ok_reply(body: Any) -> bytes:
    return json.dumps({"state": "ok", "body": body}, separators=(",", ":")).encode()


def error_reply(error: ZinitError | str) -> bytes:
    return json.dumps({"state": "error", "body": str(error)}, separators=(",", ":")).encode()
