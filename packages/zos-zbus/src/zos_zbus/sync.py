"""A thin synchronous facade over :class:`~zos_zbus.client.Client` for scripts and tests.

It runs its own event loop in a background thread; every call blocks until the reply (or
the deadline). Do not use it from inside a running event loop's thread for long calls.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from types import TracebackType
from typing import Any, Self, TypeVar

from .broker import DEFAULT_BROKER
from .client import DEFAULT_TIMEOUT, Client, DropPolicy, Subscription
from .interface import InterfaceSpec, method_of, spec_of
from .status import Status

R = TypeVar("R")


class SyncClient:
    """``with SyncClient(url) as bus: bus.stub(Calculator).add(1.0, 2.0)``."""

    def __init__(self, broker: str = DEFAULT_BROKER, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="zbus-sync", daemon=True
        )
        self._thread.start()

        async def make() -> Client:
            return Client(broker, timeout=timeout)

        self._client = self.run(make())

    def run(self, coro: Coroutine[Any, Any, R]) -> R:
        """Run a coroutine on the facade's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    @property
    def client(self) -> Client:
        return self._client

    def stub(self, iface: type, *, timeout: float | None = None) -> Any:
        """A blocking proxy: same method names as ``iface``, plain return values."""
        return _SyncStub(self, spec_of(iface).resolve(), timeout)

    def call(self, method: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        return self.run(self._client.invoke(method_of(method), args, {}, timeout=timeout))

    def status(self, module: str, *, timeout: float = 3.0) -> Status:
        return self.run(self._client.status(module, timeout=timeout))

    def subscribe(
        self, method: Callable[..., Any], *, policy: DropPolicy = "keep_latest", buffer: int = 1
    ) -> SyncSubscription:
        sub = Subscription[Any](self._client, method_of(method), policy=policy, buffer=buffer)
        return SyncSubscription(self, sub)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self.run(self._client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _SyncStub:
    def __init__(self, bus: SyncClient, spec: InterfaceSpec, timeout: float | None) -> None:
        self._bus = bus
        self._spec = spec
        self._timeout = timeout

    def __getattr__(self, name: str) -> Callable[..., Any]:
        m = self._spec.by_python_name(name)
        if m is None:
            raise AttributeError(f"{self._spec.cls.__name__} has no zbus method {name}")
        bus, timeout = self._bus, self._timeout
        if m.is_stream:

            def subscribe(
                *, policy: DropPolicy = "keep_latest", buffer: int = 1
            ) -> SyncSubscription:
                return SyncSubscription(
                    bus, Subscription(bus.client, m, policy=policy, buffer=buffer)
                )

            return subscribe

        def call(*args: Any, **kwargs: Any) -> Any:
            return bus.run(bus.client.invoke(m, args, kwargs, timeout=timeout))

        return call


class SyncSubscription:
    """Blocking iterator over a stream subscription; ``close()`` it when done."""

    def __init__(self, bus: SyncClient, sub: Subscription[Any]) -> None:
        self._bus = bus
        self._sub = sub
        bus.run(sub.start())

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            return self._bus.run(self._sub.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        self._bus.run(self._sub.aclose())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
