"""The whole test run on a moved clock, so that a date bomb fails CI before it explodes.

``TEST_CLOCK=2027-01-01T00:00:00+01:00 pytest`` runs every test as if it started at that moment
(the clock keeps ticking from there). ``make test-clock`` runs the suite at the dates that break
date code: see ``moved_clocks()``. Loaded as a pytest plugin (``-p tests.clock``), before Django.

Helper processes (the Celery worker) share the run's clock: the plugin leaves the offset from
the real clock in ``TEST_CLOCK_OFFSET``, which they inherit, and they start through
``python -m tests.clock <module> <args>``, which moves their clock the same way.
"""

from __future__ import annotations

import calendar
import os
import runpy
import sys
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine

OFFSET_VARIABLE = "TEST_CLOCK_OFFSET"
SERVICE_ZONE = ZoneInfo("Europe/Madrid")  # where the clock changes that matter happen


def start_moved_clock() -> None:
    wanted = os.environ.get("TEST_CLOCK")
    if wanted and OFFSET_VARIABLE not in os.environ:
        moment = datetime.fromisoformat(wanted)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=SERVICE_ZONE)
        os.environ[OFFSET_VARIABLE] = repr(moment.timestamp() - time.time())
    offset = os.environ.get(OFFSET_VARIABLE)
    if offset:
        time_machine.travel(time.time() + float(offset), tick=True).start()
        # time-machine starts the ticking at the first reading, not at travel(): read it now,
        # or a process that reads the time a second later lags a second behind the others.
        time.time()


def pytest_configure(config) -> None:
    start_moved_clock()


def pytest_report_header(config) -> str | None:
    if OFFSET_VARIABLE in os.environ:
        return f"moved clock: the run started at {datetime.now(SERVICE_ZONE).isoformat()}"
    return None


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def _next(today: date, candidates) -> date:
    return min(day for day in candidates if day > today)


def moved_clocks(today: date) -> list[datetime]:
    """The next of each moment where date code tends to break, seen from ``today``."""
    years = (today.year, today.year + 1)
    new_year = _next(today, [date(year + 1, 1, 1) for year in years])
    spring = _next(today, [_last_sunday(year, 3) for year in years])
    autumn = _next(today, [_last_sunday(year, 10) for year in years])
    leap_years = [year for year in range(today.year, today.year + 9) if calendar.isleap(year)]
    leap_day = _next(today, [date(year, 2, 29) for year in leap_years])
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    zone = SERVICE_ZONE
    return [
        datetime.combine(new_year, datetime.min.time(), zone),
        # A minute before 02:00 on the night the clocks go forward, and the hour that is lived
        # twice when they go back.
        datetime(spring.year, spring.month, spring.day, 1, 59, tzinfo=zone),
        datetime(autumn.year, autumn.month, autumn.day, 2, 59, tzinfo=zone, fold=0),
        datetime.combine(leap_day, datetime.min.time().replace(hour=12), zone),
        datetime(saturday.year, saturday.month, saturday.day, 23, 59, tzinfo=zone),
    ]


def main(argv: list[str]) -> None:
    if argv[:1] == ["--moved-clocks"]:
        for moment in moved_clocks(datetime.now(SERVICE_ZONE).date()):
            print(moment.isoformat())
        return
    start_moved_clock()
    module, sys.argv = argv[0], argv
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
