"""The shared cache for what may be lost, answering even while it cannot be reached.

Rate-limit windows, view counters, rendered article bodies and the visitor's last search live
in the cache (Redis when ``REDIS_URL`` is set). None of it is worth an error page: while the
cache is down (Redis restarting, a network blip) a read is a miss, a write is dropped and a
count is not taken, so the request goes on with the database alone. Work that must not be
lost never lives only in the cache.
"""

import logging
import time
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)

# During an outage every request fails the same way: one line every few seconds per process
# says so without flooding the log.
WARN_EVERY_SECONDS = 10.0
_last_warning = -WARN_EVERY_SECONDS


def _unavailable(operation: str, key: str, error: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARN_EVERY_SECONDS:
        _last_warning = now
        prefix = key.rsplit(":", 1)[0]
        logger.warning("cache unavailable, %s %s… skipped: %r", operation, prefix, error)


# Each call catches Exception: the backends raise their own connection errors (redis-py's,
# the database's for the database cache, socket errors), and any of them means "no cache now".


def read(key: str, default: Any = None) -> Any:
    """The cached value, or ``default`` when it is missing or the cache is down."""
    try:
        return cache.get(key, default)
    except Exception as error:
        _unavailable("read", key, error)
        return default


def read_many(keys: list[str]) -> dict[str, Any]:
    """The values of ``keys`` that are in the cache, in one round trip (one statement on the
    database cache); ``{}`` when the cache is down."""
    try:
        return cache.get_many(keys)
    except Exception as error:
        _unavailable("read", keys[0] if keys else "", error)
        return {}


def write(key: str, value: Any, *, timeout: int) -> None:
    """Store ``value``; dropped when the cache is down."""
    try:
        cache.set(key, value, timeout=timeout)
    except Exception as error:
        _unavailable("write", key, error)


def count(key: str, *, timeout: int) -> int | None:
    """Add one to the counter at ``key`` (created for ``timeout`` seconds); returns the new
    value, or None when the cache is down and nothing was counted.

    Increment first, add only when the counter is missing: every count but a window's first
    finds its key, and on the database cache ``add()`` of an existing key is an INSERT that
    fails and rolls back (a wasted write transaction on every article view). The increment
    keeps the key's expiry on every backend (foundation/cache_backends.py for the database)."""
    try:
        try:
            return cache.incr(key)
        except ValueError:  # missing or expired: this is the window's first count
            pass
        if cache.add(key, 1, timeout=timeout):
            return 1
        try:
            return cache.incr(key)  # another process added it in between
        except ValueError:  # and it expired at once
            cache.add(key, 1, timeout=timeout)
            return 1
    except Exception as error:
        _unavailable("count", key, error)
        return None
