from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

# The site's main navigation; a link shows up once the app that serves it has its URL.
NAVIGATION = [
    ("kb:home", _("Help center")),
    ("notifications:notice_list", _("Notices")),
    ("cases:find", _("Check my case")),
    ("cases:contact", _("Contact us")),
]


def _navigation() -> list[dict]:
    links = []
    for url_name, label in NAVIGATION:
        try:
            links.append({"url": reverse(url_name), "label": label})
        except NoReverseMatch:
            continue
    return links


def site(request: HttpRequest) -> dict:
    return {
        "site_name": settings.SITE_NAME,
        "site_nav": _navigation(),
        "service_time_zone": settings.TIME_ZONE,
    }
