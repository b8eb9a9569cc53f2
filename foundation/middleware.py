import functools
import zoneinfo
from collections.abc import Callable
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from foundation import counters, process_memo
from foundation.times import visitor_zone

DEFAULT_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # Inline style attributes (the admin, SVG charts) are harmless; inline scripts are not.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ProcessMemoMiddleware:
    """One read of the process memo's generation per request, however many kept values the
    page uses (notices, navigation, calendar, reasons): see foundation.process_memo."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with process_memo.one_read_per_request():
            return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Only our own scripts run: htmx is served from our static files, pages carry no inline JS."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_CONTENT_SECURITY_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


@functools.cache
def _known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class VisitorTimeZoneMiddleware:
    """Show dates in the visitor's time zone (the ``tz`` cookie set by js/timezone.js)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Browsers before this fix wrote the cookie percent-encoded ("Atlantic%2FCanary").
        name = unquote(request.COOKIES.get("tz", "")[:64])
        if name in _known_time_zones():
            zone = zoneinfo.ZoneInfo(name)
            timezone.activate(zone)
            token = visitor_zone.set(zone)
        else:
            timezone.deactivate()  # the service's zone, labelled wherever a time is shown
            token = visitor_zone.set(None)
        try:
            return self.get_response(request)
        finally:
            visitor_zone.reset(token)


BOT_MARKERS = ("bot", "crawl", "spider", "slurp", "preview", "monitor", "curl", "wget", "python")
VISIT_COOKIE = "hc_visit"
VISIT_IDLE_SECONDS = 30 * 60
NOT_PUBLIC = ("desk/", "admin/", "static/", "healthz", "i18n/")


class VisitCounterMiddleware:
    """Count help-center visits: a visit starts with a public page seen by a browser that has
    not seen one in the last 30 minutes (the usual web-analytics definition). The cookie holds
    no identifier; robots and staff pages are not counted."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self._is_public_page_view(request, response):
            if VISIT_COOKIE not in request.COOKIES:
                counters.increment(counters.Counter.VISITS)
            response.set_cookie(
                VISIT_COOKIE,
                "1",
                max_age=VISIT_IDLE_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    @staticmethod
    def _is_public_page_view(request: HttpRequest, response: HttpResponse) -> bool:
        if (
            request.method != "GET"
            or response.status_code != 200
            or "HX-Request" in request.headers
        ):
            return False
        if not response.get("Content-Type", "").startswith("text/html"):
            return False
        agent = request.headers.get("User-Agent", "").lower()
        if not agent or any(marker in agent for marker in BOT_MARKERS):
            return False
        path = request.path_info.lstrip("/")
        language, _, rest = path.partition("/")
        if language in {code for code, _name in settings.LANGUAGES}:
            path = rest
        return not path.startswith(NOT_PUBLIC)
