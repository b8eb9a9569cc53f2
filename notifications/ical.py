"""The iCalendar feed of maintenance windows, holiday notices and the calendar's closures and
special hours (icalendar does the format)."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from foundation.markdown import markdown_to_text
from foundation.times import format_moment
from notifications.calendar import Closure
from notifications.models import Announcement


def build_calendar(
    announcements: Iterable[Announcement],
    *,
    closures: Iterable[Closure] = (),
    base_url: str,
    now: datetime,
) -> bytes:
    """The feed in the active language. Closures and special hours are all-day events; every
    description is plain text (calendar apps show Markdown as it is written)."""
    host = base_url.split("//", 1)[-1].strip("/")
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.SITE_NAME}//notices//ES")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", settings.SITE_NAME)
    for announcement in announcements:
        event = Event()
        event.add("uid", f"notice-{announcement.pk}@{host}")
        event.add("summary", announcement.title)
        event.add("dtstart", announcement.starts_at)
        event.add("dtend", announcement.ends_at)
        event.add("dtstamp", announcement.updated_at)
        event.add("url", base_url.rstrip("/") + announcement.get_absolute_url())
        event.add("description", markdown_to_text(announcement.body))
        event.add("categories", [announcement.get_kind_display()])
        calendar.add_component(event)
    for closure in closures:
        calendar.add_component(_closure_event(closure, host=host, now=now))
    return calendar.to_ical()


def _closure_event(closure: Closure, *, host: str, now: datetime) -> Event:
    day = closure.exception
    event = Event()
    # One event per date: editing the day's hours updates the same event in subscribed apps.
    event.add("uid", f"hours-{day.date.isoformat()}@{host}")
    event.add("dtstart", day.date)  # a date, not a datetime: an all-day event
    event.add("dtend", day.date + timedelta(days=1))
    event.add("dtstamp", now)
    event.add("transp", "TRANSPARENT")  # it does not make the subscriber busy
    if day.closed:
        event.add("summary", _("%(label)s: we are closed") % {"label": day.label})
        description = _("Our support team is closed all day.")
        if closure.reopens_at:
            description += " " + _("We reply again on %(day)s from %(time)s.") % {
                "day": format_moment(closure.reopens_at, "day"),
                "time": format_moment(closure.reopens_at, "time", label=True),
            }
    else:
        hours = {
            "opens": format_moment(day.opens_at, "time"),
            "closes": format_moment(day.closes_at, "time"),
        }
        event.add(
            "summary",
            _("%(label)s: special hours %(opens)s–%(closes)s")  # noqa: RUF001 (a range of hours)
            % {"label": day.label, **hours},
        )
        description = _("Our support team works from %(opens)s to %(closes)s.") % hours
    event.add("description", description)
    event.add("categories", [_("Holiday hours")])
    return event
