"""The supervisor's error replies, with zinit v0.2.14's exact texts.

The same classes are raised inside the supervisor (and turned into
``{"state":"error","body":"<text>"}``) and by the client (rebuilt from the body text), so a
caller can write ``except AlreadyMonitoredError`` instead of matching strings.
"""

from __future__ import annotations

import re


class ZinitError(Exception):
    """An error reply; ``str(error)`` is the exact body text on the wire."""

    @property
    def message(self) -> str:
        return str(self)


class UnknownServiceError(ZinitError):
    @classmethod
    def of(cls, name: str) -> UnknownServiceError:
        return cls(f'service name "{name}" unknown')


class AlreadyMonitoredError(ZinitError):
    @classmethod
    def of(cls, name: str) -> AlreadyMonitoredError:
        return cls(f'service "{name}" already monitored')


class ServiceIsUpError(ZinitError):
    @classmethod
    def of(cls, name: str) -> ServiceIsUpError:
        return cls(f'service "{name}" is up')


class ServiceIsDownError(ZinitError):
    @classmethod
    def of(cls, name: str) -> ServiceIsDownError:
        return cls(f'service "{name}" is down')


class ShuttingDownError(ZinitError):
    @classmethod
    def of(cls) -> ShuttingDownError:
        return cls("zinit is shutting down")


class ConfigLoadError(ZinitError):
    """``monitor`` of a missing or invalid service file (the cause is appended)."""

    @classmethod
    def of(cls, cause: str) -> ConfigLoadError:
        return cls(f"failed to load service config: {cause}")


class CommandError(ZinitError):
    """Unknown command, wrong argument count, bad syntax, bad signal name."""

    @classmethod
    def unknown(cls, command: str) -> CommandError:
        return cls(f"unknown command '{command}' or wrong arguments count")


class ProtocolError(ZinitError):
    """The reply could not be read (client side): not JSON, connection closed early."""


_PATTERNS: list[tuple[re.Pattern[str], type[ZinitError]]] = [
    (re.compile(r'^service name ".*" unknown$', re.S), UnknownServiceError),
    (re.compile(r"already monitored"), AlreadyMonitoredError),
    (re.compile(r'^service ".*" is up$', re.S), ServiceIsUpError),
    (re.compile(r'^service ".*" is down$', re.S), ServiceIsDownError),
    (re.compile(r"^zinit is shutting down$"), ShuttingDownError),
    (re.compile(r"^failed to load service config"), ConfigLoadError),
]


def error_from_body(body: str) -> ZinitError:
    """The most specific error class for an error reply's body text."""
    for pattern, cls in _PATTERNS:
        if pattern.search(body):
            return cls(body)
    return CommandError(body)
