"""The status object ``<module>.zbus@1.0``: what a module serves and what its workers do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from .codec import GO_ZERO_TIME
from .gotypes import GoName


@dataclass
class ObjectStatus:
    name: Annotated[str, GoName("Name")] = ""
    version: Annotated[str, GoName("Version")] = ""

    def __str__(self) -> str:
        return f"{self.name}@{self.version}" if self.version else self.name


@dataclass
class WorkerStatus:
    state: Annotated[str, GoName("State")] = "free"
    """``free`` or ``busy``."""
    start_time: Annotated[datetime, GoName("StartTime")] = GO_ZERO_TIME
    action: Annotated[str, GoName("Action")] = ""
    """``[<object>@<version>].<Method>()`` while busy."""


@dataclass
class Status:
    objects: Annotated[list[ObjectStatus], GoName("Objects")] = field(default_factory=list)
    workers: Annotated[list[WorkerStatus], GoName("Workers")] = field(default_factory=list)

    def describe(self) -> str:
        """Human-readable lines, as printed by ``zbus status``."""
        lines = ["objects:"]
        lines += [f"  {o}" for o in self.objects] or ["  (none)"]
        lines.append("workers:")
        for i, w in enumerate(self.workers):
            if w.state == "busy":
                lines.append(f"  {i}: busy since {w.start_time.isoformat()} {w.action}")
            else:
                lines.append(f"  {i}: {w.state}")
        return "\n".join(lines)
