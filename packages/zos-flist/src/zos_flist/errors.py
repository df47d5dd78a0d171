"""Errors of zos-flist; each names what is wrong (the file, the store, the block)."""

from __future__ import annotations


class FlistError(Exception):
    """Base of every zos-flist error."""


class FlistFormatError(FlistError):
    """A `.fl` file is not a valid rfs v2 flist (not SQLite, truncated, missing tables...)."""


class StoreError(FlistError):
    """A block store failed; ``store`` is its URL (password stripped)."""

    def __init__(self, store: str, message: str) -> None:
        super().__init__(f"store {store}: {message}")
        self.store = store


class BlockNotFoundError(StoreError):
    """The store answered but does not hold the block."""


class StoreUnavailableError(StoreError):
    """The store could not be reached or answered with an error."""


class UnsupportedStoreError(FlistError):
    """A store URL has a scheme this package does not know, or cannot do what was asked."""
