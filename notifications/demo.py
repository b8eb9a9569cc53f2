"""Demo opening hours, holidays and notices (matching what the demo articles promise)."""

from datetime import date, datetime, time, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from foundation import process_memo
from notifications.models import AlertRule, Announcement, CalendarException, OpeningHours
from notifications.services import announcements

WEEKLY_HOURS = [(weekday, time(9), time(18)) for weekday in range(5)] + [(5, time(10), time(14))]
HOLIDAYS = [
    # (month, day, label_es, label_en, closed, opens, closes)
    (12, 8, "Inmaculada Concepción", "Immaculate Conception", True, None, None),
    (12, 24, "Nochebuena", "Christmas Eve", False, time(9), time(14)),
    (12, 25, "Navidad", "Christmas Day", True, None, None),
    (12, 31, "Nochevieja", "New Year's Eve", False, time(9), time(14)),
    (1, 1, "Año Nuevo", "New Year's Day", True, None, None),
    (1, 6, "Reyes", "Epiphany", True, None, None),
]


def _next(month: int, day: int, today: date) -> date:
    candidate = date(today.year, month, day)
    return candidate if candidate >= today else date(today.year + 1, month, day)


def load(stdout: TextIO) -> None:
    if not OpeningHours.objects.exists():
        OpeningHours.objects.bulk_create(
            [
                OpeningHours(weekday=weekday, opens_at=opens, closes_at=closes)
                for weekday, opens, closes in WEEKLY_HOURS
            ]
        )
        process_memo.changed()  # bulk_create sends no signal: drop the calendar processes keep
    today = timezone.localdate()
    for month, day, label_es, label_en, closed, opens, closes in HOLIDAYS:
        CalendarException.objects.get_or_create(
            date=_next(month, day, today),
            defaults={
                "label_es": label_es,
                "label_en": label_en,
                "closed": closed,
                "opens_at": opens,
                "closes_at": closes,
                "announce_days_before": 14 if closed else 7,
            },
        )
    # The next holiday's notice now, whatever the date, so the demo shows one.
    first = CalendarException.objects.filter(date__gte=today, closed=True).order_by("date").first()
    if first is not None:
        first.announce_days_before = max(first.announce_days_before, (first.date - today).days)
        first.save(update_fields=["announce_days_before"])
    announcements.announce_upcoming_holidays(now=timezone.now())

    if not Announcement.objects.filter(slug="mantenimiento-pagos-demo").exists():
        tz = ZoneInfo(settings.TIME_ZONE)
        start = datetime.combine(today + timedelta(days=5), time(2), tzinfo=tz)
        announcements.publish_announcement(
            announcement=Announcement(
                slug="mantenimiento-pagos-demo",
                kind=Announcement.Kind.MAINTENANCE,
                severity=Announcement.Severity.INFO,
                title_es="Mantenimiento programado de los pagos",
                title_en="Planned maintenance of payments",
                body_es=(
                    "Entre las **02:00 y las 04:00** no se podrán hacer pagos con tarjeta. "
                    "El resto de la web funcionará con normalidad y los pedidos ya pagados no se ven afectados."
                ),
                body_en=(
                    "Between **02:00 and 04:00** card payments will not be possible. The rest of "
                    "the site works as usual and orders already paid are not affected."
                ),
                areas=["payments"],
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                expire_at=start + timedelta(hours=3),
            ),
            actor=None,
        )
    # The README's monitoring example (curl to /api/v1/alerts) opens a draft with this rule.
    AlertRule.objects.get_or_create(
        name="Pasarela de pago",
        defaults={
            "matchers": 'service="payments"',
            "severity": Announcement.Severity.CRITICAL,
            "areas": ["payments"],
            "title_es": "Los pagos fallan ({labels.instance})",
            "title_en": "Payments are failing ({labels.instance})",
            # Customers read it: no annotation (monitoring writes those in English, for staff).
            "body_es": "Algunos pagos con tarjeta fallan. Ya estamos en ello: no hace falta que "
            "nos escribas, te contamos aquí en cuanto funcione.",
            "body_en": "Some card payments fail. We are on it: no need to write to us, we will "
            "tell you here as soon as it works.",
        },
    )
    stdout.write(
        f"  notices: {OpeningHours.objects.count()} opening-hour rows, "
        f"{CalendarException.objects.count()} holidays, {Announcement.objects.count()} announcements"
    )
