"""A zinit-compatible process supervisor (zinit v0.2.14) and its async client.

Public API::

    from zos_zinit import Client, ServiceStatus, ServiceConfig, dump_service
    from zos_zinit import ZinitError, UnknownServiceError, AlreadyMonitoredError, ...

Run the supervisor with the ``zinit`` command (``zinit -s SOCK init -c DIR --container``).
"""

from zos_zinit.client import DEFAULT_SOCKET, Client, ServiceStatus
from zos_zinit.config import (
    ServiceConfig,
    ServiceConfigError,
    dump_service,
    load_service,
    parse_service,
    parse_service_text,
)
from zos_zinit.errors import (
    AlreadyMonitoredError,
    CommandError,
    ConfigLoadError,
    ProtocolError,
    ServiceIsDownError,
    ServiceIsUpError,
    ShuttingDownError,
    UnknownServiceError,
    ZinitError,
)
from zos_zinit.state import State, StateKind, Target

__all__ = [
    "DEFAULT_SOCKET",
    "AlreadyMonitoredError",
    "Client",
    "CommandError",
    "ConfigLoadError",
    "ProtocolError",
    "ServiceConfig",
    "ServiceConfigError",
    "ServiceIsDownError",
    "ServiceIsUpError",
    "ServiceStatus",
    "ShuttingDownError",
    "State",
    "StateKind",
    "Target",
    "UnknownServiceError",
    "ZinitError",
    "dump_service",
    "load_service",
    "parse_service",
    "parse_service_text",
]
