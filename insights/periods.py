"""Periods of whole days in the service's time zone, and the period before each."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

PRESET_DAYS = (7, 30, 90)
MAX_DAYS = 366


def service_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a day in the service's time zone (23 or 25 hours when clocks change)."""
    zone = service_zone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def service_today(now: datetime | None = None) -> date:
    return timezone.localdate(now, timezone=service_zone())


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date

    @classmethod
    def last(cls, days: int, *, today: date | None = None) -> "Period":
        """The last ``days`` days, today included."""
        today = today or service_today()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def previous(self) -> "Period":
        """The period of the same length just before this one."""
        return Period(self.first_day - timedelta(days=self.days), self.first_day - timedelta(1))

    @property
    def start(self) -> datetime:
        return day_bounds(self.first_day)[0]

    @property
    def end(self) -> datetime:
        return day_bounds(self.last_day)[1]
