"""When the service is open: weekly hours plus exceptions (holidays, reduced hours).

Pure time arithmetic on a loaded ``ServiceCalendar``; ``notifications.selectors.load_calendar``
reads it from the database. All datetimes returned are aware, in the service's time zone;
any aware datetime is accepted. Days are the service's local days, so a change to or from
daylight saving time moves nothing: 09:00 stays 09:00.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import get_language

SEARCH_HORIZON_DAYS = 366


@dataclass(frozen=True)
class DayException:
    date: date
    label_es: str
    label_en: str
    closed: bool
    opens_at: time | None = None
    closes_at: time | None = None

    @property
    def label(self) -> str:
        """The label in the active language (Spanish when no English one was given)."""
        english = (get_language() or "es")[:2] == "en"
        return self.label_en if english and self.label_en else self.label_es


@dataclass(frozen=True)
class Closure:
    """A day the service is closed (or has reduced hours) and when it opens again."""

    exception: DayException
    reopens_at: datetime | None


@dataclass(frozen=True)
class ServiceCalendar:
    time_zone: ZoneInfo
    weekly: dict[int, list[tuple[time, time]]] = field(default_factory=dict)  # Monday = 0
    exceptions: dict[date, DayException] = field(default_factory=dict)

    # --- Days ---------------------------------------------------------------------------

    def hours_on(self, day: date) -> list[tuple[time, time]]:
        exception = self.exceptions.get(day)
        if exception is not None:
            if exception.closed or exception.opens_at is None or exception.closes_at is None:
                return []
            return [(exception.opens_at, exception.closes_at)]
        return sorted(self.weekly.get(day.weekday(), []))

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        return [
            (
                datetime.combine(day, opens, tzinfo=self.time_zone),
                datetime.combine(day, closes, tzinfo=self.time_zone),
            )
            for opens, closes in self.hours_on(day)
        ]

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.time_zone)

    def _intervals_from(self, moment: datetime):
        """Open intervals (clipped to start at ``moment``) from ``moment`` on, in order."""
        start_day = self.local(moment).date()
        for offset in range(SEARCH_HORIZON_DAYS):
            for opens, closes in self.intervals_on(start_day + timedelta(days=offset)):
                if closes <= moment:
                    continue
                yield max(opens, moment), closes

    # --- Questions ------------------------------------------------------------------------

    def is_open(self, moment: datetime) -> bool:
        local = self.local(moment)
        return any(opens <= local < closes for opens, closes in self.intervals_on(local.date()))

    def next_opening(self, moment: datetime) -> datetime | None:
        """``moment`` itself when open, else the start of the next open interval."""
        for opens, _closes in self._intervals_from(moment):
            return self.local(opens)
        return None

    def closing_time(self, moment: datetime) -> datetime | None:
        """When the current open interval ends (None when closed now)."""
        local = self.local(moment)
        for opens, closes in self.intervals_on(local.date()):
            if opens <= local < closes:
                return closes
        return None

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        """The moment when ``hours`` of open time have passed since ``start``."""
        remaining = timedelta(hours=hours)
        for opens, closes in self._intervals_from(start):
            available = closes - opens
            if remaining <= available:
                return self.local(opens + remaining)
            remaining -= available
        raise ValueError("the calendar has no opening hours in the coming year")

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The close of the ``days``-th open day after the day of ``start``.

        The day a request arrives does not count, however few hours are left of it: a
        request on Friday (morning or evening) with a target of 1 business day is due at the
        end of Monday (or Tuesday when Monday is a holiday). Realistic beats optimistic.
        """
        if days <= 0:
            return self.next_opening(start) or start
        counted = 0
        first_day = self.local(start).date() + timedelta(days=1)
        for offset in range(SEARCH_HORIZON_DAYS):
            intervals = self.intervals_on(first_day + timedelta(days=offset))
            if not intervals:
                continue
            counted += 1
            if counted == days:
                return self.local(intervals[-1][1])
        raise ValueError("the calendar has no opening hours in the coming year")

    def closures_between(self, start: datetime, days: int) -> list[Closure]:
        """Holidays and reduced-hours days in the next ``days`` days, with their reopening."""
        first_day = self.local(start).date()
        closures = []
        for offset in range(days + 1):
            day = first_day + timedelta(days=offset)
            exception = self.exceptions.get(day)
            if exception is None:
                continue
            after_day = datetime.combine(day + timedelta(days=1), time.min, tzinfo=self.time_zone)
            reopens = self.next_opening(after_day) if exception.closed else None
            closures.append(Closure(exception=exception, reopens_at=reopens))
        return closures
