"""Service files: ``<config dir>/<name>.yaml``, the fields and defaults of zinit v0.2.14.

Unknown keys are ignored (as upstream); a field of the wrong type, an empty ``exec`` or an
unknown stop signal makes the file invalid with an error naming the field.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from zos_zinit.signals import parse_signal

LogMode = Literal["ring", "stdout", "none"]
LOG_MODES: tuple[LogMode, ...] = ("ring", "stdout", "none")

# A service name becomes a file name and a word of the line protocol.
_NAME = re.compile(r"^[^/\x00\s]+$")


class ServiceConfigError(ValueError):
    """A service file that cannot be used; the message says which field is wrong."""


@dataclass(frozen=True)
class ServiceConfig:
    exec: str
    test: str = ""
    oneshot: bool = False
    after: tuple[str, ...] = ()
    signal_stop: str = "sigterm"
    log: LogMode = "ring"
    env: Mapping[str, str] = field(default_factory=dict)
    dir: str = ""
    shutdown_timeout: float = 10.0

    @property
    def workdir(self) -> str:
        return self.dir or "/"

    def to_yaml_dict(self) -> dict[str, Any]:
        """The service file content (only fields that differ from the defaults, plus exec)."""
        out: dict[str, Any] = {"exec": self.exec}
        if self.test:
            out["test"] = self.test
        if self.oneshot:
            out["oneshot"] = True
        if self.after:
            out["after"] = list(self.after)
        if self.signal_stop.lower() != "sigterm":
            out["signal"] = {"stop": self.signal_stop}
        if self.log != "ring":
            out["log"] = self.log
        if self.env:
            out["env"] = dict(self.env)
        if self.dir:
            out["dir"] = self.dir
        if self.shutdown_timeout != 10.0:
            out["shutdown_timeout"] = self.shutdown_timeout
        return out


def valid_service_name(name: str) -> bool:
    return bool(_NAME.match(name)) and name not in {".", ".."}


def _scalar_text(value: object) -> str | None:
    """A scalar as the text upstream (serde_yaml) would read into a string field."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


def _string(data: Mapping[str, Any], key: str, default: str) -> str:
    value = data.get(key, default)
    if value is None:
        return default
    text = _scalar_text(value)
    if text is None:
        raise ServiceConfigError(f"{key}: expected a string, got {type(value).__name__}")
    return text


_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}


def parse_service(data: object) -> ServiceConfig:
    """Validate the parsed YAML of one service file."""
    if not isinstance(data, Mapping):
        raise ServiceConfigError(
            f"expected a mapping of fields at the top level, got {type(data).__name__}"
        )
    exec_ = _string(data, "exec", "")
    if not exec_.strip():
        raise ServiceConfigError("missing exec directive")
    test = _string(data, "test", "")

    oneshot = data.get("oneshot", False)
    if isinstance(oneshot, str) and oneshot in _TRUE | _FALSE:
        oneshot = oneshot in _TRUE
    elif oneshot is None:
        oneshot = False
    if not isinstance(oneshot, bool):
        raise ServiceConfigError(f"oneshot: expected true or false, got {oneshot!r}")

    after_raw = data.get("after", [])
    if after_raw is None:
        after_raw = []
    after = [_scalar_text(a) for a in after_raw] if isinstance(after_raw, list) else [None]
    if not all(after):
        raise ServiceConfigError(f"after: expected a list of service names, got {after_raw!r}")

    signal_raw = data.get("signal", {})
    if signal_raw is None:
        signal_raw = {}
    if not isinstance(signal_raw, Mapping):
        raise ServiceConfigError(f"signal: expected a mapping with 'stop', got {signal_raw!r}")
    stop = _string(signal_raw, "stop", "sigterm")
    try:
        parse_signal(stop)
    except ValueError as e:
        raise ServiceConfigError(f"signal.stop: {e}") from None

    log = data.get("log", "ring")
    if log is None:
        log = "ring"
    if not isinstance(log, str) or log.lower() not in LOG_MODES:
        raise ServiceConfigError(f"log: expected one of ring, stdout, none, got {log!r}")

    env_raw = data.get("env", {})
    if env_raw is None:
        env_raw = {}
    if not isinstance(env_raw, Mapping):
        raise ServiceConfigError(f"env: expected a mapping, got {type(env_raw).__name__}")
    env: dict[str, str] = {}
    for key, value in env_raw.items():
        key_text, value_text = _scalar_text(key), _scalar_text(value)
        if key_text is None or value_text is None:
            raise ServiceConfigError(
                f"env.{key}: expected a string value, got {type(value).__name__}"
            )
        env[key_text] = value_text

    workdir = _string(data, "dir", "")

    timeout = data.get("shutdown_timeout", 10)
    if timeout is None:
        timeout = 10
    if isinstance(timeout, str):
        with contextlib.suppress(ValueError):
            timeout = float(timeout)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout >= 0:
        raise ServiceConfigError(
            f"shutdown_timeout: expected a number of seconds >= 0, got {timeout!r}"
        )

    return ServiceConfig(
        exec=exec_,
        test=test,
        oneshot=oneshot,
        after=tuple(a for a in after if a),
        signal_stop=stop,
        log=log.lower(),  # type: ignore[arg-type]  # checked against LOG_MODES above
        env=env,
        dir=workdir,
        shutdown_timeout=float(timeout),
    )


def parse_service_text(text: str) -> ServiceConfig:
    # BaseLoader keeps every scalar as its text, as upstream reads string fields:
    # `test: true` is the command "true", `env: {A: 1}` is "1".
    try:
        data = yaml.load(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as e:
        raise ServiceConfigError(f"invalid YAML: {e}") from None
    return parse_service(data)


def load_service(path: Path) -> tuple[str, ServiceConfig]:
    """``(name, config)`` of the service file at ``path`` (name = file stem)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ServiceConfigError(f"cannot read {path}: {e}") from None
    try:
        return path.stem, parse_service_text(text)
    except ServiceConfigError as e:
        raise ServiceConfigError(f"{path}: {e}") from None


def dump_service(config: ServiceConfig | Mapping[str, Any]) -> str:
    """YAML text of a service file (validated when given as a mapping)."""
    data = config.to_yaml_dict() if isinstance(config, ServiceConfig) else dict(config)
    if not isinstance(config, ServiceConfig):
        parse_service(data)
    # One line per command, however long: service files are read by people too.
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=False, width=1 << 16)
