"""IP addresses and CIDR networks parsed and printed exactly like Go's ``net`` package.

Python's ``ipaddress`` differs from Go in small ways that change the challenge bytes (zones,
IPv4-mapped IPv6 text, host bits of a CIDR, leading zeros), so the grammar is reproduced here
from Go's ``ParseIP``/``ParseCIDR`` and ``IP.String``/``IPNet.String``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

_V4_MAPPED_PREFIX = b"\x00" * 10 + b"\xff\xff"
_BIG = 0xFFFFFF


def _dtoi(s: str) -> tuple[int, int, bool]:
    """Go's dtoi: leading decimal digits of ``s`` as (value, digits consumed, ok)."""
    n = 0
    i = 0
    while i < len(s) and "0" <= s[i] <= "9":
        n = n * 10 + ord(s[i]) - 48
        if n >= _BIG:
            return _BIG, i, False
        i += 1
    if i == 0:
        return 0, 0, False
    return n, i, True


def _xtoi(s: str) -> tuple[int, int, bool]:
    """Go's xtoi: leading hex digits of ``s`` as (value, digits consumed, ok)."""
    n = 0
    i = 0
    while i < len(s):
        c = s[i]
        if "0" <= c <= "9":
            n = n * 16 + ord(c) - 48
        elif "a" <= c <= "f":
            n = n * 16 + ord(c) - 87
        elif "A" <= c <= "F":
            n = n * 16 + ord(c) - 55
        else:
            break
        if n >= _BIG:
            return 0, i, False
        i += 1
    if i == 0:
        return 0, i, False
    return n, i, True


_SIMPLE_V4 = re.compile(r"(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})")


def _parse_ipv4(s: str) -> bytes | None:
    m = _SIMPLE_V4.fullmatch(s)
    if m is not None:  # fast path: the common canonical text
        a, b, c, d = int(m[1]), int(m[2]), int(m[3]), int(m[4])
        if a < 256 and b < 256 and c < 256 and d < 256:
            return _V4_MAPPED_PREFIX + bytes((a, b, c, d))
        return None
    out = bytearray(4)
    for i in range(4):
        if not s:
            return None
        if i > 0:
            if s[0] != ".":
                return None
            s = s[1:]
        n, c, ok = _dtoi(s)
        if not ok or n > 0xFF:
            return None
        if c > 1 and s[0] == "0":  # Go rejects leading zeros (octal ambiguity)
            return None
        s = s[c:]
        out[i] = n
    if s:
        return None
    return _V4_MAPPED_PREFIX + bytes(out)


def _parse_ipv6(s: str) -> bytes | None:
    ip = bytearray(16)
    ellipsis = -1
    if len(s) >= 2 and s[0] == ":" and s[1] == ":":
        ellipsis = 0
        s = s[2:]
        if not s:
            return bytes(ip)
    i = 0
    while i < 16:
        n, c, ok = _xtoi(s)
        if not ok or n > 0xFFFF:
            return None
        if c < len(s) and s[c] == ".":
            if (ellipsis < 0 and i != 12) or i + 4 > 16:
                return None
            ip4 = _parse_ipv4(s)
            if ip4 is None:
                return None
            ip[i : i + 4] = ip4[12:]
            s = ""
            i += 4
            break
        ip[i] = n >> 8
        ip[i + 1] = n & 0xFF
        i += 2
        s = s[c:]
        if not s:
            break
        if s[0] != ":" or len(s) == 1:
            return None
        s = s[1:]
        if s[0] == ":":
            if ellipsis >= 0:
                return None
            ellipsis = i
            s = s[1:]
            if not s:
                break
    if s:
        return None
    if i < 16:
        if ellipsis < 0:
            return None
        n = 16 - i
        ip[ellipsis + n : 16] = ip[ellipsis:i]
        ip[ellipsis : ellipsis + n] = bytes(n)
    elif ellipsis >= 0:
        return None
    return bytes(ip)


def parse_ip(text: str) -> bytes | None:
    """Go's ``net.ParseIP``: 16 bytes (IPv4 as IPv4-mapped), or None when invalid."""
    for ch in text:
        if ch == ".":
            return _parse_ipv4(text)
        if ch == ":":
            return _parse_ipv6(text)
    return None


def format_ip(packed: bytes) -> str:
    """Go's ``net.IP.String``: dotted IPv4 (also for IPv4-mapped), RFC 5952 IPv6."""
    if not packed:
        return "<nil>"
    if len(packed) == 4:
        return ".".join(str(b) for b in packed)
    if packed[:12] == _V4_MAPPED_PREFIX:
        return ".".join(str(b) for b in packed[12:])
    groups = [(packed[i] << 8) | packed[i + 1] for i in range(0, 16, 2)]
    best_start, best_len = -1, 0
    i = 0
    while i < 8:
        j = i
        while j < 8 and groups[j] == 0:
            j += 1
        if j - i > best_len:
            best_start, best_len = i, j - i
        i = j + 1 if j > i else i + 1
    if best_len < 2:
        return ":".join(f"{g:x}" for g in groups)
    head = ":".join(f"{g:x}" for g in groups[:best_start])
    tail = ":".join(f"{g:x}" for g in groups[best_start + best_len :])
    return f"{head}::{tail}"


class _GoText:
    """Pydantic hooks for a value read from and written as Go's text (``str()``).

    Subclasses provide ``parse`` and the texts below.
    """

    __slots__ = ()
    _not_a_string: ClassVar[str]
    """The error when the input is not a string."""
    _json_description: ClassVar[str]

    @classmethod
    def parse(cls, text: str) -> Self:
        raise NotImplementedError

    @classmethod
    def _coerce(cls, value: Any) -> Self:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        raise ValueError(cls._not_a_string)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._coerce, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "description": cls._json_description}


class IP(_GoText):
    """A Go ``net.IP``: unset (empty) or 16 bytes. ``str()`` is Go's text, ``""`` when unset."""

    __slots__ = ("_text", "packed")
    _not_a_string = "IP address must be a string"
    _json_description = 'IPv4 or IPv6 address, or "" for unset'

    def __init__(self, packed: bytes = b"") -> None:
        if packed and len(packed) == 4:
            packed = _V4_MAPPED_PREFIX + packed
        if packed and len(packed) != 16:
            raise ValueError(f"invalid IP length {len(packed)}")
        self.packed = packed
        self._text = format_ip(packed)

    @classmethod
    def parse(cls, text: str) -> IP:
        """Parse like Go's ``net.IP.UnmarshalText``: ``""`` is unset, else a literal IP."""
        if text == "":
            return UNSET_IP
        m = _SIMPLE_V4.fullmatch(text)
        if m is not None:  # fast path: canonical IPv4 text is its own rendering
            octets = (int(m[1]), int(m[2]), int(m[3]), int(m[4]))
            if max(octets) < 256:
                ip = cls.__new__(cls)
                ip.packed = _V4_MAPPED_PREFIX + bytes(octets)
                ip._text = text
                return ip
            raise ValueError(f"invalid IP address: {text}")
        packed = parse_ip(text)
        if packed is None:
            raise ValueError(f"invalid IP address: {text}")
        return cls(packed)

    def __bool__(self) -> bool:
        return bool(self.packed)

    def __str__(self) -> str:
        return self._text if self.packed else ""

    def challenge_text(self) -> str:
        """The challenge rendering: Go's ``IP.String()``, ``<nil>`` when unset."""
        return self._text

    def is_ipv4(self) -> bool:
        return self.packed[:12] == _V4_MAPPED_PREFIX

    def is_loopback(self) -> bool:
        if self.is_ipv4():
            return self.packed[12] == 127
        return self.packed == b"\x00" * 15 + b"\x01"

    def __repr__(self) -> str:
        return f"IP({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IP) and other.packed == self.packed

    def __hash__(self) -> int:
        return hash(("IP", self.packed))


UNSET_IP = IP()


class IPNet(_GoText):
    """A grid ``IPNet``: a CIDR whose host part is kept (``10.1.2.5/24`` stays so), or unset."""

    __slots__ = ("_text", "ip", "prefix", "v4_text")
    _not_a_string = "CIDR must be a string"
    _json_description = 'CIDR (host part kept), or "" for unset'

    def __init__(
        self, ip: bytes = b"", prefix: int = 0, v4_text: bool = True, text: str | None = None
    ) -> None:
        # ``v4_text``: parsed from IPv4 text (a 32-bit mask) rather than IPv6 text (128-bit).
        # ``text``: the canonical rendering when the caller already has it.
        self.ip = ip
        self.prefix = prefix
        self.v4_text = v4_text
        self._text = self._render() if text is None else text

    def _render(self) -> str:
        if not self.ip:
            return "<nil>"
        prefix = self.prefix
        if self.ip[:12] == _V4_MAPPED_PREFIX and not self.v4_text:
            prefix = max(0, prefix - 96)  # Go prints the low 32 bits of a 128-bit mask
        return f"{format_ip(self.ip)}/{prefix}"

    @classmethod
    def parse(cls, text: str) -> IPNet:
        """Parse like Go's ``net.ParseCIDR`` keeping the host address; ``""`` is unset."""
        if text == "":
            return UNSET_IPNET
        slash = text.find("/")
        if slash < 0:
            raise ValueError(f"invalid CIDR address: {text}")
        addr, mask = text[:slash], text[slash + 1 :]
        if mask.isdigit() and len(mask) <= 3 and mask.isascii():
            m = _SIMPLE_V4.fullmatch(addr)
            if m is not None:  # fast path: canonical IPv4 CIDR
                n = int(mask)
                octets = (int(m[1]), int(m[2]), int(m[3]), int(m[4]))
                if n <= 32 and max(octets) < 256:
                    # Canonical already, except for leading zeros in the prefix length.
                    canonical = text if mask[0] != "0" or mask == "0" else f"{addr}/{n}"
                    return cls(_V4_MAPPED_PREFIX + bytes(octets), n, True, canonical)
        v4 = True
        ip = _parse_ipv4(addr)
        if ip is None:
            v4 = False
            ip = _parse_ipv6(addr)
        n, i, ok = _dtoi(mask)
        if ip is None or not ok or i != len(mask) or n > (32 if v4 else 128):
            raise ValueError(f"invalid CIDR address: {text}")
        return cls(ip, n, v4)

    def __bool__(self) -> bool:
        return bool(self.ip)

    def __str__(self) -> str:
        return self._text if self.ip else ""

    def challenge_text(self) -> str:
        """The challenge rendering: Go's ``IPNet.String()``, ``<nil>`` when unset."""
        return self._text

    def __repr__(self) -> str:
        return f"IPNet({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IPNet) and other._text == self._text

    def __hash__(self) -> int:
        return hash(("IPNet", self._text))


UNSET_IPNET = IPNet()
