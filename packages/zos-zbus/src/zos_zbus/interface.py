"""Interfaces: typed Python classes that declare a zbus object (module, object, version) and
its methods with their explicit Go names."""

from __future__ import annotations

import collections.abc
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, get_args, get_origin

from .codec import Codec, codec_for
from .errors import CallError, InterfaceError
from .protocol import STATUS_OBJECT, STATUS_VERSION, ObjectID

C = TypeVar("C", bound=type)
F = TypeVar("F", bound=Callable[..., Any])

_DECL = "__zbus_method__"
_SPEC = "__zbus__"


@dataclass(frozen=True)
class _Decl:
    go_name: str
    raises: tuple[type[BaseException], ...]
    is_stream: bool


@dataclass
class Param:
    name: str
    annotation: Any
    codec: Codec


@dataclass
class MethodSpec:
    """One method of an interface, resolved from its annotations."""

    go_name: str
    py_name: str
    func: Callable[..., Any]
    raises: tuple[type[BaseException], ...]
    is_stream: bool
    interface: InterfaceSpec
    params: list[Param] = field(default_factory=list)
    variadic: Param | None = None
    returns: list[Codec] = field(default_factory=list)
    """Codecs of the non-error returns (for a stream: one, the element type)."""
    signature: inspect.Signature | None = None

    @property
    def channel(self) -> str:
        """The pubsub channel of a stream."""
        return f"{self.interface.queue}.{self.go_name}"

    def __str__(self) -> str:
        return f"{self.interface.object}.{self.go_name}"


@dataclass
class InterfaceSpec:
    """What an ``@interface`` class declares."""

    cls: type
    module: str
    object: ObjectID
    methods: dict[str, MethodSpec] = field(default_factory=dict)
    """By Go name."""
    resolved: bool = False

    @property
    def queue(self) -> str:
        return self.object.queue(self.module)

    def by_python_name(self, name: str) -> MethodSpec | None:
        for m in self.methods.values():
            if m.py_name == name:
                return m
        return None

    def resolve(self) -> InterfaceSpec:
        """Resolve every annotation into codecs (raises InterfaceError on unsupported types)."""
        if not self.resolved:
            for m in self.methods.values():
                _resolve_method(m)
            self.resolved = True
        return self


def method(
    go_name: str, *, raises: type[BaseException] | tuple[type[BaseException], ...] = CallError
) -> Callable[[F], F]:
    """Declare an interface method with its exact Go name.

    ``raises``: exception type(s) that are the Go ``error`` return, besides
    :class:`CallError` (always one, so a RemoteCallError from another module propagates as a
    call error). A handler raising one answers with a call error (and zero values); anything
    else is a panic (protocol error).
    """
    _check_go_name(go_name)
    extra: tuple[type[BaseException], ...] = raises if isinstance(raises, tuple) else (raises,)
    kinds: tuple[type[BaseException], ...] = (CallError, *extra)

    def decorate(func: F) -> F:
        setattr(func, _DECL, _Decl(go_name, kinds, is_stream=False))
        return func

    return decorate


def stream(go_name: str) -> Callable[[F], F]:
    """Declare a stream (Go ``Method(ctx) <-chan T``): ``def m(self) -> AsyncIterator[T]``."""
    _check_go_name(go_name)

    def decorate(func: F) -> F:
        setattr(func, _DECL, _Decl(go_name, (), is_stream=True))
        return func

    return decorate


def interface(*, module: str, object: str, version: str) -> Callable[[C], C]:
    """Declare a class as the interface of zbus object ``<module>.<object>@<version>``."""
    if not module or "." in module:
        raise InterfaceError(f"invalid module name {module!r}")
    if not object:
        raise InterfaceError("an object name is required")
    if object == STATUS_OBJECT and version == STATUS_VERSION:
        raise InterfaceError("object id is reserved")

    def decorate(cls: C) -> C:
        spec = InterfaceSpec(cls, module, ObjectID(object, version))
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                decl = getattr(value, _DECL, None)
                if not isinstance(decl, _Decl):
                    continue
                existing = spec.methods.get(decl.go_name)
                if existing is not None and existing.py_name != name:
                    raise InterfaceError(
                        f"{cls.__name__}: Go method {decl.go_name} declared twice "
                        f"({existing.py_name} and {name})"
                    )
                spec.methods[decl.go_name] = MethodSpec(
                    decl.go_name, name, value, decl.raises, decl.is_stream, spec
                )
        setattr(cls, _SPEC, spec)
        return cls

    return decorate


def spec_of(obj: Any) -> InterfaceSpec:
    """The interface spec of an interface class, a subclass of one, or an instance."""
    cls = obj if isinstance(obj, type) else type(obj)
    spec = getattr(cls, _SPEC, None)
    if not isinstance(spec, InterfaceSpec):
        raise InterfaceError(f"{cls.__name__} is not a zbus interface (use @zbus.interface)")
    return spec


def method_of(func: Any) -> MethodSpec:
    """The MethodSpec of an interface method reference, e.g. ``Calculator.add``."""
    decl = getattr(func, _DECL, None)
    qualname = getattr(func, "__qualname__", "")
    if not isinstance(decl, _Decl):
        raise InterfaceError(f"{func!r} is not a zbus interface method")
    module = inspect.getmodule(func)
    owner: Any = module
    for part in qualname.split(".")[:-1]:
        owner = getattr(owner, part, None)
    if owner is None:
        raise InterfaceError(f"cannot find the interface class of {qualname}")
    spec = spec_of(owner).resolve()
    return spec.methods[decl.go_name]


def _check_go_name(name: str) -> None:
    if not name or not name[0].isupper() or not name.isidentifier():
        raise InterfaceError(f"{name!r} is not an exported Go method name")


_ITERATORS = {
    collections.abc.AsyncIterator,
    collections.abc.AsyncIterable,
    collections.abc.AsyncGenerator,
}


def _resolve_method(m: MethodSpec) -> None:
    where = f"{m.interface.cls.__name__}.{m.py_name}"
    try:
        hints = typing.get_type_hints(m.func, include_extras=True)
    except Exception as exc:
        raise InterfaceError(f"{where}: cannot resolve annotations: {exc}") from exc
    sig = inspect.signature(m.func)
    m.signature = sig
    params = list(sig.parameters.values())[1:]  # self
    for p in params:
        if p.name not in hints:
            raise InterfaceError(f"{where}: parameter {p.name} has no type annotation")
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            if m.variadic is not None:
                raise InterfaceError(f"{where}: parameter after *{m.variadic.name}")
            m.params.append(Param(p.name, hints[p.name], _codec(where, hints[p.name])))
        elif p.kind is p.VAR_POSITIONAL:
            m.variadic = Param(p.name, hints[p.name], _codec(where, hints[p.name]))
        else:
            raise InterfaceError(f"{where}: keyword-only parameters have no Go equivalent")
    if "return" not in hints:
        raise InterfaceError(f"{where}: return type annotation is required (None for none)")
    ret = hints["return"]
    if m.is_stream:
        if m.params or m.variadic:
            raise InterfaceError(f"{where}: a stream takes no arguments")
        if get_origin(ret) not in _ITERATORS:
            raise InterfaceError(f"{where}: a stream returns AsyncIterator[T]")
        m.returns = [_codec(where, get_args(ret)[0])]
        return
    if ret is None or ret is type(None):
        m.returns = []
    elif get_origin(ret) is tuple:
        args = get_args(ret)
        if len(args) == 2 and args[1] is Ellipsis:
            m.returns = [_codec(where, ret)]
        else:
            m.returns = [_codec(where, a) for a in args]
    else:
        m.returns = [_codec(where, ret)]


def _codec(where: str, annotation: Any) -> Codec:
    try:
        return codec_for(annotation)
    except InterfaceError as exc:
        raise InterfaceError(f"{where}: {exc}") from None
