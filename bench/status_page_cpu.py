"""CPU per case status page, in this process: a figure that other work on the machine leaves alone.

Run with ``.venv/bin/python bench/status_page_cpu.py`` (``--help`` for the options).

``bench/status_page.py`` measures requests/s under gunicorn, which depends on everything else
the machine is doing. This script builds the same data (same seed, same demo reference data,
database sessions granted the way the access link grants them) in a fresh temporary folder,
then calls the WSGI application that gunicorn serves (``helpcenter.wsgi.application``, DEBUG
off) directly, one request after another, for random status pages with their session cookie,
and reports ``time.process_time()`` per request: the CPU a gunicorn worker spends in Django.
300 requests/s on 2 cores leaves at most ~6.5 ms per request once the load generator and
gunicorn's own HTTP handling have had theirs.

``--profile FILE`` runs the measured requests under cProfile and saves the statistics to FILE
(``python -m pstats FILE``) after printing the top functions by cumulative time.
"""

from __future__ import annotations

import statistics
import sys
import time
import wsgiref.util
from collections.abc import Sequence
from pathlib import Path

import _support as bench
import status_page  # bench/status_page.py: the same data
from _support import say

ROUNDS = 5  # the figure is the median of the rounds: a busy machine still steals some cache


def request(application, session_key: str, reference: str) -> tuple[str, bytes]:
    """``GET /es/cases/<reference>/`` as gunicorn hands it to the application (no User-Agent,
    like wrk, so no visit is counted)."""
    environ = {
        "PATH_INFO": f"/es/cases/{reference}/", "HTTP_COOKIE": f"sessionid={session_key}",
        "REMOTE_ADDR": "127.0.0.1", "wsgi.multiprocess": True,  # as under gunicorn's workers
    }  # fmt: skip
    wsgiref.util.setup_testing_defaults(environ)  # the rest of a plain GET to 127.0.0.1
    started: list[str] = []
    result = application(environ, lambda status, headers, exc_info=None: started.append(status))
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()  # request_finished: what closes (or keeps) the database connection
    return started[0], body


def measure(application, pairs: Sequence[tuple[str, str]]) -> float:
    """Milliseconds of CPU per request over ``pairs``."""
    started = time.process_time()
    for key, reference in pairs:
        request(application, key, reference)
    return (time.process_time() - started) * 1000 / len(pairs)


def run(options, workdir: Path, cleanups: bench.Cleanups) -> bool:
    for note in bench.use_site(workdir, "status-page", cleanups, sqlite=True):
        say(f"note: {note}")
    bench.start_django(cleanups)
    from helpcenter.wsgi import application

    maker, _, pairs = status_page.make_cases(options.cases)
    rng = maker.rng
    for key, reference in rng.sample(pairs, 20):
        status, body = request(application, key, reference)
        if not status.startswith("200") or reference.encode() not in body:
            raise RuntimeError(f"status page of {reference}: {status}")
    if not (status := request(application, pairs[0][0], pairs[1][1])[0]).startswith("403"):
        raise RuntimeError(f"another case's session got {status}, expected 403")
    measure(application, rng.choices(pairs, k=200))  # warm-up: imports, templates, catalogues
    say(
        f"\nCPU per status page: helpcenter.wsgi.application called in this process"
        f" ({options.cases:,} cases, {len(pairs):,} sessions, {options.requests:,} random pages"
        f" per round)"
    )
    if options.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        sample = rng.choices(pairs, k=options.requests)
        profiler.enable()
        figure = measure(application, sample)
        profiler.disable()
        profiler.dump_stats(options.profile)
        say(f"  under cProfile: {figure:.2f} ms per request (inflated by the profiler)")
        pstats.Stats(options.profile).sort_stats("cumulative").print_stats(40)
        return True
    rounds = [measure(application, rng.choices(pairs, k=options.requests)) for _ in range(ROUNDS)]
    say(f"  rounds: {', '.join(f'{value:.2f}' for value in rounds)} ms")
    say(f"  median: {statistics.median(rounds):.2f} ms CPU per request")
    say(f"  {bench.uptime()}")
    return True


if __name__ == "__main__":
    options = bench.options(
        __doc__, None,
        ("--cases", 100_000, "cases to load (100000)"),
        ("--requests", 2_000, "requests per round (2000)"),
        ("--profile", "", "cProfile one round, save it to this file"),
        require=[(lambda o: o.cases >= status_page.SESSIONS // 10 and o.requests >= 1,
                  f"--cases must be at least {status_page.SESSIONS // 10}, --requests positive")],
    )  # fmt: skip
    sys.exit(bench.launch("bench-status-cpu-", run, options))
