"""Issue 14, items 3, 4 and 13: a resolved incident leaves by itself, the coming weeks' special
hours are visible (page, calendar feed, search), and the banners fold into one line."""

import re
import xml.etree.ElementTree as ElementTree
from datetime import date, datetime, time, timedelta

import icalendar
import pytest
from django.utils import timezone

from kb.demo import DEMO_DIR, parse_article_file
from kb.search import get_search_backend
from notifications import selectors
from notifications.models import Announcement, CalendarException
from notifications.services import announcements as services
from tests.factories import AnnouncementFactory, CategoryFactory, weekday_hours

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"
Phase = Announcement.Phase


def publish(now=None, **fields) -> Announcement:
    return services.publish_announcement(
        announcement=AnnouncementFactory.build(**fields), actor=None, now=now
    )


def resolve(announcement: Announcement, *, now: datetime) -> None:
    services.post_update(
        announcement=announcement,
        phase=Phase.RESOLVED,
        body_es="Ya funciona todo con normalidad.",
        body_en="Everything works normally again.",
        notify_subscribers=False,
        actor=None,
        now=now,
    )


# --- Item 3: a resolved incident leaves -------------------------------------------------------


def test_a_resolved_incident_leaves_by_itself_after_the_set_time(settings):
    settings.NOTICE_RESOLVED_VISIBLE_HOURS = 24
    now = timezone.now()
    incident = publish(now=now - timedelta(hours=2), severity=Announcement.Severity.CRITICAL)

    resolve(incident, now=now)
    incident.refresh_from_db()
    assert incident.resolved_at == now
    assert incident.expire_at == now + timedelta(hours=24)

    services.process_due_announcements(now=now + timedelta(hours=23, minutes=59))
    incident.refresh_from_db()
    assert incident.publication == Announcement.Publication.PUBLISHED

    services.process_due_announcements(now=now + timedelta(hours=24))
    incident.refresh_from_db()
    assert incident.publication == Announcement.Publication.EXPIRED
    assert incident not in selectors.current_announcements(now=now + timedelta(hours=24))


def test_an_earlier_expiry_set_by_staff_is_kept_when_resolving():
    now = timezone.now()
    incident = publish(now=now, expire_at=now + timedelta(hours=3))

    resolve(incident, now=now + timedelta(hours=1))

    incident.refresh_from_db()
    assert incident.expire_at == now + timedelta(hours=3)


def test_an_incident_that_comes_back_stays_until_resolved_again():
    now = timezone.now()
    incident = publish(now=now)
    resolve(incident, now=now)

    services.post_update(
        announcement=incident,
        phase=Phase.INVESTIGATING,
        body_es="Vuelve a fallar.",
        body_en="It fails again.",
        notify_subscribers=False,
        actor=None,
        now=now + timedelta(hours=1),
    )

    incident.refresh_from_db()
    assert (incident.resolved_at, incident.expire_at) == (None, None)


def test_completed_maintenance_and_an_incident_resolved_in_the_admin_leave_too(settings):
    settings.NOTICE_RESOLVED_VISIBLE_HOURS = 6
    now = timezone.now()
    start = now + timedelta(hours=1)
    maintenance = publish(
        now=now,
        kind=Announcement.Kind.MAINTENANCE,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
    )
    incident = publish(now=now)
    Announcement.objects.filter(pk=incident.pk).update(phase=Phase.RESOLVED)  # as the admin does

    counts = services.process_due_announcements(now=start + timedelta(hours=3))
    maintenance.refresh_from_db()
    incident.refresh_from_db()

    assert maintenance.phase == Phase.COMPLETED
    assert maintenance.resolved_at == start + timedelta(hours=2)  # when it ended, not the run
    assert maintenance.expire_at == start + timedelta(hours=8)
    assert incident.resolved_at == start + timedelta(hours=3)
    assert counts["resolved"] == 2

    again = services.process_due_announcements(now=start + timedelta(hours=3))
    assert again["resolved"] == 0  # idempotent

    services.process_due_announcements(now=start + timedelta(hours=9, minutes=1))
    maintenance.refresh_from_db()
    incident.refresh_from_db()
    assert maintenance.publication == incident.publication == Announcement.Publication.EXPIRED


def test_a_resolved_critical_banner_is_calm_dated_and_can_be_dismissed(client):
    incident = publish(severity=Announcement.Severity.CRITICAL, title_es="Pagos caídos")
    page = client.get("/es/search/").text
    assert "banner--critical" in page and f"/notices/{incident.slug}/dismiss/" not in page

    resolve(incident, now=timezone.now())
    page = client.get("/es/search/").text

    assert "banner--resolved" in page and "banner--critical" not in page
    local = timezone.localtime(Announcement.objects.get().resolved_at)
    assert f"resuelto el {local.day} " in page.lower() and f"{local:%H:%M}" in page
    client.post(f"/es/notices/{incident.slug}/dismiss/", {"next": "/es/search/"})
    assert f'id="banner-{incident.slug}"' not in client.get("/es/search/").text


def test_the_notice_page_shows_the_latest_update_first(client):
    now = timezone.now()
    incident = publish(now=now - timedelta(hours=3), body_es="Estamos investigando el fallo.")
    services.post_update(
        announcement=incident,
        phase=Phase.IDENTIFIED,
        body_es="Hemos encontrado la causa.",
        body_en="We found the cause.",
        notify_subscribers=False,
        actor=None,
        now=now - timedelta(hours=1),
    )
    resolve(incident, now=now)

    page = client.get(incident.get_absolute_url()).text

    resolved = page.index("Ya funciona todo con normalidad.")
    assert page.index('id="resolution"') < resolved
    assert resolved < page.index("Hemos encontrado la causa.")
    assert page.index("Hemos encontrado la causa.") < page.index("Estamos investigando el fallo.")


def test_atom_entries_carry_every_update_and_when_it_was_updated(client):
    now = timezone.now().replace(microsecond=0)
    incident = publish(now=now - timedelta(hours=2), body_es="Estamos investigando el fallo.")
    resolve(incident, now=now)
    Announcement.objects.filter(pk=incident.pk).update(updated_at=now - timedelta(hours=1))

    feed = ElementTree.fromstring(client.get("/es/notices/feed.atom").content)

    (entry,) = feed.findall(f"{ATOM}entry")
    content = entry.find(f"{ATOM}summary").text
    assert content.index("Ya funciona todo con normalidad.") < content.index("Estamos investigando")
    assert datetime.fromisoformat(entry.find(f"{ATOM}updated").text) == now


# --- Item 4: the coming weeks' special hours --------------------------------------------------


def christmas(today: date) -> list[CalendarException]:
    """The demo's Christmas days, each on its next date from ``today`` on (all within a year,
    whatever day the suite runs on)."""

    def next_on(month: int, day: int) -> date:
        this_year = date(today.year, month, day)
        return this_year if this_year >= today else date(today.year + 1, month, day)

    days = [
        (next_on(12, 24), "Nochebuena", "Christmas Eve", False),
        (next_on(12, 25), "Navidad", "Christmas Day", True),
        (next_on(12, 31), "Nochevieja", "New Year's Eve", False),
        (next_on(1, 1), "Año Nuevo", "New Year's Day", True),
        (next_on(1, 6), "Reyes", "Epiphany", True),
    ]
    return [
        CalendarException.objects.create(
            date=day,
            label_es=label_es,
            label_en=label_en,
            closed=closed,
            opens_at=None if closed else time(9),
            closes_at=None if closed else time(14),
            announce_days_before=0,
        )
        for day, label_es, label_en, closed in days
    ]


def test_christmas_is_among_the_special_hours_on_5_december():
    weekday_hours(range(6))
    fifth = timezone.make_aware(datetime(timezone.localdate().year, 12, 5, 10))
    days = christmas(fifth.date())

    status = selectors.service_status(now=fifth)

    assert [closure.exception.date for closure in status.closures] == [day.date for day in days]
    assert selectors.UPCOMING_CLOSURE_DAYS >= 60


def test_the_hours_box_lists_the_special_days_of_the_coming_weeks(client):
    weekday_hours(range(6))
    today = timezone.localdate()
    CalendarException.objects.create(
        date=today + timedelta(days=50),
        label_es="Fiesta lejana",
        label_en="Faraway holiday",
        closed=True,
        announce_days_before=0,
    )

    for path in ("/es/notices/", "/es/contact/"):
        page = client.get(path).text
        assert "Fiesta lejana" in page, path
        assert "Horarios especiales y cierres de las próximas semanas" in page


def test_the_calendar_feed_has_closures_and_special_hours_as_all_day_events(client):
    weekday_hours(range(6))
    days = christmas(timezone.localdate())

    calendar = icalendar.Calendar.from_ical(client.get("/es/notices/calendar.ics").content)

    events = {event.decoded("DTSTART"): event for event in calendar.walk("VEVENT")}
    for day in days:
        event = events[day.date]
        assert type(event.decoded("DTSTART")) is date  # all day
        assert event.decoded("DTEND") == day.date + timedelta(days=1)
        assert day.label_es in str(event["SUMMARY"])
        description = str(event["DESCRIPTION"])
        assert "<" not in description and "*" not in description  # plain text
    assert "cerrado" in str(events[days[1].date]["SUMMARY"]).lower()
    assert "09:00\u201314:00" in str(events[days[0].date]["SUMMARY"])  # an en dash
    english = icalendar.Calendar.from_ical(client.get("/en/notices/calendar.ics").content)
    assert "Christmas Day: we are closed" in {
        str(event["SUMMARY"]) for event in english.walk("VEVENT")
    }


def test_a_holiday_notice_is_not_a_second_event_beside_its_calendar_day(client):
    weekday_hours(range(6))
    today = timezone.localdate()
    CalendarException.objects.create(
        date=today + timedelta(days=3), label_es="Fiesta", label_en="Holiday", closed=True
    )
    services.announce_upcoming_holidays(now=timezone.now())
    assert Announcement.objects.filter(kind=Announcement.Kind.HOLIDAY).exists()

    calendar = icalendar.Calendar.from_ical(client.get("/es/notices/calendar.ics").content)

    assert [event.decoded("DTSTART") for event in calendar.walk("VEVENT")] == [
        today + timedelta(days=3)
    ]


@pytest.mark.parametrize(
    ("query", "language", "slug"),
    [
        ("horario navidad", "es", "horario-de-navidad-y-festivos"),
        ("abren el 24", "es", "horario-de-navidad-y-festivos"),
        ("christmas opening hours", "en", "christmas-and-holiday-opening-hours"),
    ],
)
def test_search_finds_the_christmas_hours_first(publish, query, language, slug):
    """The demo articles, in the real Whoosh index."""
    category = CategoryFactory(slug="contact")
    for path in sorted((DEMO_DIR / "articles").glob("*.md")):
        fields = {
            key: value for key, value in parse_article_file(path).items() if key != "category"
        }
        publish(**fields, category=category)

    results = get_search_backend().search(query, language=language)

    assert results.hits[0].url.rstrip("/").endswith(slug)


# --- Item 13: one compact line for several banners --------------------------------------------


def test_several_banners_fold_into_one_labelled_line_with_the_most_severe_and_its_date(client):
    now = timezone.now()
    publish(now=now, title_es="Horario de Navidad", severity=Announcement.Severity.INFO)
    critical = publish(now=now, title_es="Pagos caídos", severity=Announcement.Severity.CRITICAL)
    publish(now=now, title_es="Envíos con retraso", severity=Announcement.Severity.WARNING)

    page = client.get("/es/search/").text

    assert len(re.findall(r'<section class="banners" id="banners" aria-label="Avisos"', page)) == 1
    summary = re.search(r'<details class="banners__group.*?<summary>(.*?)</summary>', page, re.S)[1]
    assert "3 avisos" in summary and "Pagos caídos" in summary
    assert f"{timezone.localtime(critical.published_at):%H:%M}" in summary
    assert 'aria-label="Aviso"' not in page  # one region, not one per banner


def test_one_banner_is_one_region_labelled_notice(client):
    publish(title_en="Card payments down")

    page = client.get("/en/search/").text

    assert page.count('aria-label="Notice"') == 1 and '<details class="banners__group' not in page


def test_dismissing_with_htmx_answers_the_banner_region_again(client):
    first = publish(title_es="Uno", severity=Announcement.Severity.INFO)
    publish(title_es="Dos", severity=Announcement.Severity.INFO)

    response = client.post(
        f"/es/notices/{first.slug}/dismiss/", {"next": "/es/"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    html = response.text
    assert 'id="banners"' in html and "Dos" in html and "Uno" not in html
    assert 'aria-label="Aviso"' in html  # one left: a single banner
