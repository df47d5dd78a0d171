"""Service files, request lines, state texts: unit and property tests."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zos_zinit import ServiceConfig, ServiceConfigError, State, StateKind, parse_service_text
from zos_zinit.config import dump_service, parse_service
from zos_zinit.errors import (
    AlreadyMonitoredError,
    CommandError,
    ConfigLoadError,
    ServiceIsDownError,
    ServiceIsUpError,
    ShuttingDownError,
    UnknownServiceError,
    error_from_body,
)
from zos_zinit.protocol import Request, parse_request
from zos_zinit.signals import parse_signal
from zos_zinit.state import STATE_PATTERN, wait_status_text
from zos_zinit.supervisor import read_environment_file


def test_defaults_are_upstreams() -> None:
    config = parse_service_text("exec: redis-server --port 0\n")
    assert config == ServiceConfig(exec="redis-server --port 0")
    assert config.test == "" and config.oneshot is False and config.after == ()
    assert config.signal_stop == "sigterm" and config.log == "ring" and dict(config.env) == {}
    assert config.workdir == "/" and config.shutdown_timeout == 10.0


def test_every_field() -> None:
    config = parse_service_text(
        """
exec: sh -c 'echo hi'
test: true
oneshot: true
after: [a, b]
signal:
  stop: SIGINT
log: Stdout
env: {A: "1"}
dir: /tmp
shutdown_timeout: 3
whatever: ignored
"""
    )
    assert config.after == ("a", "b") and config.signal_stop == "SIGINT"
    assert config.log == "stdout" and dict(config.env) == {"A": "1"}
    assert config.dir == "/tmp" and config.shutdown_timeout == 3.0 and config.oneshot
    assert parse_service_text(dump_service(config)) == config


def test_scalars_are_read_as_text_like_upstream() -> None:
    config = parse_service_text("exec: 123\ntest: true\nenv: {A: 1, B: yes}\nafter: [1]\n")
    assert config.exec == "123" and config.test == "true"
    assert dict(config.env) == {"A": "1", "B": "yes"} and config.after == ("1",)
    assert parse_service({"exec": "x", "oneshot": True, "shutdown_timeout": 2}).oneshot


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("exec: ''", "missing exec directive"),
        ("test: x", "missing exec directive"),
        ("- a list", "expected a mapping"),
        ("exec: [a, b]", "exec: expected a string"),
        ("exec: x\noneshot: maybe", "oneshot: expected true or false"),
        ("exec: x\nafter: a", "after: expected a list"),
        ("exec: x\nsignal: SIGINT", "signal: expected a mapping"),
        ("exec: x\nsignal: {stop: SIGWHAT}", 'signal.stop: invalid signal "SIGWHAT"'),
        ("exec: x\nlog: file", "log: expected one of ring, stdout, none"),
        ("exec: x\nenv: {A: [1]}", "env.A: expected a string value"),
        ("exec: x\nshutdown_timeout: soon", "shutdown_timeout: expected a number"),
        ("exec: x\nshutdown_timeout: -1", "shutdown_timeout: expected a number"),
        ("exec: [unclosed", "invalid YAML"),
    ],
)
def test_invalid_files_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ServiceConfigError, match=message.replace("[", r"\[")):
        parse_service_text(text)


_yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "exec",
                "test",
                "oneshot",
                "after",
                "signal",
                "log",
                "env",
                "dir",
                "shutdown_timeout",
                "x",
            ]
        ),
        _yaml_values,
    )
)
def test_any_mapping_parses_or_raises_a_clear_error(data: dict[str, Any]) -> None:
    try:
        config = parse_service(data)
    except ServiceConfigError as e:
        assert str(e)
    else:
        assert config.exec.strip()


@given(st.text(max_size=40))
def test_any_request_line_parses_or_gets_an_error_reply(line: str) -> None:
    try:
        request = parse_request(line)
    except CommandError as e:
        assert str(e) in {
            "unknown command",
            "invalid command syntax",
            "invalid log command arguments",
        } or str(e).endswith("' or wrong arguments count")
    else:
        assert isinstance(request, Request) and request.command


def test_request_parsing() -> None:
    assert parse_request("status redis\n") == Request("status", ("redis",))
    assert parse_request('kill "my svc" SIGKILL') == Request("kill", ("my svc", "SIGKILL"))
    assert parse_request("log").follow and not parse_request("log snapshot").follow


def test_state_texts() -> None:
    assert wait_status_text(42, 1 << 8) == "Exited(Pid(42), 1)"
    assert wait_status_text(42, signal.SIGKILL) == "Signaled(Pid(42), SIGKILL, false)"
    assert wait_status_text(7, signal.SIGSEGV | 0x80) == "Signaled(Pid(7), SIGSEGV, true)"
    assert os.WIFEXITED(0)
    state = State.parse("Error(Exited(Pid(42), 1))")
    assert state.kind is StateKind.ERROR and state.detail == "Exited(Pid(42), 1)"
    for kind in StateKind:
        text = State(kind).text
        assert STATE_PATTERN.match(text) and State.parse(text).kind is kind
    with pytest.raises(ValueError, match="unknown zinit state"):
        State.parse("Sleeping")


def test_signal_names() -> None:
    assert parse_signal("sigterm") is signal.SIGTERM
    assert parse_signal("SIGKILL") is signal.SIGKILL
    assert parse_signal("hup") is signal.SIGHUP
    for bad in ("SIG_IGN", "SIGFOO", "", "9"):
        with pytest.raises(ValueError, match="invalid signal"):
            parse_signal(bad)


def test_error_bodies_map_to_classes() -> None:
    cases = [
        (UnknownServiceError.of("a"), UnknownServiceError),
        (AlreadyMonitoredError.of("a"), AlreadyMonitoredError),
        (ServiceIsUpError.of("a"), ServiceIsUpError),
        (ServiceIsDownError.of("a"), ServiceIsDownError),
        (ShuttingDownError.of(), ShuttingDownError),
        (ConfigLoadError.of("x"), ConfigLoadError),
        (CommandError.unknown("x"), CommandError),
    ]
    for error, cls in cases:
        rebuilt = error_from_body(str(error))
        assert type(rebuilt) is cls and str(rebuilt) == str(error)
    # Upstream's bare text (no cause) maps too.
    assert isinstance(error_from_body("failed to load service config"), ConfigLoadError)


def test_environment_file(tmp_path: Path) -> None:
    path = tmp_path / "environment"
    path.write_text('# comment\nA=1\nPATH="/usr/bin:/bin"\n\nnot a pair\nB = two words \n')
    assert read_environment_file(path) == {"A": "1", "PATH": "/usr/bin:/bin", "B": "two words"}
    assert read_environment_file(tmp_path / "missing") == {}
