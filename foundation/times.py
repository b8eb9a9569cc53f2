"""One way to write a moment for a customer: pages, emails and feeds all go through here.

``format_moment(value, "day_time")`` writes ``value`` in the active language's style (the
``*_STYLE`` names of helpcenter/formats/<lang>/formats.py: "lunes 7 de diciembre, 16:00" /
"Monday 7 December, 16:00") in a zone: the one given, else the active one (the visitor's, set
by VisitorTimeZoneMiddleware from the ``tz`` cookie, else the service's). A time carries its
zone in words ("16:00 (hora de Madrid)") whenever that zone is not known to be the reader's: an
email, a visitor whose browser did not say, or an explicit ``label=True`` for promises that
are compared across pages and emails.
"""

import contextlib
import contextvars
import datetime as dt
import zoneinfo
from collections.abc import Iterator

from django.conf import settings
from django.utils import formats, timezone
from django.utils.dateformat import format as date_format
from django.utils.dateformat import time_format
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext as _

STYLES = (
    "day",
    "day_time",
    "day_month",
    "day_month_time",
    "date",
    "date_time",
    "time",
    "short",
    "short_date",
    "short_date_time",
    "iso_date",
)
_WITH_TIME = {"day_time", "day_month_time", "date_time", "time", "short", "short_date_time"}
# Staff tables are read in the service's zone and stay short: labelled only when asked.
_QUIET = {"short", "short_date_time"}

# The reader's zone while a request is served (None: not known, e.g. an email or no cookie).
visitor_zone: contextvars.ContextVar[zoneinfo.ZoneInfo | None] = contextvars.ContextVar(
    "visitor_zone", default=None
)

# Zones said the way people say them; any other zone is "<city> time".
_ZONE_NAMES = {
    "Europe/Madrid": pgettext_lazy("time zone", "Madrid time"),
    "Atlantic/Canary": pgettext_lazy("time zone", "Canary Islands time"),
    "Europe/London": pgettext_lazy("time zone", "UK time"),
    "Europe/Lisbon": pgettext_lazy("time zone", "Lisbon time"),
    "UTC": pgettext_lazy("time zone", "UTC"),
    "Etc/UTC": pgettext_lazy("time zone", "UTC"),
}


def service_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def zone_name(zone: dt.tzinfo | None = None) -> str:
    """The zone in words in the active language: "hora de Madrid" / "Madrid time"."""
    zone = zone or timezone.get_current_timezone()
    key = getattr(zone, "key", str(zone))
    if key in _ZONE_NAMES:
        return str(_ZONE_NAMES[key])
    city = key.rsplit("/", 1)[-1].replace("_", " ")
    return _("%(city)s time") % {"city": city}


def service_zone_note() -> str:
    """The service's zone in words, for a box of our hours that says it once ("hora de
    Madrid"), or "" when the visitor's browser said it is their zone too."""
    reader, service = visitor_zone.get(), service_zone()
    if reader is not None and getattr(reader, "key", None) == service.key:
        return ""
    return zone_name(service)


def style_format(style: str, language: str | None = None) -> str:
    """The date format string of ``style`` in ``language`` (the active one by default)."""
    if style not in STYLES:
        raise ValueError(f"unknown date style {style!r}")
    name = f"{style.upper()}_STYLE"
    for module in formats.get_format_modules(language or get_language() or "es"):
        if hasattr(module, name):
            return getattr(module, name)
    raise ValueError(f"no {name} for {language!r}")


def format_moment(
    value: dt.datetime | dt.date | None,
    style: str = "day_time",
    *,
    zone: dt.tzinfo | None = None,
    label: bool | None = None,
) -> str:
    """``value`` written in ``style``; see the module docstring for the zone and its label."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.time):  # a time of day (opening hours): no date, no zone
        return time_format(value, style_format("time"))
    is_moment = isinstance(value, dt.datetime)
    if is_moment and timezone.is_aware(value):
        value = timezone.localtime(value, zone or timezone.get_current_timezone())
    text = date_format(value, style_format(style))
    if not is_moment or style not in _WITH_TIME:
        return text
    shown = zone or timezone.get_current_timezone()
    if label is None and style in _QUIET:
        label = False
    if label is None:
        reader = visitor_zone.get()
        label = reader is None or getattr(reader, "key", None) != getattr(shown, "key", None)
    return f"{text} ({zone_name(shown)})" if label else text


@contextlib.contextmanager
def in_service_time() -> Iterator[None]:
    """For an email: its times in the service's zone, each labelled (nobody's browser reads
    it). Also a decorator."""
    token = visitor_zone.set(None)
    try:
        with timezone.override(service_zone()):
            yield
    finally:
        visitor_zone.reset(token)


def format_number(value) -> str:
    """A count as the active language groups it: 55.182 / 55,182."""
    if value is None or value == "":
        return ""
    return formats.number_format(value, use_l10n=True, force_grouping=True)
