from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from foundation import process_memo

# The site's main navigation; a link shows up once the app that serves it has its URL.
NAVIGATION = [
    ("kb:home", _("Help center")),
    ("notifications:notice_list", _("Notices")),
    ("cases:find", _("Check my case")),
    ("cases:contact", _("Contact us")),
]


def _navigation() -> tuple[dict, ...]:
    """Every page shows the navigation twice (header and footer). Its links and labels depend
    only on the language, the script prefix and the URLconf: built once per combination and
    kept in the process (``foundation.process_memo``) instead of on each request."""
    language, prefix = get_language(), get_script_prefix()
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    return process_memo.remember(
        ("helpcenter.navigation", language, prefix, urlconf), _build_navigation
    )


def _build_navigation() -> tuple[dict, ...]:
    links = []
    for url_name, label in NAVIGATION:
        try:
            links.append({"url": reverse(url_name), "label": str(label)})
        except NoReverseMatch:
            continue
    return tuple(links)


def site(request: HttpRequest) -> dict:
    return {
        "site_name": settings.SITE_NAME,
        "site_nav": _navigation(),
    }
