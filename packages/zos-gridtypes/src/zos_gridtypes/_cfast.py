"""The C fast path (``_accel``): plain documents decoded straight into models.

Same contract as ``_fastpath`` (which it replaces when the extension is built): it only ever
accepts a document the exact decoder decodes to the same models, and returns None for any
doubt. The schemas handed to the C parser come from the models' annotations, the same way
``_fastpath`` builds its pydantic-core schemas. Without a C compiler the package still works:
``AVAILABLE`` is then False and ``_fastpath``'s pydantic-core path is used.
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .netaddr import IP, IPNet
from .rawjson import LazySource, RawJSON

if TYPE_CHECKING:
    from ._gocodec import GoModel


def source_sha() -> str | None:
    """SHA-256 of ``_accel.c`` as it is now (None when the source is not installed)."""
    try:
        return hashlib.sha256((Path(__file__).parent / "_accel.c").read_bytes()).hexdigest()
    except OSError:
        return None


try:
    from . import _accel
except ImportError:  # not compiled (no C compiler when the package was installed)
    AVAILABLE = False
else:
    # A module built from another version of the source may expect other schemas: unused
    # (with a warning) until rebuilt, rather than failing in odd ways.
    AVAILABLE = source_sha() in (None, _accel.SOURCE_SHA)
    if AVAILABLE:
        from .rawjson import _UNPARSED

        _accel.set_raw_class(RawJSON, _UNPARSED)
    else:
        warnings.warn(
            "zos_gridtypes._accel was built from another version of _accel.c and is not "
            "used; rebuild it: python packages/zos-gridtypes/build_ext.py",
            RuntimeWarning,
            stacklevel=1,
        )


Spec = tuple[Any, ...]


class _SpecBuilder:
    def __init__(self) -> None:
        self.models: dict[type[Any], Any] = {}

    def field(self, annotation: Any, metadata: list[Any]) -> Spec:
        from ._fastpath import _ipnet, field_kind

        kind, arg = field_kind(annotation, metadata)
        if kind == "uint":
            return ("uint", arg)
        if kind == "list":
            return ("list", self.field(arg, []))
        if kind == "model":
            return ("model", self.model(arg))
        if kind == "ipnet":
            return ("ipnet", IPNet, _ipnet)
        if kind == "ip":
            return ("ip", IP, IP.parse)
        if kind == "raw":
            return ("rawnull",)  # RawJSON(None, None), as for ``"data": null``
        return (kind,)  # str, bool, int64, hex, map

    def model(self, cls: type[GoModel]) -> Any:
        from ._fastpath import _Unsupported

        compiled = self.models.get(cls)
        if compiled is None:
            from ._gocodec import GoModel, _fast_factory

            if cls.go_decode.__func__ is not GoModel.go_decode.__func__:  # type: ignore[attr-defined]
                raise _Unsupported(cls)  # decoding has its own rules
            workload = cls.__name__ == "Workload" and cls.__module__.endswith(".deployment")
            fields = []
            for attr, info in cls.model_fields.items():
                json_name = info.alias or attr
                default: tuple[Any, ...] = ()
                factory = None
                if workload and attr == "data":
                    # RawJSON(None) (raw text recovered from the source) with the typed data cached
                    spec: Spec = ("workload", self.workload_choices())
                else:
                    spec = self.field(info.annotation, info.metadata)
                    if info.default_factory is None:
                        default = (info.default,)
                    else:
                        factory = _fast_factory(info.annotation, info.default_factory)
                fields.append((json_name.encode(), attr, spec, default, factory))
            compiled = _accel.compile_model(cls, fields)
            self.models[cls] = compiled
        return compiled

    def workload_choices(self) -> dict[str, Any]:
        from ._fastpath import _Unsupported
        from .workload_data import WORKLOAD_TYPES

        choices = {}
        for type_name, data_cls in WORKLOAD_TYPES.items():
            try:
                choices[type_name] = self.model(data_cls)
            except _Unsupported:
                continue  # declined: the exact decoder takes these workloads
        return choices


_schemas: dict[type[Any], Any] = {}
_LOCK = threading.Lock()
_deployment_class: type[Any] | None = None


def _schema(cls: type[GoModel]) -> Any:
    global _deployment_class
    from ._fastpath import _Unsupported
    from .deployment import Deployment

    _deployment_class = Deployment
    with _LOCK:
        if cls not in _schemas:
            try:
                _schemas[cls] = _SpecBuilder().model(cls)
            except _Unsupported:
                _schemas[cls] = None
    return _schemas[cls]


def fast_decode(cls: type[GoModel], data: bytes) -> Any:
    """``cls`` decoded from plain JSON ``data``, its raw source attached; None to decline."""
    schema = _schemas.get(cls, False)
    if schema is False:
        schema = _schema(cls)
    if schema is None:
        return None
    model = _accel.decode(schema, data)
    if model is None:
        return None
    plan = cls.raw_plan
    if plan is not None:
        source = LazySource(data, plan)
        if cls is _deployment_class:
            # Only the workloads' data can need its text (a result's data here is null).
            for index, workload in enumerate(model.workloads):
                workload.data.attach(source, ("workloads", index, "data"))
        else:
            model.attach_source(source, ())
    return model


# -- challenge -------------------------------------------------------------------------------
# The programs mirror the ``write_challenge`` methods (the reference, used whenever the C
# renderer declines); ``tests/test_gridtypes_accel.py`` checks both agree on every vector and
# on generated deployments. Only the current network-light variant ("wg") is rendered here.

_WIREGUARD = [
    ("text", "ip_range"),
    ("text", "subnet"),
    ("str", "wireguard_private_key"),
    ("uint", "wireguard_listen_port"),
    (
        "models",
        "peers",
        [
            ("str", "wireguard_public_key"),
            ("str", "endpoint"),
            ("text", "subnet"),
            ("texts", "allowed_ips"),
        ],
    ),
]
_MYCELIUM = [("hex", "hex_key"), ("strs", "peers")]
_MACHINE_INTERFACES = ("models", "interfaces", [("str", "network"), ("text", "ip")])
_MACHINE_MYCELIUM = ("optional", "mycelium", [("str", "network"), ("hex", "hex_seed")])
_MACHINE_REST = [
    ("uint", "size"),
    ("model", "compute_capacity", [("uint", "cpu"), ("uint", "memory")]),
    ("models", "mounts", [("str", "name"), ("str", "mountpoint")]),
    ("str", "entrypoint"),
    ("env", "env"),
    ("strs", "gpu"),
]
_GATEWAY_BASE = [("bool", "tls_passthrough"), ("strs", "backends"), ("optstr", "network")]

DATA_PROGRAMS: dict[str, list[Any]] = {
    "zmount": [("uint", "size")],
    "volume": [("uint", "size")],
    "zdb": [("uint", "size"), ("str", "mode"), ("str", "password"), ("bool", "public")],
    "ip": [("bool", "v4"), ("bool", "v6")],
    "ipv4": [],
    "network": [*_WIREGUARD, ("optional", "mycelium", _MYCELIUM)],
    "network-light": [*_WIREGUARD, ("model", "mycelium", _MYCELIUM)],
    "zmachine": [
        ("str", "flist"),
        (
            "model",
            "network",
            [
                ("str", "public_ip"),
                ("bool", "planetary"),
                _MACHINE_INTERFACES,
                _MACHINE_MYCELIUM,
            ],
        ),
        *_MACHINE_REST,
    ],
    "zmachine-light": [
        ("str", "flist"),
        ("model", "network", [_MACHINE_INTERFACES, _MACHINE_MYCELIUM]),
        *_MACHINE_REST,
    ],
    "zlogs": [("str", "zmachine"), ("str", "output")],
    "gateway-name-proxy": [("str", "name"), *_GATEWAY_BASE],
    "gateway-fqdn-proxy": [("str", "fqdn"), *_GATEWAY_BASE],
}
"""Challenge programs of the workload types (qsfs has none: Python renders it)."""

_deployment_program: Any = None


def _build_deployment_program() -> Any:
    from .workload_data import WORKLOAD_TYPES

    choices = {
        name: (WORKLOAD_TYPES[name], _accel.compile_challenge(ops))
        for name, ops in DATA_PROGRAMS.items()
        if name in WORKLOAD_TYPES
    }
    workload = [
        ("uint", "version"),
        ("str", "name"),
        ("str", "type"),
        ("str", "metadata"),
        ("str", "description"),
        ("data", "data", choices),
    ]
    requirement = [
        ("models", "requests", [("uint", "twin_id"), ("bool", "required"), ("uint", "weight")]),
        ("uint", "weight_required"),
        ("str", "signature_style"),
    ]
    return _accel.compile_challenge(
        [
            ("uint", "version"),
            ("uint", "twin_id"),
            ("str", "metadata"),
            ("str", "description"),
            ("int", "expiration"),
            ("models", "workloads", workload),
            ("model", "signature_requirement", requirement),
        ]
    )


def deployment_challenge(deployment: Any) -> bytes | None:
    """The current-variant challenge of ``deployment``, or None when Python must render it
    (no extension, a workload whose typed data is not decoded yet, unexpected value types)."""
    global _deployment_program
    if not AVAILABLE:
        return None
    if _deployment_program is None:
        with _LOCK:
            if _deployment_program is None:
                _deployment_program = _build_deployment_program()
    return _accel.render(_deployment_program, deployment)
