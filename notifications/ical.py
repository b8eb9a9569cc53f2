"""The iCalendar feed of maintenance windows and holiday closures (icalendar does the format)."""

from collections.abc import Iterable

from django.conf import settings
from icalendar import Calendar, Event

from notifications.models import Announcement


def build_calendar(announcements: Iterable[Announcement], *, base_url: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.SITE_NAME}//notices//ES")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", settings.SITE_NAME)
    for announcement in announcements:
        event = Event()
        event.add("uid", f"notice-{announcement.pk}@{base_url.split('//', 1)[-1].strip('/')}")
        event.add("summary", announcement.title)
        event.add("dtstart", announcement.starts_at)
        event.add("dtend", announcement.ends_at)
        event.add("dtstamp", announcement.updated_at)
        event.add("url", base_url.rstrip("/") + announcement.get_absolute_url())
        event.add("description", announcement.body)
        event.add("categories", [announcement.get_kind_display()])
        calendar.add_component(event)
    return calendar.to_ical()
