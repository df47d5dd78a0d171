"""Golden wire samples of zbus v1.0 (from the spec, recorded from the Go implementation), in
the spec's notation: hex bytes, "quoted text" as raw UTF-8, and <uuid> for the request id."""

from __future__ import annotations

import re

UUID = "0f4f7c3c-7d3e-4a0e-9b0a-2d7c1d9e8a11"

ADD_REQUEST = (
    '85 a2"ID" d924<uuid> a6"Inputs" 92 c409cb4008000000000000 c409cb4010000000000000 '
    'a6"Object" 82 a4"Name" aa"calculator" a7"Version" a3"1.0" a7"ReplyTo" d924<uuid> '
    'a6"Method" a3"Add"'
)

RESPONSE = '83 a2"ID" d924<uuid> a6"Output" 82 a4"Data" {D} a5"Error" {E} a5"Error" {T}'

RESPONSES = {
    "add": ("c409cb401c000000000000", "c0", "c0"),
    "divide_by_zero": ("c409cb0000000000000000", '81 a7"Message" b0"division by zero"', "c0"),
    "unknown_object": ("c0", "c0", 'ae"unknown object"'),
}


def golden(notation: str, uuid: str = UUID) -> bytes:
    out = bytearray()
    for token in re.findall(r'"[^"]*"|<uuid>|[0-9a-fA-F]+', notation):
        if token == "<uuid>":
            out += uuid.encode()
        elif token.startswith('"'):
            out += token[1:-1].encode()
        else:
            out += bytes.fromhex(token)
    return bytes(out)


def response(case: str, uuid: str = UUID) -> bytes:
    d, e, t = RESPONSES[case]
    return golden(RESPONSE.format(D=d, E=e, T=t), uuid)
