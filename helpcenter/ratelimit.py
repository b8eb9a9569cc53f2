"""Fixed-window rate limits in the shared cache, for anything that sends mail."""

import hashlib

from django.core.cache import cache


def allow(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt for ``key`` in ``scope``; False once ``limit`` is passed in the window.

    Keys are hashed so an email address or IP never appears in the cache in clear.
    """
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]
    cache_key = f"ratelimit:{scope}:{digest}"
    if cache.add(cache_key, 1, timeout=window_seconds):
        return True
    try:
        count = cache.incr(cache_key)
    except ValueError:  # the window expired between add and incr
        cache.add(cache_key, 1, timeout=window_seconds)
        return True
    return count <= limit


def client_ip(request) -> str:
    """The client address as the web server saw it (set TRUSTED_PROXY handling in the proxy)."""
    return request.META.get("REMOTE_ADDR", "")
