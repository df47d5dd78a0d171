"""The parts of Go's ``net/url.Parse`` and ``net.SplitHostPort`` the checks depend on.

Error texts follow Go (``parse "<url>": <reason>``); gateway backends and zlogs outputs are
rejected exactly when a Go node rejects them for the common cases (scheme, host, port, escapes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass


class URLError(ValueError):
    pass


@dataclass(frozen=True)
class URL:
    scheme: str
    host: str  # host[:port] as written, unescaped

    def hostname(self) -> str:
        """Go's ``URL.Hostname()``: the host without port and IPv6 brackets."""
        host = self.host
        colon = host.rfind(":")
        if colon != -1 and _valid_optional_port(host[colon:]):
            host = host[:colon]
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return host


def _quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _valid_optional_port(port: str) -> bool:
    if port == "":
        return True
    if port[0] != ":":
        return False
    return all("0" <= c <= "9" for c in port[1:])


def _check_escapes(s: str, host: bool) -> str:
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "%":
            chunk = s[i : i + 3]
            if len(chunk) < 3 or not all(ch in "0123456789abcdefABCDEF" for ch in chunk[1:]):
                raise URLError(f"invalid URL escape {_quote(chunk)}")
            out.append(chr(int(chunk[1:], 16)))
            i += 3
            continue
        if host and c < "\x80" and not (c.isalnum() or c in "-_.~!$&'()*+,;=:[]<>\""):
            raise URLError(f"invalid character {_quote(c)} in host name")
        out.append(c)
        i += 1
    return "".join(out)


def _parse_host(host: str) -> str:
    if host.startswith("["):
        end = host.rfind("]")
        if end < 0:
            raise URLError("missing ']' in host")
        port = host[end + 1 :]
        if not _valid_optional_port(port):
            raise URLError(f"invalid port {_quote(port)} after host")
    else:
        colon = host.rfind(":")
        if colon != -1:
            port = host[colon:]
            if not _valid_optional_port(port):
                raise URLError(f"invalid port {_quote(port)} after host")
    return _check_escapes(host, host=True)


def _parse(raw: str) -> URL:
    if any(c < " " or c == "\x7f" for c in raw):
        raise URLError("net/url: invalid control character in URL")
    rest = raw.split("#", 1)[0]
    if rest == "*":
        return URL("", "")
    scheme = ""
    for i, c in enumerate(rest):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-."):
            if i == 0:
                break
            continue
        if c == ":":
            if i == 0:
                raise URLError("missing protocol scheme")
            scheme, rest = rest[:i].lower(), rest[i + 1 :]
        break
    rest = rest.split("?", 1)[0]
    if not rest.startswith("/") and scheme:
        return URL(scheme, "")  # opaque, e.g. mailto:x
    if not rest.startswith("/"):
        segment = rest.split("/", 1)[0]
        if ":" in segment:
            raise URLError("first path segment in URL cannot contain colon")
    host = ""
    if rest.startswith("//") and (scheme or not rest.startswith("///")):
        authority, _, path = rest[2:].partition("/")
        rest = "/" + path if _ else ""
        at = authority.rfind("@")
        host = _parse_host(authority[at + 1 :])
    _check_escapes(rest, host=False)
    return URL(scheme, host)


def parse_url(raw: str) -> URL:
    """Parse like Go's ``url.Parse``; ``URLError`` carries Go's ``parse "<u>": ...`` text."""
    try:
        return _parse(raw)
    except URLError as e:
        raise URLError(f"parse {_quote(raw)}: {e}") from None


def split_host_port(hostport: str) -> tuple[str, str]:
    """Go's ``net.SplitHostPort`` with its error texts."""

    def error(why: str) -> URLError:
        return URLError(f"address {hostport}: {why}")

    i = hostport.rfind(":")
    if i < 0:
        raise error("missing port in address")
    j = k = 0
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise error("missing ']' in address")
        if end + 1 == len(hostport):
            raise error("missing port in address")
        if end + 1 != i:
            if hostport[end + 1] == ":":
                raise error("too many colons in address")
            raise error("missing port in address")
        host = hostport[1:end]
        j, k = 1, end + 1
    else:
        host = hostport[:i]
        if ":" in host:
            raise error("too many colons in address")
    if "[" in hostport[j:]:
        raise error("unexpected '[' in address")
    if "]" in hostport[k:]:
        raise error("unexpected ']' in address")
    return host, hostport[i + 1 :]
