"""A visitor's anonymous identity: counts a person once without storing who they are."""

import hashlib
import hmac
from datetime import date

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from foundation.ratelimit import client_ip


def visitor_hash(
    request: HttpRequest, *, create_session: bool = False, today: date | None = None
) -> str:
    """A keyed hash of the visitor's session (never stored raw, never the IP address).

    Without a session (a first-time reader), a hash of the address and browser for today only
    is used, which is good enough to coalesce their search keystrokes.
    """
    if create_session and not request.session.session_key:
        request.session.save()
    seed = request.session.session_key
    if not seed:
        seed = "|".join(
            [
                client_ip(request),
                request.META.get("HTTP_USER_AGENT", "")[:200],
                (today or timezone.localdate()).isoformat(),
            ]
        )
    return hmac.new(settings.SECRET_KEY.encode(), seed.encode(), hashlib.sha256).hexdigest()


def seen_articles_key(visitor_hash: str) -> str:
    """The cache key of the articles a visitor read today (see services.record_article_read)."""
    return f"kb:seen:{visitor_hash}"
