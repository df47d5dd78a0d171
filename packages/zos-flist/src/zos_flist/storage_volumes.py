"""flistd's writable layers as storaged volumes, over zbus (``zos_storage.api``)."""

from __future__ import annotations

import zos_zbus as zbus
from zos_storage.api import NotFoundError, StorageModule, error_from_message

from .api import FlistdError, Unit


class StorageVolumes:
    """The :class:`zos_flist.flistd.Volumes` calls answered by storaged.

    Blocking (a :class:`zos_zbus.SyncClient`): flistd's handlers run in a worker thread.
    """

    def __init__(self, bus: zbus.SyncClient) -> None:
        self._storage = bus.stub(StorageModule)

    def _call(self, what: str, method: str, *args: object) -> object:
        try:
            return getattr(self._storage, method)(*args)
        except zbus.RemoteCallError as exc:
            raise error_from_message(exc.message) from None
        except zbus.ZbusError as exc:
            raise FlistdError(f"storaged {what}: {exc}") from None

    def lookup(self, name: str) -> str | None:
        try:
            volume = self._call("VolumeLookup", "volume_lookup", name)
        except NotFoundError:
            return None
        return str(getattr(volume, "Path"))  # noqa: B009 - typed Any from the sync stub

    def create(self, name: str, size: Unit) -> str:
        volume = self._call("VolumeCreate", "volume_create", name, size)
        return str(getattr(volume, "Path"))  # noqa: B009

    def update(self, name: str, size: Unit) -> None:
        self._call("VolumeUpdate", "volume_update", name, size)

    def delete(self, name: str) -> None:
        self._call("VolumeDelete", "volume_delete", name)
