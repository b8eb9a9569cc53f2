"""The fast path's fallbacks: where the code over Whoosh's private internals took the slow way.

The BM25 scorer (:mod:`.postings`) and the rebuild writer (:mod:`.building`)
read and replace private parts of the pinned ``whoosh-reloaded==2.7.5``.  With
another version they fall back to Whoosh's public API: the same results,
hundreds of milliseconds slower.  Each fallback is recorded here
(:func:`fell_back`: the first reason of each kind, logged once as a warning);
in strict mode, as the self-test (:mod:`.selftest`) runs them, it raises
instead.  This module imports none of them, so they can all import it.
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)

_fallbacks: dict[str, str] = {}
_fallbacks_lock = threading.Lock()


class FastPathUnavailable(Exception):
    """Raised instead of falling back, in strict mode (the probe)."""


def fell_back(place: str, reason: str, *, strict: bool = False) -> None:
    """Record that ``place`` ("postings", "lengths", "deletions", "rebuild") took the slow path."""
    if strict:
        raise FastPathUnavailable(f"{place}: {reason}")
    with _fallbacks_lock:
        if place in _fallbacks:
            return
        _fallbacks[place] = reason
    logger.warning("Search fast path off (%s): %s; results stay the same, slower", place, reason)


def fallbacks() -> dict[str, str]:
    """Reason per place that fell back in this process."""
    with _fallbacks_lock:
        return dict(_fallbacks)
