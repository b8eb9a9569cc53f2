"""Daily counters of what visitors do (visits, contact form opened, suggestions shown).

A count is one atomic increment in the shared cache, so a page view writes nothing to the
database; a periodic job moves the counts into ``DailyCounter`` rows. Counting is best effort:
when the cache is down a count is dropped and the page is served as usual.
"""

from datetime import date, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from foundation import shared_cache
from foundation.models import DailyCounter

COUNTER_TTL = 60 * 60 * 24 * 3


class Counter:
    VISITS = "visits"
    CONTACT_FORM_OPENED = "contact_form_opened"
    SUGGESTIONS_SHOWN = "suggestions_shown"

    ALL = (VISITS, CONTACT_FORM_OPENED, SUGGESTIONS_SHOWN)


def _key(name: str, day: date) -> str:
    return f"counter:{day.isoformat()}:{name}"


def increment(
    name: str, *, once_per: str = "", window_seconds: int = 1800, today: date | None = None
) -> None:
    """Count one ``name`` for today. With ``once_per`` (an anonymous visitor key), a visitor
    counts once per window, so that as-you-type requests do not inflate the figure."""
    if once_per:
        seen = shared_cache.count(f"counter-seen:{name}:{once_per}", timeout=window_seconds)
        if seen != 1:
            return
    shared_cache.count(_key(name, today or timezone.localdate()), timeout=COUNTER_TTL)


def flush_counters(*, today: date | None = None) -> int:
    """Move today's and yesterday's counts from the cache into ``DailyCounter``."""
    today = today or timezone.localdate()
    moved = 0
    for day in (today - timedelta(days=1), today):
        keys = {_key(name, day): name for name in Counter.ALL}
        for key, count in cache.get_many(list(keys)).items():
            if not count:
                continue
            # Take exactly what we read: increments that land meanwhile stay for the next flush.
            cache.decr(key, count)
            with transaction.atomic():
                row, _ = DailyCounter.objects.get_or_create(day=day, name=keys[key])
                DailyCounter.objects.filter(pk=row.pk).update(value=F("value") + count)
            moved += count
    return moved


def daily_counts(*, start: date, end: date) -> dict[tuple[date, str], int]:
    """Counts per (day, name) for the days ``start`` to ``end`` inclusive."""
    rows = DailyCounter.objects.filter(day__gte=start, day__lte=end).values_list(
        "day", "name", "value"
    )
    return {(day, name): value for day, name, value in rows}
