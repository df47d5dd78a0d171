"""Workload names, workload ids, and the short unique names used for devices and namespaces."""

from __future__ import annotations

import hashlib
import re

from .errors import ValidationError

MAX_NAME_LENGTH = 36
"""Bytes; the virtio-fs tag limit (a workload name becomes a mount tag)."""

_NAME = re.compile(r"[a-zA-Z0-9_]+")
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

SHARABLE_TYPES = frozenset({"network", "network-light"})
"""Types a twin may own once per name on a node, across all its deployments."""


def name_error(name: str) -> str | None:
    """The Go node's error for an invalid workload name, or None when it is valid."""
    if not name:
        return "name cannot be empty"
    if len(name.encode()) > MAX_NAME_LENGTH:
        return f"name cannot exceed {MAX_NAME_LENGTH} characters"
    if not _NAME.fullmatch(name):
        return "unsupported character in workload name"
    if name == "ygg":
        return "invalid name 'ygg' is reserved"
    return None


def check_name(name: str) -> None:
    """Raise ``ValidationError`` (Go's text) if ``name`` is not a valid workload name."""
    error = name_error(name)
    if error is not None:
        raise ValidationError(error)


def base58(data: bytes) -> str:
    """Bitcoin-alphabet base58, one ``1`` per leading zero byte."""
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(_B58_ALPHABET[r])
    zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * zeros + "".join(reversed(out))


def base58_decode(text: str) -> bytes:
    """Inverse of :func:`base58`; ``ValueError`` on a character outside the alphabet."""
    n = 0
    for ch in text:
        index = _B58_ALPHABET.find(ch)
        if index < 0:
            raise ValueError(f"invalid base58 character {ch!r}")
        n = n * 58 + index
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * zeros + body


def _short(text: str) -> str:
    return base58(hashlib.md5(text.encode()).digest())[:13]


def workload_id(twin: int, contract: int, name: str) -> str:
    """``"{twin}-{contract}-{name}"`` (Go's ``gridtypes.WorkloadID``)."""
    return f"{twin}-{contract}-{name}"


_WID = re.compile(r"(\+?\d+)-(\+?\d+)-(.*)", re.DOTALL)


def parse_workload_id(wid: str) -> tuple[int, int, str]:
    """Parse ``twin-contract-name`` back (Go parses it with ``%d-%d-%s``)."""
    m = _WID.fullmatch(wid)
    if m is None or not m.group(3):
        raise ValidationError(f"invalid workload id format: '{wid}'")
    return int(m.group(1)), int(m.group(2)), m.group(3)


def workload_id_path(wid: str) -> str:
    """The path form of a workload id: ``-`` replaced by ``/``."""
    return wid.replace("-", "/")


def deployment_id(twin: int, contract: int) -> str:
    """``"{twin}-{contract}"`` (Go's ``gridtypes.DeploymentID``)."""
    return f"{twin}-{contract}"


def unique_name(wid: str, name: str) -> str:
    """Go's ``WorkloadID.Unique(name)``: 13 base58 chars of md5(``"{wid}:{name}"``)."""
    return _short(f"{wid}:{name}")


def network_id(twin: int, name: str) -> str:
    """Go's ``NetworkID(twin, name)``: names the network namespace of a twin's network."""
    return _short(f"{twin}:{name}")


def is_sharable(workload_type: str) -> bool:
    return workload_type in SHARABLE_TYPES
