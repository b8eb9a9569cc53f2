"""The desk's search on the status-page benchmark's data: 100,000 cases of 10 events.

    .venv/bin/python bench/desk_search.py [--cases 100000] [--rounds 20] [--keep]

Builds the cases with bench/status_page.py's generator on a temporary SQLite database, then
times ``cases.selectors.desk_search`` (what /desk/?q= runs) in this process for each kind of
query staff type: a reference, an email, a name, a subject word, words of a customer's
message, and words nobody wrote (the worst case: one pass over the cases and the recent
events). Prints p50 and p95 per kind and for all; the target is under 200 ms.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import _support as bench
import status_page  # bench/status_page.py: the same data
from _support import percentile, say, uptime

TARGET_MS = 200.0


def run(options, workdir: Path, cleanups: bench.Cleanups) -> bool:
    for note in bench.use_site(workdir, "status-page", cleanups, sqlite=True):
        say(note)
    say(f"Load average before: {uptime()}")
    bench.start_django(cleanups)
    from cases.models import Case, CaseEvent
    from cases.selectors import desk_search

    started = time.monotonic()
    maker, loaded, _ = status_page.make_cases(options.cases, sessions=False)
    say(f"{len(loaded):,} cases, {CaseEvent.objects.count():,} events in "
        f"{time.monotonic() - started:.0f} s")  # fmt: skip

    sample = [Case.objects.get(pk=pk) for pk, _ in maker.rng.sample(loaded, options.rounds)]
    message_words = [
        " ".join(
            CaseEvent.objects.filter(case=case, kind="message")
            .values_list("body", flat=True)
            .first()
            or case.description
        ).split()[3:6]
        for case in sample
    ]
    queries = {
        "reference": [case.reference for case in sample],
        "reference, typed loosely": [case.reference.replace("-", "").lower() for case in sample],
        "email": [case.customer_email.upper() for case in sample],
        "name": [case.customer_name for case in sample],
        "subject words": [case.subject.split()[0] for case in sample],
        "message words": message_words,
        "words nobody wrote": [f"zqx{n}wv" for n in range(options.rounds)],
    }
    desk_search("warm up")
    every: list[float] = []
    rows: list = [("query", "p50 ms", "p95 ms", "max ms", "results")]
    for kind, texts in queries.items():
        times, counts = [], []
        for text in texts:
            start = time.perf_counter()
            counts.append(len(desk_search(text)))
            times.append((time.perf_counter() - start) * 1000)
        every += times
        figures = (
            percentile(times, 50),
            percentile(times, 95),
            max(times),
            sum(counts) / len(counts),
        )
        rows.append((kind, *(f"{value:.1f}" for value in figures)))
    p95 = percentile(every, 95)
    rows.append(("all", *(f"{value:.1f}" for value in (percentile(every, 50), p95, max(every)))))
    say()
    bench.table(rows, indent="")
    say(f"\nLoad average after: {uptime()}")
    ok = p95 < TARGET_MS
    say(f"p95 under {TARGET_MS:.0f} ms: {'met' if ok else 'NOT met'}")
    return ok


if __name__ == "__main__":
    options = bench.options(
        __doc__, None, ("--cases", 100_000, "cases (100000)"), ("--rounds", 20, "queries a kind")
    )
    sys.exit(bench.launch("bench-desk-search-", run, options))
