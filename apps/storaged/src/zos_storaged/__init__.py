"""storaged: the storage daemon (serves zos_storage on zbus) and its development-node module."""

__version__ = "0.1.0"
