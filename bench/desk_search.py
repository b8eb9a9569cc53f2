"""The desk's search on the status-page benchmark's data: 100,000 cases of 10 events.

    .venv/bin/python bench/desk_search.py [--cases 100000] [--rounds 20] [--keep]

Builds the cases with bench/status_page.py's generator on a temporary SQLite database, then
times ``cases.selectors.desk_search`` (what /desk/?q= runs) in this process for each kind of
query staff type: a reference, an email, a name, a subject word, words of a customer's
message, and words nobody wrote (the worst case: one pass over the cases and the recent
events). Prints p50 and p95 per kind and for all; the target is under 200 ms.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import status_page
from _support import percentile, run_benchmark, say, uptime

TARGET_MS = 200.0


def run(options: argparse.Namespace, workdir: Path, cleanups: list[Callable[[], None]]) -> bool:
    for note in status_page.prepare_environment(workdir):
        say(note)
    say(f"Load average before: {uptime()}")
    status_page.setup_django()
    from cases.models import Case, CaseEvent
    from cases.selectors import desk_search

    rng = random.Random(status_page.SEED)
    reasons = status_page.load_reference_data()
    maker = status_page.DataMaker(rng, reasons, datetime.now(UTC))
    started = time.monotonic()
    loaded = status_page.load_cases(maker, options.cases)
    say(f"{len(loaded):,} cases, {CaseEvent.objects.count():,} events in "
        f"{time.monotonic() - started:.0f} s")  # fmt: skip

    sample = [Case.objects.get(pk=pk) for pk, _ in rng.sample(loaded, options.rounds)]
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
    say(f"\n{'query':<26}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'results':>9}")
    for kind, texts in queries.items():
        times, counts = [], []
        for text in texts:
            start = time.perf_counter()
            counts.append(len(desk_search(text)))
            times.append((time.perf_counter() - start) * 1000)
        every += times
        say(f"{kind:<26}{percentile(times, 50):>9.1f}{percentile(times, 95):>9.1f}"
            f"{max(times):>9.1f}{sum(counts) / len(counts):>9.1f}")  # fmt: skip
    p95 = percentile(every, 95)
    say(f"{'all':<26}{percentile(every, 50):>9.1f}{p95:>9.1f}{max(every):>9.1f}")
    say(f"\nLoad average after: {uptime()}")
    ok = p95 < TARGET_MS
    say(f"p95 under {TARGET_MS:.0f} ms: {'met' if ok else 'NOT met'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--keep", action="store_true")
    options = parser.parse_args(argv)
    return run_benchmark(
        "bench-desk-search-", lambda workdir, cleanups: run(options, workdir, cleanups),
        keep=options.keep,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
