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


def bin_of(hex_payload: str) -> str:
    """The spec notation of a msgpack bin (``c4 <len>``) around ``hex_payload``."""
    data = golden(hex_payload)
    return f"c4{len(data):02x} {data.hex()}"


def request(obj: str, method: str, inputs: list[str], uuid: str = UUID) -> bytes:
    """A Request in Go's framing: ``inputs`` are hex msgpack values, one per argument."""
    notation = (
        f'85 a2"ID" d924<uuid> a6"Inputs" {0x90 | len(inputs):02x} '
        + " ".join(bin_of(i) for i in inputs)
        + f' a6"Object" 82 a4"Name" {0xA0 | len(obj):02x}"{obj}" a7"Version" a3"1.0" '
        + f'a7"ReplyTo" d924<uuid> a6"Method" {0xA0 | len(method):02x}"{method}"'
    )
    return golden(notation, uuid)


def reply(
    data: str | None, error: str | None, protocol_error: str | None, uuid: str = UUID
) -> bytes:
    """A Response in Go's framing: ``data`` is the hex msgpack return value (None: nil)."""
    d = "c0" if data is None else bin_of(data)
    e = "c0" if error is None else f'81 a7"Message" {0xA0 | len(error):02x}"{error}"'
    t = "c0" if protocol_error is None else f'{_str_header(protocol_error)}"{protocol_error}"'
    return golden(RESPONSE.format(D=d, E=e, T=t), uuid)


def _str_header(text: str) -> str:
    n = len(text.encode())
    return f"{0xA0 | n:02x}" if n < 32 else f"d9{n:02x}"


F64_3 = "cb4008000000000000"
F64_4 = "cb4010000000000000"

EXAMPLE_CASES: list[tuple[str, str, list[str], str | None, str | None, str | None]] = [
    # object, method, inputs, Data, Output.Error.Message, top-level Error
    ("calculator", "Add", [F64_3, F64_4], "cb401c000000000000", None, None),
    (
        "calculator",
        "AddSub",
        ["cb4024000000000000", F64_3],
        "92 cb402a000000000000 cb401c000000000000",
        None,
        None,
    ),
    (
        "calculator",
        "Divide",
        ["cb3ff0000000000000", "cb0000000000000000"],
        "cb0000000000000000",
        "division by zero",
        None,
    ),
    ("calculator", "Divide", ["cb4024000000000000", F64_4], "cb4004000000000000", None, None),
    (
        "calculator",
        "Pow",
        ["cb4000000000000000", "cb4024000000000000"],
        "cb4090000000000000",
        None,
        None,
    ),
    (
        "calculator",
        "Avg",
        ["94 cb3ff0000000000000 cb4000000000000000 cb4008000000000000 cb4010000000000000"],
        "cb4004000000000000",
        None,
        None,
    ),
    ("calculator", "Avg", ["90"], "cb0000000000000000", None, None),
    ("calculator", "Avg", ["c0"], "cb0000000000000000", None, None),
    ("utils", "Capitalize", ['a5"hello"'], 'a5"HELLO"', None, None),
    ("utils", "Tuple", [], '93 d3000000000000000a ab"hello world" cb3fe0000000000000', None, None),
    ("utils", "Panic", [], None, None, "remote method call utils@1.0.Panic() paniced: Aaaaah!"),
    ("utils", "Sleep", ["d30000000000989680"], None, None, None),
    ("calculator", "Add", [F64_3], None, None, "invalid number of arguments expecting 2 got 1"),
    (
        "calculator",
        "Add",
        [F64_3, 'a4"four"'],
        None,
        None,
        "invalid argument type [1] expecting float64 got",
    ),
    ("calculator", "Mul", [F64_3, F64_4], None, None, "not a function"),
    ("abacus", "Add", [F64_3, F64_4], None, None, "unknown object"),
]
"""The example server's replies, byte for byte, as the Go server sends them."""
