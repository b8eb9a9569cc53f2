import re
import xml.etree.ElementTree as ElementTree
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from foundation.times import zone_name
from notifications.forms import AnnouncementForm
from notifications.models import Announcement, CalendarException, Dispatch
from notifications.services import announcements as services
from tests.conftest import assert_page_queries
from tests.factories import AnnouncementFactory, weekday_hours

pytestmark = pytest.mark.django_db
MADRID = ZoneInfo("Europe/Madrid")
ATOM = "{http://www.w3.org/2005/Atom}"
NOTICES_PAGE_QUERIES = 3  # current, their updates, past (banners, hours: process_memo)


def publish(**fields) -> Announcement:
    return services.publish_announcement(
        announcement=AnnouncementFactory.build(**fields), actor=None
    )


def test_scheduled_notice_is_published_by_the_beat_job_at_its_time_across_dst():
    # Clocks go forward at 02:00 on Sunday 28 March 2027: 09:00 that day is 07:00 UTC.
    publish_at = datetime(2027, 3, 28, 9, 0, tzinfo=MADRID)
    announcement = services.publish_announcement(
        announcement=AnnouncementFactory.build(),
        actor=None,
        at=publish_at,
        now=publish_at - timedelta(days=1),
    )
    assert announcement.publication == Announcement.Publication.SCHEDULED

    services.process_due_announcements(now=datetime(2027, 3, 28, 6, 59, tzinfo=ZoneInfo("UTC")))
    announcement.refresh_from_db()
    assert announcement.publication == Announcement.Publication.SCHEDULED

    services.process_due_announcements(now=datetime(2027, 3, 28, 7, 0, tzinfo=ZoneInfo("UTC")))
    announcement.refresh_from_db()
    assert announcement.publication == Announcement.Publication.PUBLISHED


def test_expiry_by_the_beat_job_across_the_autumn_dst_change():
    # 31 October 2027, clocks go back at 03:00: 02:30 happens twice. Expire at 04:00 local.
    expire_at = datetime(2027, 10, 31, 4, 0, tzinfo=MADRID)  # 03:00 UTC
    announcement = publish(expire_at=expire_at)

    services.process_due_announcements(now=datetime(2027, 10, 31, 2, 59, tzinfo=ZoneInfo("UTC")))
    announcement.refresh_from_db()
    assert announcement.publication == Announcement.Publication.PUBLISHED

    services.process_due_announcements(now=datetime(2027, 10, 31, 3, 0, tzinfo=ZoneInfo("UTC")))
    announcement.refresh_from_db()
    assert announcement.publication == Announcement.Publication.EXPIRED


@pytest.mark.parametrize(
    "path",
    [
        "/es/contact/",
        "/es/search/?q=pago",
        "/en/notices/",
        "/es/notices/subscribe/",
        "/es/no-such-page/",
    ],
)
def test_banner_shows_on_every_public_page_while_active(client, path):
    announcement = publish(title_es="Pagos con tarjeta caídos", title_en="Card payments down")

    response = client.get(path)

    title = announcement.title_en if path.startswith("/en/") else announcement.title_es
    assert f'id="banner-{announcement.slug}"' in response.text
    assert title in response.text


def test_home_lists_the_current_notices_instead_of_a_banner(client):
    announcement = publish(title_es="Pagos con tarjeta caídos")

    html = client.get("/es/").text

    assert 'id="notices-title"' in html and "Pagos con tarjeta caídos" in html
    assert f'id="banner-{announcement.slug}"' not in html


def test_banner_disappears_after_expiry(client):
    announcement = publish(expire_at=timezone.now() + timedelta(hours=1))
    assert f'id="banner-{announcement.slug}"' in client.get("/es/notices/").text
    services.process_due_announcements(now=timezone.now() + timedelta(hours=2))

    assert f'id="banner-{announcement.slug}"' not in client.get("/es/notices/").text


def test_banner_can_be_dismissed_and_is_remembered_without_javascript(client):
    announcement = publish(severity=Announcement.Severity.WARNING)

    response = client.post(f"/es/notices/{announcement.slug}/dismiss/", {"next": "/es/search/"})

    assert response.status_code == 302 and response["Location"] == "/es/search/"
    assert f'id="banner-{announcement.slug}"' not in client.get("/es/search/").text


def test_dismiss_never_redirects_to_another_site(client):
    announcement = publish()

    response = client.post(
        f"/es/notices/{announcement.slug}/dismiss/", {"next": "https://evil.example/"}
    )

    assert response["Location"] == "/"


def test_critical_banners_cannot_be_dismissed(client):
    announcement = publish(severity=Announcement.Severity.CRITICAL)
    client.post(f"/es/notices/{announcement.slug}/dismiss/")

    assert f'id="banner-{announcement.slug}"' in client.get("/es/search/").text


def test_most_severe_banner_comes_first(client):
    publish(title_es="Aviso informativo", severity=Announcement.Severity.INFO)
    publish(title_es="Aviso crítico", severity=Announcement.Severity.CRITICAL)

    html = client.get("/es/search/").text

    assert html.index("Aviso crítico") < html.index("Aviso informativo")


def test_publishing_twice_creates_one_mailing():
    announcement = publish()

    services.publish_announcement(announcement=announcement, actor=None)

    assert Dispatch.objects.filter(announcement=announcement).count() == 1


def test_incident_updates_move_the_phase_and_appear_in_the_timeline(client):
    announcement = publish()
    services.post_update(
        announcement=announcement,
        phase=Announcement.Phase.IDENTIFIED,
        body_es="Hemos encontrado la causa.",
        body_en="We found the cause.",
        notify_subscribers=True,
        actor=None,
    )

    announcement.refresh_from_db()
    assert announcement.phase == Announcement.Phase.IDENTIFIED
    assert "Hemos encontrado la causa." in client.get(announcement.get_absolute_url()).text
    assert Dispatch.objects.filter(announcement=announcement).count() == 2


def test_maintenance_moves_through_its_phases_by_time():
    start = timezone.now() + timedelta(hours=1)
    announcement = publish(
        kind=Announcement.Kind.MAINTENANCE, starts_at=start, ends_at=start + timedelta(hours=2)
    )
    assert announcement.phase == Announcement.Phase.SCHEDULED

    services.process_due_announcements(now=start + timedelta(minutes=1))
    announcement.refresh_from_db()
    assert announcement.phase == Announcement.Phase.IN_PROGRESS

    services.process_due_announcements(now=start + timedelta(hours=3))
    announcement.refresh_from_db()
    assert announcement.phase == Announcement.Phase.COMPLETED


def test_holiday_creates_its_notice_the_configured_days_before():
    weekday_hours()
    today = timezone.localdate()
    holiday = CalendarException.objects.create(
        date=today + timedelta(days=10),
        label_es="Fiesta local",
        label_en="Local holiday",
        announce_days_before=7,
    )

    assert services.announce_upcoming_holidays(now=timezone.now()) == 0
    assert services.announce_upcoming_holidays(now=timezone.now() + timedelta(days=3)) == 1
    assert services.announce_upcoming_holidays(now=timezone.now() + timedelta(days=4)) == 0

    holiday.refresh_from_db()
    notice = holiday.announcement
    assert notice.publication == Announcement.Publication.PUBLISHED
    assert "Fiesta local" in notice.title_es and "Local holiday" in notice.title_en
    assert "09:00" in notice.body_es


def test_a_holiday_notice_writes_its_days_as_each_language_does():
    weekday_hours()
    holiday = CalendarException.objects.create(  # a Tuesday; Wednesday opens at 09:00
        date=date(2026, 12, 8), label_es="Inmaculada Concepción", label_en="Immaculate Conception"
    )

    assert services.announce_upcoming_holidays(now=datetime(2026, 12, 1, 10, tzinfo=MADRID)) == 1

    notice = CalendarException.objects.get(pk=holiday.pk).announcement
    assert "**martes 8 de diciembre**" in notice.body_es
    assert "**miércoles 9 de diciembre a las 09:00**" in notice.body_es
    assert "**Tuesday 8 December**" in notice.body_en
    assert "**Wednesday 9 December at 09:00**" in notice.body_en


def test_event_times_are_shown_in_the_site_time_zone_with_its_name(client):
    start = datetime(2027, 1, 15, 2, 0, tzinfo=MADRID)
    announcement = publish(
        kind=Announcement.Kind.MAINTENANCE, starts_at=start, ends_at=start + timedelta(hours=2)
    )

    html = client.get(announcement.get_absolute_url()).text

    # No zone from the browser: the service's, said in words ("hora de Madrid").
    with translation.override("es"):
        zone = zone_name(MADRID)
    assert "02:00" in html and "04:00" in html and f"({zone})" in html
    assert "Europe/Madrid" not in html


def test_atom_feed_parses_and_lists_published_notices(client):
    publish(title_es="Incidencia en pagos")
    AnnouncementFactory(title_es="Borrador secreto")  # a draft never appears

    response = client.get("/es/notices/feed.atom")
    feed = ElementTree.fromstring(response.content)

    titles = [entry.find(f"{ATOM}title").text for entry in feed.findall(f"{ATOM}entry")]
    assert titles == ["Incidencia en pagos"]


def test_icalendar_feed_parses_with_maintenance_windows(client):
    start = datetime(2027, 1, 15, 2, 0, tzinfo=MADRID)
    publish(
        kind=Announcement.Kind.MAINTENANCE,
        title_es="Mantenimiento",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
    )

    calendar = icalendar.Calendar.from_ical(client.get("/es/notices/calendar.ics").content)

    events = list(calendar.walk("VEVENT"))
    assert [str(event["SUMMARY"]) for event in events] == ["Mantenimiento"]
    assert events[0].decoded("DTSTART") == start


def test_embed_json_lists_current_notices_for_other_sites(client):
    publish(title_en="Card payments down")

    response = client.get("/en/notices/embed.json")

    assert response["Access-Control-Allow-Origin"] == "*"
    assert [notice["title"] for notice in response.json()["notices"]] == ["Card payments down"]


def test_notices_page_lists_current_and_past(client):
    current = publish(title_es="Ahora")
    past = publish(title_es="Antes")
    services.withdraw_announcement(announcement=past, actor=None)

    response = client.get("/es/notices/")

    assert response.context["current"] == [current]
    assert response.context["past"] == [past]


def test_home_shows_when_we_reply_again_when_closed(client):
    weekday_hours()
    CalendarException.objects.create(
        date=date(2099, 1, 1), label_es="Año Nuevo", label_en="New Year's Day"
    )

    status = client.get("/es/").context["service_status"]

    assert status.next_opening is not None


def test_event_times_follow_the_visitors_time_zone_when_known(client):
    start = datetime(2027, 1, 15, 2, 0, tzinfo=MADRID)  # 20:00 the day before in Mexico City
    announcement = publish(
        kind=Announcement.Kind.MAINTENANCE, starts_at=start, ends_at=start + timedelta(hours=2)
    )
    client.cookies["tz"] = "America/Mexico_City"

    html = client.get(announcement.get_absolute_url()).text

    # The visitor's own zone needs no label.
    assert "19:00" in html and "America/Mexico_City" not in html and "Mexico" not in html


def test_a_percent_encoded_time_zone_cookie_is_understood(client):
    start = datetime(2027, 1, 15, 2, 0, tzinfo=MADRID)  # 01:00 in the Canary Islands
    announcement = publish(
        kind=Announcement.Kind.MAINTENANCE, starts_at=start, ends_at=start + timedelta(hours=2)
    )
    client.cookies["tz"] = "Atlantic%2FCanary"  # what timezone.js used to write

    html = client.get(announcement.get_absolute_url()).text

    assert "01:00" in html and "03:00" in html


def test_an_unknown_time_zone_cookie_falls_back_to_the_service_zone(client):
    start = datetime(2027, 1, 15, 2, 0, tzinfo=MADRID)
    announcement = publish(
        kind=Announcement.Kind.MAINTENANCE, starts_at=start, ends_at=start + timedelta(hours=2)
    )
    client.cookies["tz"] = "Mars/Olympus_Mons"

    html = client.get(announcement.get_absolute_url()).text

    with translation.override("es"):
        zone = zone_name(MADRID)
    assert "02:00" in html and f"({zone})" in html


def test_notices_page_query_count_does_not_grow_with_the_notices(client):
    publish(title_es="Primero")
    client.get("/es/notices/")  # the process keeps the notices, the calendar, the navigation
    with assert_page_queries(NOTICES_PAGE_QUERIES):
        client.get("/es/notices/")
    for number in range(8):
        notice = publish(title_es=f"Aviso {number}")
        if number % 2:
            services.withdraw_announcement(announcement=notice, actor=None)
    client.get("/es/notices/")  # the changes made every process read the notices again
    with assert_page_queries(NOTICES_PAGE_QUERIES):
        response = client.get("/es/notices/")
    assert len(response.context["current"]) == 5 and len(response.context["past"]) == 4


def _form_data(announcement: Announcement) -> dict[str, str]:
    def moment(value):
        return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M") if value else ""

    fields = ["kind", "severity", "title_es", "title_en", "body_es", "body_en"]
    return {
        **{field: getattr(announcement, field) for field in fields},
        **{field: moment(getattr(announcement, field)) for field in ["starts_at", "ends_at",
                                                                      "expire_at"]},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("offsets", "field"),
    [
        ({"starts_at": 2, "ends_at": 1}, "ends_at"),  # ends before it starts
        ({"starts_at": 2, "expire_at": 1}, "expire_at"),  # expires before the event
        ({"publish_at": 2, "expire_at": 1}, "expire_at"),  # expires before it is published
        ({"title_es": "Corte\nVisita http://phish.example"}, "title_es"),
    ],
)
def test_the_desk_form_and_the_service_refuse_the_same_announcements(offsets, field):
    now = timezone.now().replace(second=0, microsecond=0)
    values = {
        name: now + timedelta(days=value) if isinstance(value, int) else value
        for name, value in offsets.items()
    }
    announcement = AnnouncementFactory.build(**values)

    with pytest.raises(ValidationError) as refused:
        services.save_announcement(announcement=announcement, actor=None)
    form = AnnouncementForm(
        data=_form_data(announcement),
        instance=Announcement(publish_at=values.get("publish_at")),
    )

    assert field in refused.value.message_dict
    assert not form.is_valid() and field in form.errors


def test_an_update_moves_only_to_a_phase_of_its_kind():
    incident = publish(kind=Announcement.Kind.INCIDENT)

    with pytest.raises(ValidationError) as refused:
        services.post_update(
            announcement=incident,
            phase=Announcement.Phase.COMPLETED,
            body_es="Hecho.",
            body_en="Done.",
            notify_subscribers=False,
            actor=None,
        )

    assert refused.value.code == "invalid_phase"


def test_resolving_takes_the_last_phase_of_the_kind_and_refuses_a_notice_without_phases():
    maintenance = publish(kind=Announcement.Kind.MAINTENANCE)
    general = publish(kind=Announcement.Kind.GENERAL)

    update = services.resolve_announcement(
        announcement=maintenance,
        body_es="Hecho.",
        body_en="Done.",
        notify_subscribers=False,
        actor=None,
    )

    assert update.phase == Announcement.Phase.COMPLETED
    assert Announcement.objects.get(pk=maintenance.pk).resolved_at is not None
    with pytest.raises(ValidationError) as refused:
        services.resolve_announcement(
            announcement=general, body_es="x", body_en="x", notify_subscribers=False, actor=None
        )
    assert refused.value.code == "no_phases"


def test_create_announcement_keeps_a_draft_or_publishes():
    fields = {
        "kind": Announcement.Kind.INCIDENT,
        "severity": 2,
        "title_es": "Fallan los pagos",
        "title_en": "Payments fail",
        "body_es": "Estamos en ello.",
        "body_en": "We are on it.",
        "areas": [],
        "actor": None,
    }

    draft = services.create_announcement(**fields, publish=False)
    published = services.create_announcement(**fields, publish=True)

    assert draft.publication == Announcement.Publication.DRAFT
    assert published.publication == Announcement.Publication.PUBLISHED
    assert Dispatch.objects.filter(announcement=published).count() == 1


def test_the_notices_page_says_since_when_and_where_an_incident_stands(client):
    """Its card on /notices/ as on the home page: since when, and the latest update (the
    walk-through found the notices page showing only "Incident · Investigating")."""
    incident = publish(title_es="Los pagos con tarjeta fallan", severity=3)
    services.post_update(
        announcement=incident,
        phase="identified",
        body_es="Hemos **encontrado** la causa.",
        body_en="We found the cause.",
        notify_subscribers=False,
        actor=None,
    )

    for path in ("/es/notices/", "/es/"):
        card = re.search(
            r'<article class="card".*?Los pagos con tarjeta fallan.*?</article>',
            client.get(path).text,
            re.S,
        ).group(0)
        assert "desde el " in card, path
        assert "Hemos encontrado la causa." in card and "Causa identificada" in card, path


def test_an_update_suggests_the_phase_after_the_current_one():
    incident = publish(kind=Announcement.Kind.INCIDENT)
    maintenance = publish(kind=Announcement.Kind.MAINTENANCE)
    holiday = publish(kind=Announcement.Kind.HOLIDAY)

    incident.phase = Announcement.Phase.INVESTIGATING
    assert services.next_phase(incident) == Announcement.Phase.IDENTIFIED
    incident.phase = Announcement.Phase.RESOLVED
    assert services.next_phase(incident) == Announcement.Phase.RESOLVED
    maintenance.phase = ""
    assert services.next_phase(maintenance) == Announcement.Phase.SCHEDULED
    assert services.next_phase(holiday) == ""
