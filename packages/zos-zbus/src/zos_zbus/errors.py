"""The exceptions of zbus: what a caller sees and what a handler raises."""

from __future__ import annotations


class ZbusError(Exception):
    """Base class of every error raised by zos_zbus."""


class InterfaceError(ZbusError, TypeError):
    """An interface or a model cannot be mapped onto the zbus wire (a definition bug)."""


class CodecError(ZbusError, ValueError):
    """A value does not encode into, or wire data does not decode into, the declared Go type."""


class CallError(ZbusError):
    """The Go ``error`` return of a method.

    A handler raises it (or a subclass) to answer with ``Output.Error`` plus zero values;
    the message is the Go error text.
    """

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class RemoteCallError(CallError):
    """The remote method returned an error (``Output.Error.Message``).

    It is a :class:`CallError`, so a handler that lets it propagate forwards the remote
    error to its own caller as a call error.
    """


class ProtocolError(ZbusError):
    """The server answered with a protocol error (top-level ``Error``), or the reply
    could not be understood."""

    @property
    def text(self) -> str:
        return str(self.args[0]) if self.args else ""


class CallTimeout(ZbusError, TimeoutError):
    """No reply arrived before the call's deadline."""

    def __init__(self, message: str, *, picked_up: bool | None = None) -> None:
        super().__init__(message)
        self.picked_up = picked_up
        """False when the request was still queued at the deadline and has been withdrawn
        (so it will never run); True when a server took it; None when unknown."""


class BusUnavailable(ZbusError, ConnectionError):
    """The redis broker cannot be reached."""
