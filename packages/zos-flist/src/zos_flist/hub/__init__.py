"""A local development hub: upstream 0-hub's read API, a block store over HTTP, publishing."""

from .layout import HubLayout
from .publish import publish
from .server import HubServer

__all__ = ["HubLayout", "HubServer", "publish"]
