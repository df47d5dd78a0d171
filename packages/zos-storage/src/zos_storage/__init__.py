"""zos-storage: storaged's pools, volumes, vdisks, cache and zdb devices on btrfs.

Clients import :mod:`zos_storage.api` only; :class:`zos_storage.storage.Storage` is the
implementation the storaged daemon serves.
"""

__version__ = "0.1.0"
