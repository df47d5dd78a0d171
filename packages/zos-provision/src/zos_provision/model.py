"""The engine's view of a deployment: its wire JSON, split into what the store keeps.

The grid's data model (decoding, validation, hashing, signatures) belongs to zos-gridtypes;
the engine only needs the structural fields and must echo everything else as the user sent
it. So a workload keeps its JSON object verbatim (minus ``result``) and the engine reads the
few keys it needs from it. Inputs reach these classes only after `DeploymentRules.validate`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zos_provision.api import ResultState

JSONObject = dict[str, Any]


def _key(obj: Mapping[str, Any], name: str) -> Any:
    """Go's key matching: the exact key, else an ASCII case-insensitive one (last wins)."""
    if name in obj:
        return obj[name]
    found: Any = None
    for key, value in obj.items():
        if key.lower() == name:
            found = value
    return found


def _int(obj: Mapping[str, Any], name: str) -> int:
    value = _key(obj, name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"field '{name}' must be an integer, got {value!r}")
    return value


def _str(obj: Mapping[str, Any], name: str) -> str:
    value = _key(obj, name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"field '{name}' must be a string, got {value!r}")
    return value


@dataclass
class Result:
    created: int = 0
    state: str = ""
    message: str = ""
    data: Any = None

    @classmethod
    def now(cls, state: ResultState, message: str = "", data: Any = None) -> Result:
        return cls(created=int(time.time()), state=state.value, message=message, data=data)

    @classmethod
    def from_json(cls, obj: Any) -> Result:
        if not isinstance(obj, Mapping):
            return cls()
        return cls(
            created=_int(obj, "created"),
            state=_str(obj, "state"),
            message=_str(obj, "message"),
            data=_key(obj, "data"),
        )

    def to_json(self) -> JSONObject:
        return {
            "created": self.created,
            "state": self.state,
            "message": self.message,
            "data": self.data,
        }

    @property
    def okay(self) -> bool:
        return self.state in (ResultState.OK.value, ResultState.PAUSED.value)


@dataclass
class Workload:
    """One workload: its JSON as sent (without ``result``) and its current result."""

    raw: JSONObject
    result: Result = field(default_factory=Result)

    @classmethod
    def from_json(cls, obj: Any) -> Workload:
        if not isinstance(obj, Mapping):
            raise ValueError("a workload must be a JSON object")
        raw = {k: copy.deepcopy(v) for k, v in obj.items() if k.lower() != "result"}
        wl = cls(raw=raw, result=Result.from_json(_key(obj, "result")))
        # Touch the structural fields so a malformed one fails here, not in the worker.
        _ = (wl.name, wl.type, wl.version)
        return wl

    @property
    def name(self) -> str:
        return _str(self.raw, "name")

    @property
    def type(self) -> str:
        return _str(self.raw, "type")

    @property
    def version(self) -> int:
        return _int(self.raw, "version")

    @property
    def data(self) -> Any:
        return _key(self.raw, "data")

    def to_json(self) -> JSONObject:
        out = copy.deepcopy(self.raw)
        out["result"] = self.result.to_json()
        return out

    def with_result(self, result: Result) -> Workload:
        return Workload(raw=self.raw, result=result)


@dataclass
class Deployment:
    """A deployment header plus its workloads in the order the user sent them."""

    header: JSONObject
    workloads: list[Workload]

    @classmethod
    def from_json(cls, obj: Any) -> Deployment:
        if not isinstance(obj, Mapping):
            raise ValueError("a deployment must be a JSON object")
        header = {k: copy.deepcopy(v) for k, v in obj.items() if k.lower() != "workloads"}
        items = _key(obj, "workloads") or []
        if not isinstance(items, list):
            raise ValueError("field 'workloads' must be a list")
        dep = cls(header=header, workloads=[Workload.from_json(w) for w in items])
        _ = (dep.version, dep.twin_id, dep.contract_id, dep.description, dep.metadata)
        return dep

    @property
    def version(self) -> int:
        return _int(self.header, "version")

    @property
    def twin_id(self) -> int:
        return _int(self.header, "twin_id")

    @property
    def contract_id(self) -> int:
        return _int(self.header, "contract_id")

    @property
    def description(self) -> str:
        return _str(self.header, "description")

    @property
    def metadata(self) -> str:
        return _str(self.header, "metadata")

    @property
    def signature_requirement(self) -> Any:
        return _key(self.header, "signature_requirement")

    @property
    def id(self) -> str:
        return f"{self.twin_id}-{self.contract_id}"

    def get(self, name: str) -> Workload | None:
        for wl in self.workloads:
            if wl.name == name:
                return wl
        return None

    def to_json(self) -> JSONObject:
        out = copy.deepcopy(self.header)
        out["workloads"] = [wl.to_json() for wl in self.workloads]
        return out


def workload_id(twin: int, contract: int, name: str) -> str:
    """Upstream's WorkloadID text: ``{twin}-{contract}-{name}``."""
    return f"{twin}-{contract}-{name}"


def parse_workload_id(text: str) -> tuple[int, int, str]:
    parts = text.split("-", 2)
    numbers = all(p.isascii() and p.isdigit() for p in parts[:2])
    if len(parts) != 3 or not numbers or not parts[2]:
        raise ValueError(f"invalid workload id '{text}', expected '<twin>-<contract>-<name>'")
    return int(parts[0]), int(parts[1]), parts[2]
