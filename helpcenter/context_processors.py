from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

# The site's main navigation; a link shows up once the app that serves it has its URL.
NAVIGATION = [
    ("kb:home", _("Help center")),
    ("notifications:notice_list", _("Notices")),
    ("cases:find", _("Check my case")),
    ("cases:contact", _("Contact us")),
]

# Every page shows the navigation twice (header and footer). Its links and labels depend only
# on the language, the script prefix and the URLconf, which a process never changes while it
# serves requests: built once per combination instead of on each request.
_navigation_memo: dict[tuple, tuple[dict, ...]] = {}


def _navigation() -> tuple[dict, ...]:
    key = (get_language(), get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    links = _navigation_memo.get(key)
    if links is None:
        links = []
        for url_name, label in NAVIGATION:
            try:
                links.append({"url": reverse(url_name), "label": str(label)})
            except NoReverseMatch:
                continue
        links = _navigation_memo[key] = tuple(links)
    return links


def site(request: HttpRequest) -> dict:
    return {
        "site_name": settings.SITE_NAME,
        "site_nav": _navigation(),
        "service_time_zone": settings.TIME_ZONE,
    }
