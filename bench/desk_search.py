"""The desk's search on the status-page benchmark's data: 100,000 cases of 10 events.

    .venv/bin/python bench/desk_search.py [--cases 100000] [--rounds 20] [--keep]
    DATABASE_URL=postgres://user@host/db .venv/bin/python bench/desk_search.py

Builds the cases with bench/status_page.py's generator on a temporary database (SQLite, or a
throwaway PostgreSQL database beside the one ``DATABASE_URL`` names), writes their search words
(``cases.services.write_all_case_search_texts``, as the migration does on an upgrade), then
times ``cases.selectors.desk_search`` (what /desk/?q= runs) in this process for each kind of
query staff type: a reference, an email, a name, the first letters of a name, a subject word,
words of a customer's message, and words nobody wrote. Checks that the sampled case is found by
its reference, its address and its message's words. Prints p50 and p95 per kind and for all;
the target is under 200 ms.
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
    for note in bench.use_site(workdir, "desk-search", cleanups):  # SQLite, or DATABASE_URL's
        say(note)
    say(f"Load average before: {uptime()}")
    bench.start_django(cleanups)
    from django.db import connection

    from cases.models import Case, CaseEvent
    from cases.selectors import desk_search
    from cases.services import write_all_case_search_texts

    started = time.monotonic()
    maker, loaded, _ = status_page.make_cases(options.cases, sessions=False)
    say(f"{len(loaded):,} cases, {CaseEvent.objects.count():,} events in "
        f"{time.monotonic() - started:.0f} s")  # fmt: skip
    started = time.monotonic()
    write_all_case_search_texts()
    with connection.cursor() as cursor:  # as autovacuum (or PRAGMA optimize) would have
        cursor.execute("ANALYZE")
    say(f"Search words of every case written in {time.monotonic() - started:.0f} s")

    sample = [Case.objects.get(pk=pk) for pk, _ in maker.rng.sample(loaded, options.rounds)]
    message_words = [
        " ".join(
            (
                CaseEvent.objects.filter(case=case, kind="message")
                .values_list("body", flat=True)
                .first()
                or case.description
            ).split()[3:6]
        )
        for case in sample
    ]
    queries = {
        "reference": [case.reference for case in sample],
        "reference, typed loosely": [case.reference.replace("-", "").lower() for case in sample],
        "email": [case.customer_email.upper() for case in sample],
        "name": [case.customer_name for case in sample],
        "first letters of a name": [case.customer_name.split()[-1][:3] for case in sample],
        "subject words": [case.subject.split()[0] for case in sample],
        "message words": message_words,
        "name and message words": [
            f"{case.customer_name.split()[-1]} {words}"
            for case, words in zip(sample, message_words, strict=True)
        ],
        "words nobody wrote": [f"zqx{n}wv" for n in range(options.rounds)],
    }
    desk_search("warm up")
    every: list[float] = []
    answers: dict[str, list[list[Case]]] = {}
    rows: list = [("query", "p50 ms", "p95 ms", "max ms", "results")]
    for kind, texts in queries.items():
        times, answers[kind] = [], []
        for text in texts:
            start = time.perf_counter()
            answers[kind].append(desk_search(text))
            times.append((time.perf_counter() - start) * 1000)
        every += times
        counts = [len(found) for found in answers[kind]]
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

    def finds_its_case(kind: str) -> bool:  # or a full page of newer cases with those words
        return all(
            case in found or len(found) == 50
            for case, found in zip(sample, answers[kind], strict=True)
        )

    kinds = ("reference", "reference, typed loosely", "email", "name and message words")
    correct = all(finds_its_case(kind) for kind in kinds)
    correct = correct and not any(answers["words nobody wrote"])
    say(f"Each sampled case found by its reference, address and words: {correct}")
    ok = p95 < TARGET_MS
    say(f"p95 under {TARGET_MS:.0f} ms: {'met' if ok else 'NOT met'}")
    return ok and correct


if __name__ == "__main__":
    options = bench.options(
        __doc__, None, ("--cases", 100_000, "cases (100000)"), ("--rounds", 20, "queries a kind")
    )
    sys.exit(bench.launch("bench-desk-search-", run, options))
