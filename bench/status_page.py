"""Benchmark of the case status page under gunicorn: requests/s, latency, queries per page.

Run with ``.venv/bin/python bench/status_page.py`` (``--help`` for the options).

Everything happens in a fresh temporary folder (``VAR_DIR``): its SQLite file is the default
database (``DATABASE_URL`` and ``REDIS_URL`` are ignored, so the cache is the database table).
The benchmark

1. loads the demo opening hours, notices and contact reasons, bulk-inserts ``--cases`` cases
   with 10 events each (a fixed seed) and creates 2,000 database sessions, each holding the
   right to open one random case (``cases.services.access.grant_session_access``);
2. counts the SQL queries of one status page with the Django test client for cases with 1, 10
   and 200 events (cache-table queries and savepoints are left out);
3. starts ``gunicorn helpcenter.wsgi`` with 2 workers on loopback in production mode, checks a
   few pages, then requests random status pages (each with its session cookie) for
   ``--seconds`` after a short warm-up, with ``wrk`` (``bench/status_page.lua``);
4. prints requests/s, p50/p95/p99 latency, errors, queries per page and the machine's load,
   with PASS/MISS against the targets: at least 300 requests/s, and the same number of queries
   (at most 10) whatever the length of the timeline.

The exit status is 0 when every target is met, 1 when one is missed, 2 when the run failed.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cases.models import Case, CaseEvent, ContactReason

from _support import (  # bench/_support.py, beside this file
    WRK_MISSING,
    Gunicorn,
    WrkResult,
    grant_sessions,
    http_get,
    log_tail,
    production_settings,
    run_benchmark,
    say,
    setup_django,
    uptime,
    wrk_command,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent

LUA_SCRIPT = PROJECT_DIR / "bench" / "status_page.lua"
SEED = 20_250_612

TARGET_RPS = 300.0
MAX_QUERIES = 10

EVENTS_PER_CASE = 10
LONG_TIMELINE = 200  # events of the synthetic case that shows the timeline costs no queries
SESSIONS = 2_000
INSERT_BATCH = 5_000

WORKERS = 2
CONNECTIONS = 16
WARMUP_SECONDS = 3.0
SAMPLE_PAGES = 20  # pages checked one by one (status 200, the reference in the body)
QUERY_SAMPLE = 30  # random loaded cases whose queries are counted too
INPROCESS_PAGES = 300  # pages rendered by the test client to time Django alone

# Left out of the query count: the cache table (the database cache's own bookkeeping, gone
# with Redis) and savepoints (transaction control, not reads).
EXCLUDED_SQL = re.compile(r"helpcenter_cache|^\s*(RELEASE |ROLLBACK TO )?SAVEPOINT", re.I)


# -- environment -----------------------------------------------------------------------------


def prepare_environment(workdir: Path) -> list[str]:
    """Production settings on a temporary VAR_DIR, for this process and for gunicorn."""
    notes = []
    if os.environ.pop("DATABASE_URL", None):
        notes.append("DATABASE_URL is set but ignored: the default database is SQLite in VAR_DIR")
    if os.environ.pop("REDIS_URL", None):
        notes.append("REDIS_URL is set but ignored: the cache is the database table")
    os.environ.pop("EMAIL_URL", None)  # the demo case's emails go to files in VAR_DIR
    variables = production_settings(workdir / "var", "status-page")
    os.environ.update(variables)
    # With --keep, the server can be started again on the same data (same SECRET_KEY, or the
    # sessions no longer decode): env $(cat server.env) .venv/bin/gunicorn helpcenter.wsgi
    (workdir / "server.env").write_text("".join(f"{k}={v}\n" for k, v in variables.items()))
    return notes


# -- data ------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Ana",
    "Carlos",
    "Lucia",
    "Javier",
    "Marta",
    "Pablo",
    "Elena",
    "Diego",
    "Sara",
    "Miguel",
    "Laura",
    "Jorge",
    "Carmen",
    "David",
    "Paula",
)
LAST_NAMES = (
    "Garcia",
    "Martinez",
    "Lopez",
    "Sanchez",
    "Perez",
    "Gomez",
    "Martin",
    "Jimenez",
    "Ruiz",
    "Hernandez",
    "Diaz",
    "Moreno",
    "Alvarez",
)
SUBJECTS = (
    "Mi pedido no ha llegado todavía",
    "El pago falla al finalizar la compra",
    "Quiero cambiar la dirección de entrega",
    "Me han cobrado dos veces el mismo pedido",
    "No puedo entrar en mi cuenta",
    "El producto llegó dañado",
    "¿Cuándo me devolvéis el dinero?",
    "La factura tiene un error en el NIF",
    "Quiero cancelar la suscripción",
    "El código de descuento no funciona",
)
SENTENCES = (
    "Hemos revisado el pedido con el almacén y ya está preparado para salir.",
    "El transportista nos confirma que el paquete está en la delegación de tu provincia.",
    "Te escribo porque sigo sin noticias y necesito el pedido antes del viernes.",
    "Hemos devuelto el importe a la tarjeta; el banco tarda entre tres y cinco días.",
    "Adjunto una foto de la caja tal como llegó, con la esquina aplastada.",
    "Hemos pedido al equipo de pagos que compruebe el cargo duplicado.",
    "La dirección nueva ya figura en el pedido y la etiqueta se ha vuelto a imprimir.",
    "Gracias por la paciencia: el problema venía de una actualización de la pasarela.",
    "Cambio el estado mientras esperamos la respuesta del proveedor.",
    "Nota interna: el cliente ya escribió la semana pasada por el mismo motivo.",
    "¿Podéis confirmarme si el reembolso incluye los gastos de envío?",
    "Hemos enviado un producto nuevo y puedes quedarte con el dañado.",
)
CASE_STATUSES = (  # (status, weight)
    ("received", 15),
    ("in_progress", 30),
    ("waiting", 15),
    ("resolved", 15),
    ("closed", 25),
)
EVENT_KINDS = (  # (kind, weight, public, by customer); "opened" always comes first
    ("reply", 25, True, False),
    ("message", 20, True, True),
    ("status", 20, True, False),
    ("note", 20, False, False),
    ("assignment", 15, False, False),
)


def public_share() -> float:
    """Expected share of public events: the opening, then a weighted draw for the other 9."""
    total = sum(weight for _, weight, _, _ in EVENT_KINDS)
    public = sum(weight for _, weight, is_public, _ in EVENT_KINDS if is_public)
    return (1 + (EVENTS_PER_CASE - 1) * public / total) / EVENTS_PER_CASE


class DataMaker:
    """Cases and their timelines, from a seeded generator (no queries until insertion)."""

    def __init__(self, rng: random.Random, reasons: list[ContactReason], now: datetime) -> None:
        from cases.services.lifecycle import REFERENCE_ALPHABET

        self.rng = rng
        self.reasons = reasons
        self.now = now
        self.alphabet = REFERENCE_ALPHABET
        self.references: set[str] = set()
        self.bodies = [self._text(180, 220) for _ in range(500)]
        self.statuses = [status for status, _ in CASE_STATUSES]
        self.status_weights = [weight for _, weight in CASE_STATUSES]
        self.kinds = [kind[0] for kind in EVENT_KINDS]
        self.kind_weights = [kind[1] for kind in EVENT_KINDS]
        self.kind_flags = {kind: (public, customer) for kind, _, public, customer in EVENT_KINDS}

    def _text(self, shortest: int, longest: int) -> str:
        size = self.rng.randint(shortest, longest)
        text = ""
        while len(text) < size:
            text += self.rng.choice(SENTENCES) + " "
        return text[:size].rstrip()

    def reference(self) -> str:
        while True:
            letters = "".join(self.rng.choices(self.alphabet, k=8))
            reference = f"{letters[:4]}-{letters[4:]}"
            if reference not in self.references:
                self.references.add(reference)
                return reference

    def case(
        self,
        index: int,
        *,
        events: int = EVENTS_PER_CASE,
        reason: ContactReason | None = None,
        status: str | None = None,
    ) -> tuple[Case, list[CaseEvent]]:
        from cases.models import Case, CaseEvent

        rng = self.rng
        reason = reason or rng.choice(self.reasons)
        status = status or rng.choices(self.statuses, self.status_weights)[0]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        created = self.now - timedelta(minutes=rng.randint(events * 60, 120 * 24 * 60))
        description = self._text(200, 400)
        case = Case(
            reference=self.reference(),
            customer_email=f"{first}.{last}.{index}@example.com".lower(),
            customer_name=f"{first} {last}",
            language="es" if rng.random() < 0.8 else "en",
            reason=reason,
            subject=rng.choice(SUBJECTS),
            description=description,
            status=status,
            team_id=reason.team_id,
            first_response_due=created + timedelta(hours=reason.first_response_hours),
            resolution_due=created + timedelta(days=reason.resolution_days),
            created_at=created,
        )
        timeline = [
            CaseEvent(
                case=case,
                kind=CaseEvent.Kind.OPENED,
                public=True,
                by_customer=True,
                body=description,
                created_at=created,
            )
        ]
        # Spread the rest of the timeline between the opening and now.
        step = max(1, int((self.now - created).total_seconds() / 60) // events)
        moment = created
        for _ in range(events - 1):
            moment += timedelta(minutes=rng.randint(1, step))
            kind = rng.choices(self.kinds, self.kind_weights)[0]
            public, by_customer = self.kind_flags[kind]
            is_status = kind == "status"
            timeline.append(
                CaseEvent(
                    case=case,
                    kind=kind,
                    public=public,
                    by_customer=by_customer,
                    body="" if is_status else rng.choice(self.bodies),
                    from_status=rng.choice(self.statuses) if is_status else "",
                    to_status=rng.choice(self.statuses) if is_status else "",
                    created_at=moment,
                )
            )
        if status != "received":
            case.first_responded_at = timeline[min(1, len(timeline) - 1)].created_at
        if status == "resolved":
            case.resolved_at = moment
        elif status == "closed":
            case.resolved_at = case.closed_at = moment
            case.satisfaction = rng.choice((None, 3, 4, 5))
        case.customer_told_until = moment
        return case, timeline


def insert(pairs: list[tuple[Case, list[CaseEvent]]]) -> None:
    """One transaction: the cases (their ids come back), then their events."""
    from django.db import transaction

    from cases.models import Case, CaseEvent

    with transaction.atomic():
        Case.objects.bulk_create([case for case, _ in pairs])
        if any(case.pk is None for case, _ in pairs):
            raise RuntimeError("bulk_create returned no ids (SQLite older than 3.35?)")
        CaseEvent.objects.bulk_create([event for _, events in pairs for event in events])


def load_reference_data() -> list[ContactReason]:
    """The demo opening hours, holidays, notices, teams and contact reasons."""
    from cases import demo as cases_demo
    from cases.models import ContactReason
    from notifications import demo as notifications_demo

    quiet = io.StringIO()
    notifications_demo.load(quiet)
    cases_demo.load(quiet)
    return list(ContactReason.objects.filter(parent__isnull=False, active=True).order_by("pk"))


def load_cases(maker: DataMaker, count: int) -> list[tuple[int, str]]:
    """Bulk-insert ``count`` cases of 10 events; returns their (id, reference)."""
    from tqdm import tqdm

    loaded: list[tuple[int, str]] = []
    with tqdm(total=count, desc="cases", unit="case", mininterval=1.0, file=sys.stdout) as bar:
        for start in range(0, count, INSERT_BATCH):
            batch = [maker.case(index) for index in range(start, min(count, start + INSERT_BATCH))]
            insert(batch)
            loaded.extend((case.pk, case.reference) for case, _ in batch)
            bar.update(len(batch))
    return loaded


# -- queries per page ------------------------------------------------------------------------


@dataclass
class PageQueries:
    label: str
    events: int
    public_events: int
    queries: list[str]
    left_out: int

    @property
    def count(self) -> int:
        return len(self.queries)


def _client():
    from django.test import Client

    return Client(HTTP_HOST="127.0.0.1")


def fetch_page(client, session_key: str, reference: str):
    from django.conf import settings

    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    return client.get(f"/es/cases/{reference}/")


def count_queries(session_key: str, reference: str) -> tuple[list[str], int]:
    """The SQL of one status page (after a first request that warms the process up), and how
    many statements were left out (cache table, savepoints)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client()
    fetch_page(client, session_key, reference)
    with CaptureQueriesContext(connection) as captured:
        response = fetch_page(client, session_key, reference)
    if response.status_code != 200 or reference.encode() not in response.content:
        raise RuntimeError(f"status page of {reference}: HTTP {response.status_code}")
    statements = [query["sql"] for query in captured.captured_queries]
    kept = [sql for sql in statements if not EXCLUDED_SQL.search(sql)]
    return kept, len(statements) - len(kept)


def table_of(sql: str) -> str:
    found = re.search(r'\bFROM\s+"?(\w+)"?', sql, re.I)
    return found.group(1) if found else sql.split()[0]


def measure_queries(maker: DataMaker, reason: ContactReason) -> list[PageQueries]:
    """Cases of the same reason and status with 1, 10 and 200 events."""
    pages = []
    for events in (1, EVENTS_PER_CASE, LONG_TIMELINE):
        case, timeline = maker.case(
            10_000_000 + events, events=events, reason=reason, status="in_progress"
        )
        insert([(case, timeline)])
        [key] = grant_sessions([case.pk])
        public = sum(event.public for event in timeline)
        pages.append(
            PageQueries(f"{events} events", events, public, *count_queries(key, case.reference))
        )
    return pages


def sample_query_counts(pairs: Sequence[tuple[str, str]]) -> Counter:
    return Counter(len(count_queries(key, reference)[0]) for key, reference in pairs)


@dataclass
class InProcess:
    page_ms: float
    connect_ms: float
    conn_max_age: object


def time_in_process(pairs: Sequence[tuple[str, str]]) -> InProcess:
    """Django alone: the test client (one thread, its DB connection kept), and a reconnect.

    CPU time of this process, not wall time: others' load on the machine does not count."""
    from django.conf import settings
    from django.db import connection

    client = _client()
    for key, reference in pairs[:20]:
        fetch_page(client, key, reference)
    started = time.process_time()
    for key, reference in pairs:
        fetch_page(client, key, reference)
    page_ms = (time.process_time() - started) * 1000 / len(pairs)
    rounds = 200
    started = time.process_time()
    for _ in range(rounds):
        connection.close()
        connection.ensure_connection()
    connect_ms = (time.process_time() - started) * 1000 / rounds
    return InProcess(page_ms, connect_ms, settings.DATABASES["default"].get("CONN_MAX_AGE", 0))


# -- the server ------------------------------------------------------------------------------


def get_page(port: int, session_key: str, reference: str) -> tuple[int, bytes]:
    return http_get(port, f"/es/cases/{reference}/", {"Cookie": f"sessionid={session_key}"})


def check_pages(port: int, pairs: Sequence[tuple[str, str]]) -> list[str]:
    """Problems with a few pages fetched one by one, and with a page the session may not open."""
    problems = []
    for key, reference in pairs:
        status, body = get_page(port, key, reference)
        if status != 200 or reference.encode() not in body:
            problems.append(
                f"{reference}: HTTP {status}, reference in body: {reference.encode() in body}"
            )
    (key, _), (_, other) = pairs[0], pairs[1]
    status, _ = get_page(port, key, other)
    if status != 403:
        problems.append(f"{other} with another case's session: HTTP {status}, expected 403")
    return problems


# -- load ------------------------------------------------------------------------------------


def run_wrk(port: int, pairs_file: Path, seconds: float, connections: int) -> WrkResult:
    command = wrk_command(port, LUA_SCRIPT, seconds, connections, [str(pairs_file)])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    finished = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if finished.returncode != 0:
        raise RuntimeError(
            f"wrk failed ({finished.returncode}):\n{finished.stdout}{finished.stderr}"
        )
    return WrkResult.parse(
        finished.stdout,
        route="status page",
        connections=connections,
        generator_cpu_seconds=(after.ru_utime + after.ru_stime)
        - (before.ru_utime + before.ru_stime),
    )


# -- the run ---------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="cases to load (100000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured load (20 s)")
    parser.add_argument("--connections", type=int, default=CONNECTIONS, help="concurrent (16)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args(argv)
    if options.cases < SESSIONS // 10 or options.seconds <= 0 or options.connections < 1:
        parser.error(f"--cases must be at least {SESSIONS // 10}, --seconds and --connections > 0")
    return options


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def run(options: argparse.Namespace, workdir: Path, cleanups: list[Callable[[], None]]) -> bool:
    say(f"Case status page benchmark: {options.cases:,} cases x {EVENTS_PER_CASE} events,")
    say(f"gunicorn with {WORKERS} workers, {options.seconds:g} s of load. Folder: {workdir}")
    say(f"  {uptime()}")
    for note in prepare_environment(workdir):
        say(f"  note: {note}")

    started = time.perf_counter()
    setup_django()
    cleanups.append(close_connections)
    from django.db import connection
    from django.utils import timezone

    from cases.models import CaseEvent

    reasons = load_reference_data()
    rng = random.Random(SEED)
    maker = DataMaker(rng, reasons, timezone.now())
    say(
        f"\nData ({len(reasons)} contact reasons, {100 * public_share():.0f}% of the events"
        " public, bodies of ~200 characters)"
    )
    loaded = load_cases(maker, options.cases)
    chosen = rng.sample(loaded, min(SESSIONS, len(loaded)))
    keys = grant_sessions([case_id for case_id, _ in chosen])
    pairs = [(key, reference) for key, (_, reference) in zip(keys, chosen, strict=True)]
    events = CaseEvent.objects.count()
    database = Path(connection.settings_dict["NAME"])
    say(
        f"  {len(loaded):,} cases, {events:,} events, {len(pairs):,} sessions in"
        f" {time.perf_counter() - started:.0f} s;"
        f" database {database.stat().st_size / 1024**2:.0f} MB"
    )

    say("\nSQL queries per status page (Django test client in this process; queries on the")
    say("cache table helpcenter_cache and SAVEPOINT statements are not counted)")
    rich_reason = max(reasons, key=lambda reason: (bool(reason.article_keys), reason.pk))
    pages = measure_queries(maker, rich_reason)
    for page in pages:
        say(
            f"  {page.label:>11} ({page.public_events:>3} public): {page.count} queries"
            f" ({page.left_out} statements left out)"
        )
    say(f"  tables, in order: {', '.join(table_of(sql) for sql in pages[1].queries)}")
    sample = sample_query_counts(rng.sample(pairs, min(QUERY_SAMPLE, len(pairs))))
    spread = ", ".join(f"{count} queries x{times}" for count, times in sorted(sample.items()))
    say(f"  {sum(sample.values())} random loaded cases (all reasons): {spread}")
    counts = {page.count for page in pages} | set(sample)
    queries_ok = len({page.count for page in pages}) == 1 and max(counts) <= MAX_QUERIES

    inprocess = time_in_process(rng.choices(pairs, k=INPROCESS_PAGES))
    say(
        f"  Django alone: {inprocess.page_ms:.2f} ms CPU per page (test client, one thread, one"
        f" kept connection); opening a SQLite connection: {inprocess.connect_ms:.2f} ms CPU,"
        f" paid by every gunicorn request with CONN_MAX_AGE={inprocess.conn_max_age}"
    )
    connection.close()

    pairs_file = workdir / "pairs.txt"
    pairs_file.write_text("".join(f"{key} {reference}\n" for key, reference in pairs))
    server = Gunicorn(workdir, WORKERS)
    cleanups.append(server.stop)
    say(f"\nServer: gunicorn helpcenter.wsgi -w {WORKERS} -b 127.0.0.1:{server.port} (DEBUG=0)")
    server.start(f"/es/cases/{pairs[0][1]}/", {"Cookie": f"sessionid={pairs[0][0]}"})
    problems = check_pages(server.port, rng.sample(pairs, min(SAMPLE_PAGES, len(pairs))))
    say(
        f"  {SAMPLE_PAGES} pages fetched one by one: "
        + (
            "200 with the case reference in the body; another case's session gets 403"
            if not problems
            else "PROBLEMS"
        )
    )
    for problem in problems:
        say(f"    {problem}")

    say(
        f"\nLoad: random pages of the {len(pairs):,} sessions,"
        f" {WARMUP_SECONDS:g} s warm-up, then {options.seconds:g} s measured"
    )
    say(f"  before: {uptime()}")

    def load(seconds: float) -> WrkResult:
        return run_wrk(server.port, pairs_file, seconds, options.connections)

    load(WARMUP_SECONDS)
    cpu_before, wait_before = server.workers_time()
    result = load(options.seconds)
    cpu_after, wait_after = server.workers_time()
    workers_cpu, workers_wait = cpu_after - cpu_before, wait_after - wait_before
    say(f"  after:  {uptime()}")
    # Read before stopping: stopping interrupts the requests still queued, and logs them.
    gunicorn_errors = [
        line
        for line in log_tail(server.log_path, 200).splitlines()
        if "Traceback" in line or "ERROR" in line
    ]
    server.stop()

    say(f"\nResults (wrk (1 thread, {options.connections} connections, bench/status_page.lua))")
    say(f"  requests/s    {result.rps:8.1f}   ({result.requests:,} in {result.seconds:.1f} s)")
    say(
        f"  latency ms    p50 {result.p50_ms:.1f}   p95 {result.p95_ms:.1f}"
        f"   p99 {result.p99_ms:.1f}   max {result.max_ms:.1f}"
    )
    say(
        f"  errors        {result.error_count}"
        + (f"  {dict(result.errors)}" if result.errors else "")
    )
    say(f"  queries/page  {' / '.join(str(page.count) for page in pages)} (1 / 10 / 200 events)")
    if result.requests and workers_cpu > 0:
        window = WORKERS * result.seconds
        say(
            f"  workers       of {window:.0f} s ({WORKERS} x {result.seconds:.0f} s): on a CPU"
            f" {workers_cpu:.1f} s ({100 * workers_cpu / window:.0f}%), runnable but waiting for"
            f" a CPU {workers_wait:.1f} s ({100 * workers_wait / window:.0f}%)"
        )
        say(
            f"  CPU/request   {1000 * workers_cpu / result.requests:.2f} ms in the workers;"
            f" load generator {result.generator_cpu_seconds:.1f} s in all"
        )
        say(
            f"  ceiling       {WORKERS} idle cores / CPU per request ="
            f" {WORKERS * result.requests / workers_cpu:.0f} requests/s at most"
        )
    if gunicorn_errors:
        say(f"  gunicorn log: {len(gunicorn_errors)} error lines, e.g. {gunicorn_errors[0]}")
    say(f"  machine       {uptime()}")

    rate_ok = result.rps >= TARGET_RPS
    clean = result.error_count == 0 and not problems and not gunicorn_errors
    say("\nTargets")
    say(f"  {verdict(rate_ok)}  {result.rps:.0f} requests/s (target >= {TARGET_RPS:.0f})")
    say(
        f"  {verdict(queries_ok)}  queries per page"
        f" {' / '.join(str(page.count) for page in pages)} for 1 / 10 / 200 events"
        f" (target: equal and <= {MAX_QUERIES}; up to {max(counts)} on any sampled case)"
    )
    say(
        f"  {verdict(clean)}  every response 200 with its case ({result.error_count} errors,"
        f" {len(problems)} bad sample pages, {len(gunicorn_errors)} error lines in gunicorn's log)"
    )
    return rate_ok and queries_ok and clean


def close_connections() -> None:
    from django.db import connections

    connections.close_all()


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    if shutil.which("wrk") is None:
        say(WRK_MISSING)
        return 2
    return run_benchmark("bench-status-page-", lambda w, c: run(options, w, c), keep=options.keep)


if __name__ == "__main__":
    sys.exit(main())
