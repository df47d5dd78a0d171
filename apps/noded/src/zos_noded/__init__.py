"""noded: registration, uptime, system monitor and chain events of the node."""

__version__ = "0.1.0"
