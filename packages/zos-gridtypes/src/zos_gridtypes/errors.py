"""The package's two exception types.

Their ``str()`` is the Go node's error text, so a message can be compared with what a real node
answers (and shown to a user as is).
"""

from __future__ import annotations


class ValidationError(ValueError):
    """A deployment or workload the Go node would reject: bad JSON, bad data or a broken rule."""


class SignatureError(ValueError):
    """A signature requirement that is not met, or a key or signature that cannot be used."""
