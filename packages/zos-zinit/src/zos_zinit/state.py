"""Service states and targets with zinit's exact texts (Rust ``Debug`` formatting)."""

from __future__ import annotations

import os
import re
import signal
from dataclasses import dataclass
from enum import Enum

# ZOS parses state texts with this expression.
STATE_PATTERN = re.compile(r"^(\w+)(?:\((.+)\))?$", re.S)


class Target(Enum):
    UP = "Up"
    DOWN = "Down"


class StateKind(Enum):
    UNKNOWN = "Unknown"
    BLOCKED = "Blocked"
    SPAWNED = "Spawned"
    RUNNING = "Running"
    SUCCESS = "Success"
    ERROR = "Error"
    TEST_FAILURE = "TestFailure"
    FAILURE = "Failure"


@dataclass(frozen=True)
class State:
    kind: StateKind
    detail: str = ""
    """For Error: the wait status, e.g. ``Exited(Pid(42), 1)``."""

    @property
    def text(self) -> str:
        return f"{self.kind.value}({self.detail})" if self.detail else self.kind.value

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str) -> State:
        match = STATE_PATTERN.match(text)
        if not match:
            raise ValueError(f"not a zinit state: {text!r}")
        try:
            kind = StateKind(match.group(1))
        except ValueError:
            raise ValueError(f"unknown zinit state {match.group(1)!r} in {text!r}") from None
        return cls(kind, match.group(2) or "")


UNKNOWN = State(StateKind.UNKNOWN)
BLOCKED = State(StateKind.BLOCKED)
SPAWNED = State(StateKind.SPAWNED)
RUNNING = State(StateKind.RUNNING)
SUCCESS = State(StateKind.SUCCESS)
TEST_FAILURE = State(StateKind.TEST_FAILURE)
FAILURE = State(StateKind.FAILURE)


def wait_status_text(pid: int, status: int) -> str:
    """nix's ``WaitStatus`` Debug text for a raw ``waitpid`` status."""
    if os.WIFEXITED(status):
        return f"Exited(Pid({pid}), {os.WEXITSTATUS(status)})"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        core = "true" if os.WCOREDUMP(status) else "false"
        return f"Signaled(Pid({pid}), {name}, {core})"
    return f"Unknown(Pid({pid}), {status})"


def exit_state(pid: int, status: int) -> State:
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return SUCCESS
    return State(StateKind.ERROR, wait_status_text(pid, status))
