from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from notifications.calendar import DayException, ServiceCalendar

MADRID = ZoneInfo("Europe/Madrid")
WEEKDAYS_9_TO_18 = {weekday: [(time(9), time(18))] for weekday in range(5)}
CHRISTMAS = DayException(date(2026, 12, 25), "Navidad", "Christmas Day", closed=True)
CHRISTMAS_EVE = DayException(date(2026, 12, 24), "Nochebuena", "Christmas Eve", closed=False,
                             opens_at=time(9), closes_at=time(14))  # fmt: skip


@pytest.fixture
def calendar() -> ServiceCalendar:
    return ServiceCalendar(
        time_zone=MADRID,
        weekly={**WEEKDAYS_9_TO_18, 5: [(time(10), time(14))]},
        exceptions={CHRISTMAS.date: CHRISTMAS, CHRISTMAS_EVE.date: CHRISTMAS_EVE},
    )


def at(*args) -> datetime:
    return datetime(*args, tzinfo=MADRID)


def test_open_and_closed(calendar):
    assert calendar.is_open(at(2026, 11, 23, 9, 0))  # Monday
    assert not calendar.is_open(at(2026, 11, 23, 18, 0))
    assert not calendar.is_open(at(2026, 11, 22, 12, 0))  # Sunday
    assert not calendar.is_open(at(2026, 12, 25, 12, 0))  # Christmas
    assert not calendar.is_open(at(2026, 12, 24, 15, 0))  # reduced hours


def test_next_opening_skips_the_weekend(calendar):
    assert calendar.next_opening(at(2026, 11, 28, 15, 0)) == at(2026, 11, 30, 9, 0)


def test_business_hours_run_across_a_weekend(calendar):
    # Friday 16:00 + 4 business hours: 2 on Friday, Saturday 10-14 gives the other 2.
    assert calendar.add_business_hours(at(2026, 11, 27, 16, 0), 4) == at(2026, 11, 28, 12, 0)
    # Friday 16:00 + 8 business hours: 2 Friday + 4 Saturday + 2 Monday.
    assert calendar.add_business_hours(at(2026, 11, 27, 16, 0), 8) == at(2026, 11, 30, 11, 0)


def test_business_hours_skip_a_holiday_and_respect_reduced_hours(calendar):
    # Thursday 24 Dec 12:00: 2 hours that day (closes 14:00), 25th closed, 3 more on the 26th
    # (a Saturday 10-14).
    assert calendar.add_business_hours(at(2026, 12, 24, 12, 0), 5) == at(2026, 12, 26, 13, 0)


def test_business_days_end_at_the_close_of_the_last_open_day(calendar):
    # A request on Wednesday evening 23 Dec, 2 business days: 24 (short day) and 26 (Saturday).
    assert calendar.add_business_days(at(2026, 12, 23, 20, 0), 2) == at(2026, 12, 26, 14, 0)


def test_local_opening_time_survives_the_daylight_saving_change(calendar):
    # Clocks go back on Sunday 25 October 2026. Friday 17:00 CEST + 6 business hours:
    # 1 on Friday, 4 on Saturday, 1 on Monday = Monday 10:00 CET.
    result = calendar.add_business_hours(at(2026, 10, 23, 17, 0), 6)
    assert result == at(2026, 10, 26, 10, 0)
    assert result.utcoffset().total_seconds() == 3600


def test_any_aware_datetime_is_accepted(calendar):
    utc_moment = datetime(2026, 11, 23, 8, 30, tzinfo=ZoneInfo("UTC"))  # 09:30 in Madrid
    assert calendar.is_open(utc_moment)


def test_closures_list_the_holiday_and_when_we_reopen(calendar):
    closures = calendar.closures_between(at(2026, 12, 20, 12, 0), 10)

    assert [closure.exception.date for closure in closures] == [
        date(2026, 12, 24),
        date(2026, 12, 25),
    ]
    assert closures[1].reopens_at == at(2026, 12, 26, 10, 0)
