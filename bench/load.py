"""Mixed customer traffic on gunicorn with 2 workers, figures per route (README: Benchmarks)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from urllib.parse import quote

import _support as bench
from _support import harness, say

SEED = 20_261_122
WORKERS = 2
WARMUP_SECONDS = 3.0
# Concurrent connections per route out of every 16 (scaled by --connections): the share of
# traffic a help center sees, searches and articles first.
MIX = {"home": 3, "search": 5, "article": 4, "status": 2, "feed": 2}
# What a page of each route must contain (a status page: its case's reference).
EXPECTED = {"home": "<main", "search": "<ol", "article": "<h1", "feed": "<feed"}


def make_requests(folder: Path, articles: int, cases: int) -> dict[str, list[str]]:
    """The data, and the requests of each route (see bench/requests.lua)."""
    from kb.models import Article
    from kb.selectors import search_articles
    from kb.services import rebuild_search_index

    started = time.perf_counter()
    bench.load_demo_content()
    bench.add_generated_articles(articles, SEED)
    indexed = rebuild_search_index()
    probe = search_articles(query="devolucion", language="es")
    if probe.degraded or not probe.hits:
        raise RuntimeError("the search index does not answer 'devolucion' after the rebuild")
    opened = bench.open_cases(cases, SEED)
    keys = bench.grant_sessions([case_id for case_id, _, _ in opened])
    sessions = zip(keys, opened, strict=True)
    say(f"  {Article.objects.count():,} articles ({indexed:,} published, in the Whoosh index),"
        f" {len(opened):,} cases with a session each, demo notices;"
        f" {time.perf_counter() - started:.0f} s")  # fmt: skip
    return {
        "home": ["/es/"] * 4 + ["/en/"],
        "search": [f"/es/search/?q={quote(query)}" for query in bench.SEARCH_QUERIES],
        "article": bench.published_article_paths(500, SEED),
        "status": [f"/es/cases/{ref}/\tsessionid={key}" for key, (_, ref, _) in sessions],
        "feed": ["/es/notices/feed.atom"] * 4 + ["/en/notices/feed.atom"],
    }


def check_routes(port: int, requests: dict[str, list[str]]) -> list[str]:
    """One request of each route by hand: 200 and what the page must contain."""
    degraded, problems = bench.degraded_marker(), []
    for route, lines in requests.items():
        target, _, cookie = lines[0].partition("\t")
        status, body = harness.http_get(port, target, {"Cookie": cookie} if cookie else None)
        expected = EXPECTED.get(route) or target.strip("/").rsplit("/", 1)[-1]
        if status != 200 or expected.encode() not in body:
            problems.append(f"{route} {target}: HTTP {status}, {expected!r} in body: no")
        if route == "search" and degraded in body:
            problems.append(f"{route} {target}: answered from the database (degraded)")
    return problems


def cost_per_route(requests: dict[str, list[str]], samples=60) -> dict[str, tuple[float, float]]:
    """CPU milliseconds and SQL queries per request of each route, rendered in this process
    by the test client after a warm-up (CPU time: other work on the machine does not count)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    def fetch(client: Client, route: str, line: str) -> None:
        target, _, cookie = line.partition("\t")
        if cookie:
            client.cookies["sessionid"] = cookie.split("=", 1)[1]
        if (status := client.get(target).status_code) != 200:
            raise RuntimeError(f"{route} {target}: HTTP {status} in process")

    costs = {}
    for route, lines in requests.items():
        client = Client(HTTP_HOST="127.0.0.1")
        for line in lines[:10]:
            fetch(client, route, line)
        started = time.process_time()
        with CaptureQueriesContext(connection) as queries:
            for number in range(samples):
                fetch(client, route, lines[number % len(lines)])
        cpu_ms = (time.process_time() - started) * 1000 / samples
        costs[route] = (cpu_ms, len(queries.captured_queries) / samples)
    return costs


def print_results(results: list[bench.WrkResult], costs: dict[str, tuple[float, float]]) -> None:
    rows: list = [("route", "conns", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms",
                   "max ms", "errors", "CPU ms", "queries", "")]  # fmt: skip
    for r in results:
        latency = [f"{r.ms[name]:.1f}" for name in ("p50", "p90", "p99", "max")]
        cpu, sql = costs.get(r.route, (0.0, 0.0))
        rows.append((r.route, r.connections, f"{r.requests:,}", f"{r.rps:.1f}", *latency,
                     r.error_count, f"{cpu:.1f}", f"{sql:.1f}", dict(r.errors) or ""))  # fmt: skip
    total, seconds = sum(r.requests for r in results), max(r.seconds for r in results)
    rows.append(("all", sum(r.connections for r in results), f"{total:,}",
                 f"{total / seconds if seconds else 0:.1f}", "", "", "", "",
                 sum(r.error_count for r in results)))  # fmt: skip
    bench.table(rows)
    if redirects := sum(result.redirects for result in results):
        say(f"  ({redirects} redirects, counted as answers, not errors)")
    say("  latency: as wrk measured it, from sending the request to the last byte; once the")
    say("  workers are busy it is mostly the wait in gunicorn's queue, which all routes share.")
    say("  CPU ms and queries: one request of the route rendered in this process (test client,")
    say("  SQL of the database cache included), before the load")


def run(options, workdir: Path, cleanups: bench.Cleanups) -> bool:
    say(f"Load benchmark: gunicorn with {WORKERS} workers, {options.duration:g} s of mixed")
    say(f"traffic on loopback. Folder: {workdir}")
    say(f"  {os.cpu_count()} CPUs; {bench.uptime()}")
    bench.say_each(bench.use_site(workdir, "load", cleanups, redis_db=14))
    bench.start_django(cleanups)
    say("\nData")
    requests = make_requests(workdir, options.articles, options.cases)
    costs = cost_per_route(requests)
    from django.db import connections

    connections.close_all()  # gunicorn's workers open their own
    server = harness.Gunicorn(workdir, WORKERS)
    cleanups.append(server.stop)
    server.start()
    say(f"\nServer: gunicorn helpcenter.wsgi -w {WORKERS} -b 127.0.0.1:{server.port} (DEBUG=0)")
    problems = check_routes(server.port, requests)
    say("  one page of each route by hand: " + ("PROBLEMS" if problems else "as expected"))
    bench.say_each(problems, "    ")

    weight = sum(MIX.values())
    split = {route: max(1, round(options.connections * n / weight)) for route, n in MIX.items()}
    files = {route: bench.request_file(workdir / f"requests-{route}.txt", requests[route])
             for route in MIX}  # fmt: skip
    routes = {route: (split[route], files[route]) for route in MIX}
    say(
        f"\nLoad: one wrk per route at once ({', '.join(f'{r} {c}' for r, c in split.items())}"
        f" connections), {WARMUP_SECONDS:g} s warm-up, then {options.duration:g} s measured"
    )
    say(f"  search: {len(bench.SEARCH_QUERIES)} queries; articles: {len(requests['article'])};"
        f" status pages: {options.cases} cases, each with its session cookie")  # fmt: skip
    bench.run_wrk(server, WARMUP_SECONDS, routes)
    say(f"  before: {bench.uptime()}")
    results, _, busy = bench.run_wrk(server, options.duration, routes)
    say(f"  after:  {bench.uptime()}")
    logged = server.error_lines()  # before stopping: stopping interrupts queued requests
    server.stop()

    say("\nResults")
    print_results(results, costs)
    seconds = max(result.seconds for result in results)
    total = sum(r.requests for r in results)
    bench.say_each(bench.workers_report(busy, WORKERS, seconds, total))
    if logged:
        say(f"  gunicorn's log: {len(logged)} error lines, e.g. {logged[0]}")
    errors = sum(result.error_count for result in results)
    clean = errors == 0 and not problems and not logged
    say(f"\n  {'PASS' if clean else 'FAIL'}  {errors} errors (answers other than 2xx/3xx and"
        f" socket errors), {len(problems)} bad pages checked by hand, {len(logged)} error lines"
        " in gunicorn's log")  # fmt: skip
    return clean


if __name__ == "__main__":
    options = bench.options(
        __doc__,
        ("--duration", 60.0, "measured seconds (60)"),
        ("--connections", 16, "in all routes (16)"),
        ("--articles", 2_000, "generated articles (2000)"),
        ("--cases", 200, "cases with a session (200)"),
        require=[(lambda o: o.duration > 0 and o.connections >= len(MIX) and o.cases >= 1,
                  f"--duration > 0, --connections >= {len(MIX)}, --cases >= 1")],
    )  # fmt: skip
    sys.exit(bench.launch("bench-load-", run, options, needs=["wrk"]))
