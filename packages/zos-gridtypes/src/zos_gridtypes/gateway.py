"""Gateway workloads: ``gateway-name-proxy`` and ``gateway-fqdn-proxy``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from . import workload_types as wt
from ._gocodec import GoModel
from ._gotypes import OMIT_EMPTY
from ._gourl import URLError, parse_url, split_host_port
from .errors import ValidationError
from .netaddr import IP, parse_ip
from .workload_data import NetworkLightVariant, WorkloadData, b, register

_GATEWAY_NAME = re.compile(r"[a-zA-Z0-9\-_]+")
_FQDN = re.compile(r"([a-zA-Z0-9\-_]+\.)+[a-zA-Z0-9\-_]{2,}")


def backend_error(backend: str, tls_passthrough: bool) -> str | None:
    """Why the node rejects a gateway backend (Go's text), or None when it is accepted."""
    if tls_passthrough:
        # Wrapped twice upstream: once around the split error, once around any failure.
        prefix = f"failed to parse backend {backend} with error: "
        try:
            host, port = split_host_port(backend)
        except URLError as e:
            return prefix + prefix + str(e)
        if parse_ip(host) is None:
            return prefix + "invalid ip"
        if not port or not port.isascii() or not port.isdigit() or len(port) > 20:
            return prefix + f"invalid port in backend: {port}"
        if int(port) > 0xFFFF:
            return prefix + f"port '{port}' must be <= 65535"
        return None
    try:
        url = parse_url(backend)
    except URLError as e:
        return f"failed to parse backend with error: {e}"
    if url.scheme != "http":
        return "scheme expected to be http"
    hostname = url.hostname()
    packed = parse_ip(hostname)
    if packed is None or IP(packed).is_loopback():
        return f"invalid ip address in backend: {hostname}"
    return None


class GatewayProxyResult(GoModel):
    go_type = "zos.GatewayProxyResult"
    fqdn: str = ""
    tls_passthrough: bool = False
    backends: list[str] = Field(default_factory=list)
    network: Annotated[str | None, OMIT_EMPTY] = None


class GatewayFQDNResult(GoModel):
    go_type = "zos.GatewayFQDNResult"


class _GatewayBase(WorkloadData):
    # The fields are declared by each subclass so that they encode in Go's order.
    if TYPE_CHECKING:
        tls_passthrough: bool
        backends: list[str]
        network: str | None

    def _write_base(self, out: list[str]) -> None:
        out.append(b(self.tls_passthrough))
        out += self.backends
        if self.network is not None:
            out.append(self.network)

    def _check_base(self) -> None:
        if not self.backends:
            raise ValidationError("backends list can not be empty")
        for backend in self.backends:
            reason = backend_error(backend, self.tls_passthrough)
            if reason is not None:
                raise ValidationError(f"failed to validate backend '{backend}': {reason}")


@register
class GatewayNameProxy(_GatewayBase):
    """``<name>.<gateway domain>`` proxied to the backends (needs a name contract)."""

    go_type = "zos.GatewayNameProxy"
    type_name = wt.GATEWAY_NAME_PROXY
    result_type = GatewayProxyResult

    name: str = ""
    tls_passthrough: bool = False
    backends: list[str] = Field(default_factory=list)
    network: Annotated[str | None, OMIT_EMPTY] = None

    def write_challenge(self, out: list[str], variant: NetworkLightVariant = "wg") -> None:
        out.append(self.name)
        self._write_base(out)

    def check(self, deployment: object = None) -> None:
        if not _GATEWAY_NAME.fullmatch(self.name):
            raise ValidationError(f"name {self.name} is invalid")
        self._check_base()


@register
class GatewayFQDNProxy(_GatewayBase):
    """A user's own domain (``fqdn``) proxied to the backends."""

    go_type = "zos.GatewayFQDNProxy"
    type_name = wt.GATEWAY_FQDN_PROXY
    result_type = GatewayFQDNResult

    fqdn: str = ""
    tls_passthrough: bool = False
    backends: list[str] = Field(default_factory=list)
    network: Annotated[str | None, OMIT_EMPTY] = None

    def write_challenge(self, out: list[str], variant: NetworkLightVariant = "wg") -> None:
        out.append(self.fqdn)
        self._write_base(out)

    def check(self, deployment: object = None) -> None:
        if not _FQDN.fullmatch(self.fqdn):
            raise ValidationError(f"fqdn {self.fqdn} is invalid")
        self._check_base()
