"""Writes of the insights: the daily rollups and the weekly digest to reason owners."""

from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from cases import reporting as case_figures
from foundation import counters
from insights.models import DailyReasonStats, DailySearchTerm, DailySiteStats
from insights.periods import Period, day_bounds, service_today, service_zone
from insights.selectors import digest_for_owner, reason_owners
from kb import reporting as kb_figures
from notifications.selectors import email_already_queued
from notifications.services.outbox import EmailKind, queue_email

ROLLUP_RECENT_DAYS = 3


@transaction.atomic
def roll_up_day(day: date, *, now: datetime | None = None) -> None:
    """Recompute one day's rollup rows from the events the other apps recorded (idempotent:
    the day's rows are replaced). ``now`` is when the rollup runs: cases still open then count
    as open."""
    start, end = day_bounds(day)
    now = now or timezone.now()

    DailyReasonStats.objects.filter(day=day).delete()
    DailyReasonStats.objects.bulk_create(
        DailyReasonStats(day=day, reason_id=reason_id, team_id=team_id, **figures)
        for (reason_id, team_id), figures in case_figures.figures_between(
            start, end, now=now
        ).items()
    )

    DailySearchTerm.objects.filter(day=day).delete()
    DailySearchTerm.objects.bulk_create(
        (DailySearchTerm(day=day, **row) for row in kb_figures.search_terms_between(start, end)),
        batch_size=1000,
    )

    counts = counters.daily_counts(start=day, end=day)
    DailySiteStats.objects.update_or_create(
        day=day,
        defaults={
            **kb_figures.figures_between(start, end, day=day),
            **{name: counts.get((day, name), 0) for name in counters.Counter.ALL},
            "rolled_up_at": now,
        },
    )


def roll_up_recent_days(
    *,
    days: int = ROLLUP_RECENT_DAYS,
    now: datetime | None = None,
    progress: Callable[[date], None] | None = None,
) -> int:
    """Roll up today and the days before it (the periodic job; a backfill with more days).
    Counters are flushed first so today's visits are in."""
    now = now or timezone.now()
    counters.flush_counters(today=service_today(now))
    today = service_today(now)
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        roll_up_day(day, now=now)
        if progress:
            progress(day)
    return days


# --- Weekly digest -------------------------------------------------------------------------


def last_complete_week(today: date | None = None) -> Period:
    """Monday to Sunday of the last week that has ended."""
    today = today or service_today()
    monday = today - timedelta(days=today.weekday())
    return Period(monday - timedelta(days=7), monday - timedelta(days=1))


def send_weekly_digests(*, week: Period | None = None) -> int:
    """Email every reason owner the digest of the last complete week, through the outbox.

    Idempotent per owner and week (the outbox's dedupe key), so the job can run every hour:
    whoever has not had this week's digest gets it, nobody gets it twice. Returns the number
    of digests queued by this call.
    """
    week = week or last_complete_week()
    queued = 0
    for owner in reason_owners():
        preference = getattr(owner, "digest_preference", None)
        if preference is not None and not preference.weekly_digest:
            continue
        key = f"insights:digest:{owner.pk}:{week.first_day.isoformat()}"
        if email_already_queued(key) or not owner.email:
            continue
        language = preference.language if preference else settings.LANGUAGE_CODE
        with translation.override(language):
            digest = digest_for_owner(owner, week)
            if digest is None:
                continue
            context = {
                "digest": digest,
                "site_name": settings.SITE_NAME,
                "site_url": settings.SITE_URL,
            }
            subject = render_to_string("insights/email/digest_subject.txt", context).strip()
            text = render_to_string("insights/email/digest.txt", context)
            html = render_to_string("insights/email/digest.html", context)
        with transaction.atomic():
            queue_email(
                dedupe_key=key,
                kind=EmailKind.DIGEST,
                recipient=owner.email,
                language=language,
                subject=subject,
                text=text,
                html=html,
            )
        queued += 1
    return queued


DIGEST_FROM_HOUR = 7  # Monday morning, in the service's time zone


def send_due_weekly_digests(*, now: datetime | None = None) -> int:
    """Send last week's digests once it is Monday morning or later (the hourly job)."""
    local = timezone.localtime(now or timezone.now(), service_zone())
    if local.weekday() == 0 and local.hour < DIGEST_FROM_HOUR:
        return 0
    return send_weekly_digests(week=last_complete_week(local.date()))
