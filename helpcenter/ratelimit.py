"""Fixed-window rate limits in the shared cache, for anything that sends mail."""

import hashlib
import logging

from helpcenter import shared_cache

logger = logging.getLogger(__name__)


def allow(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt for ``key`` in ``scope``; False once ``limit`` is passed in the window.

    Keys are hashed so an email address or IP never appears in the cache in clear. When the
    cache cannot count (Redis restarting), the attempt is let through and logged: a customer
    writing to us in those seconds must not get an error page or be turned away.
    """
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]
    count = shared_cache.count(f"ratelimit:{scope}:{digest}", timeout=window_seconds)
    if count is None:
        logger.warning("rate limit %s not checked: the cache is unavailable", scope)
        return True
    return count <= limit


def client_ip(request) -> str:
    """The client address as the web server saw it (set TRUSTED_PROXY handling in the proxy)."""
    return request.META.get("REMOTE_ADDR", "")
