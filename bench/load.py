"""Load benchmark: mixed customer traffic on gunicorn with 2 workers, figures per route.

Run with ``.venv/bin/python bench/load.py`` (``--help`` for the options; ``--duration 10``
for a quick look).

Everything happens in a fresh temporary folder. The database is SQLite there; with
``DATABASE_URL`` (PostgreSQL) it is a throwaway database ``<name>_bench_load`` beside the given
one, dropped at the end. With ``REDIS_URL``, that Redis server is the cache and the broker, on
database 14 only (flushed before and after); without it the cache is the database table.
The benchmark

1. loads the demo content (opening hours, notices, categories, articles, contact reasons),
   adds ``--articles`` generated articles, builds the real Whoosh index with
   ``kb.services.rebuild_search_index``, opens ``--cases`` cases through ``cases.services``
   and gives each a session that may open it, as the emailed link does;
2. starts ``gunicorn helpcenter.wsgi`` with 2 workers on loopback in production mode (DEBUG
   off) and checks one page of each route by hand;
3. runs one ``wrk`` per route at the same time (``bench/load.lua``, connections split by
   the mix below) for a short warm-up, then for ``--duration`` seconds: the home page,
   search (varied Spanish queries, typos and missing accents included), articles, case
   status pages (each with its session cookie) and the notices feed;
4. prints requests/s, p50/p90/p99 latency and errors per route. An error is an answer other
   than 2xx/3xx or a socket error; any error makes the exit status 1 (2: the run failed).

wrk is required (Debian package ``wrk``); without it the benchmark says how to install it
and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _support as support  # bench/_support.py, beside this file
from _support import say

LUA_SCRIPT = Path(__file__).resolve().parent / "load.lua"
SEED = 20_261_122
WORKERS = 2
WARMUP_SECONDS = 3.0
REDIS_BENCH_DB = 14

# Concurrent connections per route out of every 16 (scaled by --connections): the share of
# traffic a help center sees, searches and articles first.
MIX = {"home": 3, "search": 5, "article": 4, "status": 2, "feed": 2}


# -- setup -------------------------------------------------------------------------------------


def prepare_environment(workdir: Path, cleanups: list[Callable[[], None]]) -> list[str]:
    var_dir = workdir / "var"
    os.environ.update(support.production_settings(var_dir, "load"))
    os.environ.pop("EMAIL_URL", None)  # the cases' emails stay in the outbox (no worker)
    notes = [f"database: {support.use_database('bench_load', var_dir, cleanups)}"]
    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url:
        bench_url = support.with_path(redis_url, f"/{REDIS_BENCH_DB}")
        os.environ["REDIS_URL"] = os.environ["REDIS_CACHE_URL"] = bench_url

        def flush() -> None:
            import redis

            client = redis.Redis.from_url(bench_url, socket_connect_timeout=5)
            client.flushdb()
            client.close()

        flush()
        cleanups.append(flush)
        notes.append(f"cache and broker: Redis {redis_url} on database {REDIS_BENCH_DB} only")
    else:
        notes.append("cache: the database table; broker: kombu's filesystem transport")
    return notes


def make_data(articles: int, cases: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Returns the article paths and the (session key, reference) pairs of the cases."""
    from kb.models import Article
    from kb.selectors import search_articles
    from kb.services import rebuild_search_index

    started = time.perf_counter()
    support.load_demo_content()
    support.add_generated_articles(articles, SEED)
    indexed = rebuild_search_index()
    probe = search_articles(query="devolucion", language="es")
    if probe.degraded or not probe.hits:
        raise RuntimeError("the search index does not answer 'devolucion' after the rebuild")
    opened = support.open_cases(cases, SEED)
    keys = support.grant_sessions([case_id for case_id, _, _ in opened])
    pairs = [(key, reference) for key, (_, reference, _) in zip(keys, opened, strict=True)]
    say(
        f"  {Article.objects.count():,} articles ({indexed:,} published, in the Whoosh index),"
        f" {len(pairs):,} cases with a session each, demo notices;"
        f" {time.perf_counter() - started:.0f} s"
    )
    return support.published_article_paths(500, SEED), pairs


def request_files(
    folder: Path, article_paths: Sequence[str], pairs: Sequence[tuple[str, str]]
) -> dict[str, Path]:
    """One file of requests per route (see bench/load.lua)."""
    lines = {
        "home": ["/es/"] * 4 + ["/en/"],
        "search": [f"/es/search/?q={quote(query)}" for query in support.SEARCH_QUERIES],
        "article": list(article_paths),
        "status": [f"/es/cases/{reference}/\tsessionid={key}" for key, reference in pairs],
        "feed": ["/es/notices/feed.atom"] * 4 + ["/en/notices/feed.atom"],
    }
    files = {}
    for route, requests in lines.items():
        files[route] = folder / f"requests-{route}.txt"
        files[route].write_text("".join(f"{line}\n" for line in requests))
    return files


def check_routes(port: int, files: dict[str, Path]) -> list[str]:
    """One request of each route by hand: 200 and what the page must contain."""
    from django.utils import translation
    from django.utils.translation import gettext

    with translation.override("es"):
        degraded = gettext(
            "Search is working in a simpler mode right now; results may be less complete."
        )
    problems = []
    for route, path in files.items():
        first = path.read_text().splitlines()[0]
        target, _, cookie = first.partition("\t")
        status, body = support.http_get(port, target, {"Cookie": cookie} if cookie else None)
        text = body.decode(errors="replace")
        expected = {
            "home": "<main",
            "search": "<ol",  # a list of results
            "article": "<h1",
            "status": target.strip("/").rsplit("/", 1)[-1],  # the case reference
            "feed": "<feed",
        }[route]
        if status != 200 or expected not in text:
            problems.append(f"{route} {target}: HTTP {status}, {expected!r} in body: no")
        if route == "search" and degraded in text:
            problems.append(f"{route} {target}: answered from the database (degraded)")
    return problems


def _fetch_in_process(client, route: str, line: str) -> None:
    target, _, cookie = line.partition("\t")
    if cookie:
        client.cookies["sessionid"] = cookie.split("=", 1)[1]
    response = client.get(target)
    if response.status_code != 200:
        raise RuntimeError(f"{route} {target}: HTTP {response.status_code} in process")


def cost_per_route(files: dict[str, Path], samples: int = 60) -> dict[str, tuple[float, float]]:
    """CPU milliseconds and SQL queries per request of each route, rendered in this process
    by the test client after a warm-up (CPU time: other work on the machine does not count)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    costs = {}
    for route, path in files.items():
        requests = path.read_text().splitlines()
        client = Client(HTTP_HOST="127.0.0.1")
        for line in requests[:10]:
            _fetch_in_process(client, route, line)
        started = time.process_time()
        with CaptureQueriesContext(connection) as queries:
            for number in range(samples):
                _fetch_in_process(client, route, requests[number % len(requests)])
        costs[route] = (
            (time.process_time() - started) * 1000 / samples,
            len(queries.captured_queries) / samples,
        )
    return costs


# -- load --------------------------------------------------------------------------------------


def split_connections(total: int) -> dict[str, int]:
    weight = sum(MIX.values())
    return {route: max(1, round(total * share / weight)) for route, share in MIX.items()}


def run_load(
    port: int, files: dict[str, Path], connections: dict[str, int], seconds: float
) -> list[support.WrkResult]:
    """One wrk per route, all at once; waits for all of them."""
    running = {
        route: subprocess.Popen(
            support.wrk_command(port, LUA_SCRIPT, seconds, connections[route], [str(path)]),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for route, path in files.items()
    }
    results = []
    for route, process in running.items():
        try:
            output, _ = process.communicate(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"wrk for {route} failed ({process.returncode}):\n{output}")
        result = support.WrkResult.parse(output, route=route, connections=connections[route])
        results.append(result)
    return results


def print_results(results: list[support.WrkResult], costs: dict[str, tuple[float, float]]) -> None:
    say(
        f"  {'route':<8} {'conns':>5} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8}"
        f" {'p99 ms':>8} {'max ms':>8} {'errors':>6} {'CPU ms':>7} {'queries':>7}"
    )
    for result in results:
        cpu, queries = costs.get(result.route, (0.0, 0.0))
        say(
            f"  {result.route:<8} {result.connections:>5} {result.requests:>9,} {result.rps:>8.1f}"
            f" {result.p50_ms:>8.1f} {result.p90_ms:>8.1f} {result.p99_ms:>8.1f}"
            f" {result.max_ms:>8.1f} {result.error_count:>6} {cpu:>7.1f} {queries:>7.1f}"
            + (f"  {dict(result.errors)}" if result.errors else "")
        )
    total = sum(result.requests for result in results)
    seconds = max(result.seconds for result in results)
    say(
        f"  {'all':<8} {sum(r.connections for r in results):>5} {total:>9,}"
        f" {total / seconds if seconds else 0:>8.1f}"
        f"{'':>36} {sum(r.error_count for r in results):>6}"
    )
    redirects = sum(result.redirects for result in results)
    if redirects:
        say(f"  ({redirects} redirects, counted as answers, not errors)")
    say("  latency: as wrk measured it, from sending the request to the last byte; once the")
    say("  workers are busy it is mostly the wait in gunicorn's queue, which all routes share.")
    say("  CPU ms and queries: one request of the route rendered in this process (test client,")
    say("  SQL of the database cache included), before the load")


# -- the run -----------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds (60)")
    parser.add_argument("--connections", type=int, default=16, help="in all routes (16)")
    parser.add_argument("--articles", type=int, default=2_000, help="generated articles (2000)")
    parser.add_argument("--cases", type=int, default=200, help="cases with a session (200)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args(argv)
    if options.duration <= 0 or options.connections < len(MIX) or options.cases < 1:
        parser.error(f"--duration > 0, --connections >= {len(MIX)}, --cases >= 1")
    return options


def run(options: argparse.Namespace, workdir: Path, cleanups: list[Callable[[], None]]) -> bool:
    say(f"Load benchmark: gunicorn with {WORKERS} workers, {options.duration:g} s of mixed")
    say(f"traffic on loopback. Folder: {workdir}")
    say(f"  {os.cpu_count()} CPUs; {support.uptime()}")
    for note in prepare_environment(workdir, cleanups):
        say(f"  {note}")
    support.setup_django()
    say("\nData")
    article_paths, pairs = make_data(options.articles, options.cases)
    files = request_files(workdir, article_paths, pairs)
    costs = cost_per_route(files)
    from django.db import connections

    connections.close_all()  # gunicorn's workers open their own

    server = support.Gunicorn(workdir, WORKERS)
    cleanups.append(server.stop)
    server.start()
    say(f"\nServer: gunicorn helpcenter.wsgi -w {WORKERS} -b 127.0.0.1:{server.port} (DEBUG=0)")
    problems = check_routes(server.port, files)
    say("  one page of each route by hand: " + ("as expected" if not problems else "PROBLEMS"))
    for problem in problems:
        say(f"    {problem}")

    split = split_connections(options.connections)
    say(
        f"\nLoad: one wrk per route at once ({', '.join(f'{r} {c}' for r, c in split.items())}"
        f" connections), {WARMUP_SECONDS:g} s warm-up, then {options.duration:g} s measured"
    )
    say(f"  search: {len(support.SEARCH_QUERIES)} queries; articles: {len(article_paths)};")
    say(f"  status pages: {len(pairs)} cases, each with its session cookie")
    run_load(server.port, files, split, WARMUP_SECONDS)
    say(f"  before: {support.uptime()}")
    cpu_before, wait_before = server.workers_time()
    results = run_load(server.port, files, split, options.duration)
    cpu_after, wait_after = server.workers_time()
    say(f"  after:  {support.uptime()}")
    logged = server.error_lines()  # before stopping: stopping interrupts queued requests
    server.stop()

    say("\nResults")
    print_results(results, costs)
    requests = sum(result.requests for result in results)
    workers_cpu, workers_wait = cpu_after - cpu_before, wait_after - wait_before
    if requests and workers_cpu > 0:
        window = WORKERS * max(result.seconds for result in results)
        say(
            f"  workers: of {window:.0f} s ({WORKERS} x the run), on a CPU {workers_cpu:.1f} s"
            f" ({100 * workers_cpu / window:.0f}%), runnable but waiting for a CPU"
            f" {workers_wait:.1f} s ({100 * workers_wait / window:.0f}%: other work on the machine"
            " and the load generators)"
        )
        say(
            f"  {1000 * workers_cpu / requests:.2f} ms of CPU per request in the workers (the mix"
            f" above): {WORKERS} idle cores would serve at most"
            f" {WORKERS * requests / workers_cpu:.0f} requests/s"
        )
    if logged:
        say(f"  gunicorn's log: {len(logged)} error lines, e.g. {logged[0]}")
    errors = sum(result.error_count for result in results)
    clean = errors == 0 and not problems and not logged
    say(
        f"\n  {'PASS' if clean else 'FAIL'}  {errors} errors (answers other than 2xx/3xx and"
        f" socket errors), {len(problems)} bad pages checked by hand, {len(logged)} error lines"
        " in gunicorn's log"
    )
    return clean


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    if shutil.which("wrk") is None:
        say(support.WRK_MISSING)
        return 2

    return support.run_benchmark(
        "bench-load-", lambda workdir, cleanups: run(options, workdir, cleanups), keep=options.keep
    )


if __name__ == "__main__":
    sys.exit(main())
