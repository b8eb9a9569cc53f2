from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from notifications import selectors
from notifications.views import DISMISSED_SESSION_KEY


def banners(request: HttpRequest) -> dict:
    """The site-wide notice banners; evaluated only by templates that show them."""

    def load() -> list:
        dismissed = (
            set(request.session.get(DISMISSED_SESSION_KEY, []))
            if hasattr(request, "session")
            else set()
        )
        return selectors.site_banners(dismissed=dismissed, request=request)

    return {"site_banners": SimpleLazyObject(load)}
