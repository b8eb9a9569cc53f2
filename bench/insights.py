"""The insights page and its rollup on a year of history (README: Benchmarks)."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import _support as bench
from _support import say

TARGET_MS = 500.0


def run(options, workdir: Path, cleanups: bench.Cleanups) -> bool:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from helpcenter.demo_history import Scale, generate_history
    from insights import services

    bench.load_demo_content()
    per_day = options.searches / options.days
    scale = Scale(
        days=options.days, events_per_case=options.events_per_case,
        cases_per_day=round(options.cases / options.days / 0.87),  # weekends are quieter
        searches_per_day=round(per_day / 0.87), visits_per_day=round(per_day * 6),
    )  # fmt: skip
    say(f"Writing {options.days} days of history ...")
    started = last_report = time.perf_counter()

    def progress(day: str, cases: int) -> None:
        nonlocal last_report
        if time.perf_counter() - last_report > 15:
            last_report = time.perf_counter()
            say(f"  {day}: {cases:,} cases so far")

    written = generate_history(scale, progress=progress)
    say(
        f"  {written['cases']:,} cases, {written['events']:,} case events, "
        f"{written['searches']:,} searches, {written['feedback']:,} votes, "
        f"{written['deflections']:,} avoided contacts in {time.perf_counter() - started:.0f} s"
    )

    started = time.perf_counter()
    services.roll_up_recent_days(days=options.days + 1)
    backfill = time.perf_counter() - started
    periodic = []
    for _ in range(3):
        started = time.perf_counter()
        services.roll_up_recent_days()
        periodic.append(time.perf_counter() - started)

    staff = get_user_model().objects.create_user("bench-reader", is_staff=True)
    staff.groups.add(Group.objects.get(name="Insights readers"))
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(staff)
    results = {}
    for days in (7, 30, 90):
        client.get("/en/desk/insights/", {"period": days})  # warm up
        times = []
        for _ in range(options.renders):
            started = time.perf_counter()
            response = client.get("/en/desk/insights/", {"period": days})
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"the insights page answered {response.status_code}")
        with CaptureQueriesContext(connection) as queries:
            client.get("/en/desk/insights/", {"period": days})
        results[days] = (statistics.median(times), max(times), len(queries))
    started = time.perf_counter()
    csv = client.get("/en/desk/insights/demand.csv", {"period": 90})
    csv_ms = (time.perf_counter() - started) * 1000

    say()
    say(f"Rollup, whole history ({options.days + 1} days): {backfill:.1f} s "
        f"({backfill / (options.days + 1) * 1000:.0f} ms a day)")  # fmt: skip
    say(f"Rollup, periodic job (last 3 days):       {statistics.median(periodic) * 1000:.0f} ms")
    for days, (median, slowest, queries) in results.items():
        say(f"Insights page, last {days:>2} days: median {median:6.1f} ms, "
            f"slowest {slowest:6.1f} ms, {queries} queries")  # fmt: skip
    say(f"CSV export (90 days, demand): {csv_ms:.1f} ms, {len(csv.content):,} bytes")
    met = results[90][0] < TARGET_MS
    say(f"{'PASS' if met else 'MISS'}: 90-day page {results[90][0]:.0f} ms "
        f"(target < {TARGET_MS:.0f} ms)")  # fmt: skip
    return met


def measure(options, workdir: Path, cleanups: bench.Cleanups) -> bool:
    notes = bench.use_site(workdir, "insights", cleanups)
    say(f"Database: {notes[0].removeprefix('database: ')}")
    say(f"Machine:  {bench.uptime()}")
    bench.start_django(cleanups)
    return run(options, workdir, cleanups)


if __name__ == "__main__":
    options = bench.options(
        __doc__,
        ("--cases", 200_000, "cases (200000)"),
        ("--events-per-case", 10, "on average (10)"),
        ("--searches", 1_000_000, "search log rows (1000000)"),
        ("--days", 365, "days of history (365)"),
        ("--renders", 10, "renders of each period (10)"),
    )  # fmt: skip
    sys.exit(bench.launch("bench-insights-", measure, options))
