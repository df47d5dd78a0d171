"""provisiond: the deployment engine, its store and queue, managers and the node API."""

__version__ = "0.1.0"
