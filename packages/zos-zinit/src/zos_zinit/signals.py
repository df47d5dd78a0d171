"""Signal names as zinit accepts them: case-insensitive, ``SIGTERM`` (``TERM`` also accepted)."""

from __future__ import annotations

import signal


def parse_signal(name: str) -> signal.Signals:
    """The signal called ``name``; ValueError naming the bad input otherwise."""
    upper = name.strip().upper()
    if not upper.startswith("SIG"):
        upper = "SIG" + upper
    # SIG_DFL / SIG_IGN are handler constants, not signals; SIGRTMIN+n is not a name zinit knows.
    if upper.startswith("SIG_"):
        raise ValueError(f'invalid signal "{name}"')
    try:
        return signal.Signals[upper]
    except KeyError:
        raise ValueError(f'invalid signal "{name}"') from None
