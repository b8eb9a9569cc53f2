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

import argparse
import io
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import status_page as bench  # bench/ is on sys.path when this file runs as a script

ROUNDS = 5  # the figure is the median of the rounds: a busy machine still steals some cache


def wsgi_environ(session_key: str, reference: str) -> dict:
    """What gunicorn hands the application for ``GET /es/cases/<reference>/``."""
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": f"/es/cases/{reference}/",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",  # like wrk: no User-Agent, so no visit is counted
        "HTTP_COOKIE": f"sessionid={session_key}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def request(application, session_key: str, reference: str) -> tuple[str, bytes]:
    started: list[str] = []

    def start_response(status, headers, exc_info=None):
        started.append(status)

    result = application(wsgi_environ(session_key, reference), start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()  # request_finished: what closes (or keeps) the database connection
    return started[0], body


def check(application, pairs: Sequence[tuple[str, str]]) -> None:
    for key, reference in pairs:
        status, body = request(application, key, reference)
        if not status.startswith("200") or reference.encode() not in body:
            raise RuntimeError(f"status page of {reference}: {status}")
    (key, _), (_, other) = pairs[0], pairs[1]
    status, _ = request(application, key, other)
    if not status.startswith("403"):
        raise RuntimeError(f"another case's session got {status}, expected 403")


def measure(application, pairs: Sequence[tuple[str, str]]) -> float:
    """Milliseconds of CPU per request over ``pairs``."""
    started = time.process_time()
    for key, reference in pairs:
        request(application, key, reference)
    return (time.process_time() - started) * 1000 / len(pairs)


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="cases to load (100000)")
    parser.add_argument("--requests", type=int, default=2_000, help="requests per round (2000)")
    parser.add_argument("--profile", metavar="FILE", help="cProfile one round, save it to FILE")
    options = parser.parse_args(argv)
    if options.cases < bench.SESSIONS // 10 or options.requests < 1:
        parser.error(f"--cases must be at least {bench.SESSIONS // 10}, --requests positive")
    return options


def run(options: argparse.Namespace, workdir: Path, cleanups: list[Callable[[], None]]) -> bool:
    for note in bench.prepare_environment(workdir):
        bench.say(f"note: {note}")
    bench.setup_django()
    cleanups.append(bench.close_connections)
    from django.utils import timezone

    from helpcenter.wsgi import application

    reasons = bench.load_reference_data()
    rng = random.Random(bench.SEED)
    maker = bench.DataMaker(rng, reasons, timezone.now())
    loaded = bench.load_cases(maker, options.cases)
    chosen = rng.sample(loaded, min(bench.SESSIONS, len(loaded)))
    keys = bench.grant_sessions([case_id for case_id, _ in chosen])
    pairs = [(key, reference) for key, (_, reference) in zip(keys, chosen, strict=True)]

    check(application, rng.sample(pairs, 20))
    measure(application, rng.choices(pairs, k=200))  # warm-up: imports, templates, catalogues
    bench.say(
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
        bench.say(f"  under cProfile: {figure:.2f} ms per request (inflated by the profiler)")
        pstats.Stats(options.profile).sort_stats("cumulative").print_stats(40)
        return True
    rounds = [measure(application, rng.choices(pairs, k=options.requests)) for _ in range(ROUNDS)]
    bench.say(f"  rounds: {', '.join(f'{value:.2f}' for value in rounds)} ms")
    bench.say(f"  median: {statistics.median(rounds):.2f} ms CPU per request")
    bench.say(f"  {bench.uptime()}")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    return bench.run_benchmark("bench-status-cpu-", lambda w, c: run(options, w, c), keep=False)


if __name__ == "__main__":
    sys.exit(main())
