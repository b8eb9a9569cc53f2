"""Fault benchmark: what customers see when parts fail, and proof that nothing they wrote is
lost or duplicated.

Run with ``.venv/bin/python bench/faults.py`` (``--help`` for the options; about 4 minutes).

Everything runs on loopback in a fresh temporary folder: a private ``redis-server`` started on
a free port without persistence (the broker and the cache; the machine's Redis is never
touched), an SMTP sink (aiosmtpd, its own process, one line per accepted message), the
database (SQLite there; with ``DATABASE_URL`` a throwaway PostgreSQL database
``<name>_bench_faults``, dropped at the end), ``gunicorn`` with 2 workers in production mode,
a real ``celery worker`` and ``celery beat``. Traffic runs the whole time:

- readers: the home page, search (Spanish, typos included), articles, case status pages
  (with the case's session) and the notices feed;
- customers who write: open cases through the contact form, post messages on their cases,
  vote on articles, subscribe to notices (each from its own loopback address, as distinct
  customers are, so the per-address rate limits do not refuse them);
- a staff member who replies to cases on the desk (the customer gets an update email) and
  publishes an announcement at the start of each phase (an email to every subscriber);
- a monitor asking ``/healthz`` every second.

Faults, one after another: (a) the worker is SIGKILLed and restarted; (b) redis-server is
killed (everything it held is lost: queued tasks, cache, rate-limit windows) and started again
30 s later; (c) the search index folder is deleted and rebuilt with ``manage.py
rebuild_search_index``. For each phase the benchmark prints what users saw: requests, errors
(answers other than 2xx/3xx, socket errors), degraded search answers (from the database),
latency, the writes acknowledged and the emails delivered.

Then traffic stops, the outbox drains, and the beat's sweepers are run after a SIMULATED wait
(the timestamps of what is still unsent are moved back 11 minutes, past the sweepers' grace
periods, as the tests do) to recover what the faults left behind. Last, every write a client
got acknowledged is looked up in the database and every email in the SMTP sink.

Exit status: 0 when customers saw no error and nothing was lost or duplicated, 1 otherwise,
2 when the run itself failed.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import logging
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _support as support  # bench/_support.py, beside this file
from _support import say

SEED = 20_261_123
GUNICORN_WORKERS = 2
WORKER_CONCURRENCY = 2
REQUEST_TIMEOUT = 20.0
READ_PAUSE = 0.05  # seconds between two requests of one reader
WRITE_PAUSE = 0.4  # between two actions of one writing customer
STAFF_PAUSE = 1.5
HEALTH_EVERY = 1.0
SIMULATED_MINUTES = 11  # past SWEEP_GRACE (5), SENDING_TIMEOUT (10) and the others
DRAIN_IDLE_SECONDS = 5.0  # waiting for the outbox stops when the sink took nothing this long
DRAIN_TIMEOUT = 120.0
STAFF_USERNAME = "bench-agent"
STAFF_PASSWORD = "bench-agent-password-0451"
UNIQUE_WORD = "quetzalvrk"  # in the article published while the index is gone

READ_MIX = {"home": 2, "search": 4, "article": 3, "status": 2, "feed": 1}
WRITE_MIX = {"open case": 3, "case message": 3, "feedback": 2, "subscribe": 2}

CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
# The contact form redirects to the case it opened, or shows a live notice about the problem
# first (with the notice's id in a hidden field, sent back by a customer who writes anyway).
RECEIVED = re.compile(r"/contact/received/([^/]+)/")
INCIDENT_INPUT = re.compile(rb'name="incident" value="(\d+)"')


def clock(started: float) -> str:
    return f"t={time.time() - started:6.1f}s"


# -- the journal: every request, every acknowledgment -------------------------------------------


@dataclass
class Outcome:
    at: float  # time.time() when the request was sent
    seconds: float
    route: str
    status: int  # 0: no answer (socket error)
    error: str = ""  # why it counts as an error, "" when it does not
    degraded: bool = False  # a search answered from the database


@dataclass
class Phase:
    name: str
    start: float
    end: float = 0.0


class Journal:
    """What the clients did and were told. Thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: list[Outcome] = []
        self.acked: dict[str, dict[str, str]] = defaultdict(dict)  # kind -> token -> detail
        self.unsure: dict[str, set[str]] = defaultdict(set)  # kind -> tokens (error shown)
        self.attempts: Counter = Counter()  # (phase-less) writes tried, per kind
        self.health: list[tuple[float, int, str, dict]] = []  # at, HTTP status, state, checks
        self.acked_at: list[tuple[float, str]] = []  # at, kind
        self.counter = itertools.count(1)

    def token(self) -> str:
        with self.lock:
            return f"fx{next(self.counter):05d}q"  # no hyphen: never taken for a case reference

    def record(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def ack(self, kind: str, token: str, detail: str = "") -> None:
        with self.lock:
            self.acked[kind][token] = detail
            self.acked_at.append((time.time(), kind))

    def not_acked(self, kind: str, token: str) -> None:
        with self.lock:
            self.unsure[kind].add(token)

    def tried(self, kind: str) -> None:
        with self.lock:
            self.attempts[kind] += 1


# -- a visitor: one browser, its cookies and its loopback address --------------------------------


@dataclass
class Response:
    status: int
    body: bytes = b""
    location: str = ""
    error: str = ""


class Visitor:
    def __init__(self, port: int, journal: Journal, address: str = "127.0.0.1") -> None:
        self.port = port
        self.journal = journal
        self.address = address
        self.cookies: dict[str, str] = {}

    def request(
        self,
        route: str,
        method: str,
        path: str,
        form: dict | None = None,
        *,
        expect: Callable[[Response], str] | None = None,
        degraded_marker: bytes = b"",
    ) -> Response:
        """Send one request and record its outcome; ``expect`` returns why an answer that is
        not an HTTP error is still wrong ("" when it is right)."""
        headers = {
            "Host": "127.0.0.1",
            "User-Agent": "Mozilla/5.0 (bench/faults.py)",
            "Accept-Encoding": "identity",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        at, started = time.time(), time.perf_counter()
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT, source_address=(self.address, 0)
        )
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            response = Response(answer.status, answer.read(), answer.getheader("Location", ""))
            for value in answer.headers.get_all("Set-Cookie") or []:
                self._keep_cookie(value)
        except (OSError, http.client.HTTPException) as error:
            response = Response(0, error=f"socket {type(error).__name__}")
        finally:
            connection.close()
        if not response.error and not 200 <= response.status < 400:
            response.error = f"HTTP {response.status}"
        if not response.error and expect is not None:
            response.error = expect(response)
        self.journal.record(
            Outcome(
                at=at,
                seconds=time.perf_counter() - started,
                route=route,
                status=response.status,
                error=response.error,
                degraded=bool(degraded_marker) and degraded_marker in response.body,
            )
        )
        return response

    def get(self, route: str, path: str, **options) -> Response:
        return self.request(route, "GET", path, **options)

    def post(self, route: str, path: str, form: dict, page: Response, **options) -> Response:
        token = CSRF_INPUT.search(page.body)
        csrf = token.group(1).decode() if token else self.cookies.get("csrftoken", "")
        return self.request(route, "POST", path, {"csrfmiddlewaretoken": csrf, **form}, **options)

    def _keep_cookie(self, header: str) -> None:
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            if morsel["max-age"] == "0" or not morsel.value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value


# -- traffic -----------------------------------------------------------------------------------


@dataclass
class SiteData:
    article_paths: list[str]
    case_sessions: list[tuple[str, str]]  # (session key, reference) of the customers' cases
    desk_cases: list[str]  # references the staff member replies on
    reason_ids: list[int]
    subscribers: int
    degraded_marker: bytes


class Traffic:
    """The reader, writer, staff and monitor threads."""

    # Seconds between two requests of one reader, two actions of one customer, two desk
    # replies (bench/soak.py makes them a quieter day's).
    read_pause = READ_PAUSE
    write_pause = WRITE_PAUSE
    staff_pause = STAFF_PAUSE

    def __init__(self, port: int, data: SiteData, journal: Journal, options) -> None:
        self.port = port
        self.data = data
        self.journal = journal
        self.options = options
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.addresses = itertools.count(1)
        self.address_lock = threading.Lock()
        self.crashes: list[str] = []

    def start(self) -> None:
        loops = [(self.reader, n) for n in range(self.options.readers)]
        loops += [(self.customer, n) for n in range(self.options.writers)]
        loops += [(self.staff, 0), (self.monitor, 0)]
        for target, number in loops:
            thread = threading.Thread(
                target=self._guarded, args=(target, number), daemon=True, name=target.__name__
            )
            thread.start()
            self.threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=REQUEST_TIMEOUT * 3)

    def _guarded(self, target: Callable[[random.Random], None], number: int) -> None:
        try:
            target(random.Random(f"{SEED}-{target.__name__}-{number}"))
        except Exception as error:  # a bug of the benchmark, not of the site: say so
            self.crashes.append(f"{target.__name__} {number}: {error!r}")
            raise

    def _new_address(self) -> str:
        """A loopback address of its own (127.1.0.1, 127.1.0.2, ...): one customer each."""
        with self.address_lock:
            n = next(self.addresses)
        return f"127.1.{n // 250}.{n % 250 + 1}"

    # readers

    def reader(self, rng: random.Random) -> None:
        routes, weights = zip(*READ_MIX.items(), strict=True)
        visitor = Visitor(self.port, self.journal)
        while not self.stop.is_set():
            route = rng.choices(routes, weights)[0]
            if route == "home":
                visitor.get("home", rng.choice(("/es/", "/es/", "/en/")))
            elif route == "search":
                query = rng.choice(support.SEARCH_QUERIES)
                visitor.get(
                    "search",
                    f"/es/search/?q={quote(query)}",
                    degraded_marker=self.data.degraded_marker,
                )
            elif route == "article":
                visitor.get("article", rng.choice(self.data.article_paths))
            elif route == "status":
                key, reference = rng.choice(self.data.case_sessions)
                customer = Visitor(self.port, self.journal)
                customer.cookies["sessionid"] = key
                customer.get("status", f"/es/cases/{reference}/", expect=_contains(reference))
            else:
                visitor.get("feed", "/es/notices/feed.atom", expect=_contains("<feed"))
            self.stop.wait(self.read_pause)

    # customers who write

    def customer(self, rng: random.Random) -> None:
        actions = {
            "open case": self.open_case,
            "case message": self.case_message,
            "feedback": self.feedback,
            "subscribe": self.subscribe,
        }
        names, weights = zip(*WRITE_MIX.items(), strict=True)
        while not self.stop.is_set():
            name = rng.choices(names, weights)[0]
            self.journal.tried(name)
            actions[name](rng)
            self.stop.wait(self.write_pause)

    def open_case(self, rng: random.Random) -> None:
        visitor = Visitor(self.port, self.journal, self._new_address())
        token = self.journal.token()
        page = visitor.get("contact form", "/es/contact/")
        if page.error:
            self.journal.not_acked("case", token)
            return
        form = {
            "reason": str(rng.choice(self.data.reason_ids)),
            "subject": f"Pedido sin llegar {token}",
            "description": f"Sigue en reparto desde hace días (nota {token}).",
            "name": "Cliente de prueba",
            "email": f"{token}@example.com",
            "website": "",
        }

        def opened(response: Response) -> str:
            return "" if RECEIVED.search(response.location) else "no case opened"

        def opened_or_told(response: Response) -> str:
            return "" if INCIDENT_INPUT.search(response.body) else opened(response)

        answer = visitor.post("open case", "/es/contact/", form, page, expect=opened_or_told)
        shown = None if answer.error else INCIDENT_INPUT.search(answer.body)
        if shown:  # a live notice was shown instead; the customer writes about something else
            form["incident"] = shown.group(1).decode()
            answer = visitor.post("open case", "/es/contact/", form, answer, expect=opened)
        received = None if answer.error else RECEIVED.search(answer.location)
        if received:
            self.journal.ack("case", token, received.group(1))
        else:
            self.journal.not_acked("case", token)

    def case_message(self, rng: random.Random) -> None:
        key, reference = rng.choice(self.data.case_sessions)
        visitor = Visitor(self.port, self.journal)
        visitor.cookies["sessionid"] = key
        token = self.journal.token()
        page = visitor.get("status", f"/es/cases/{reference}/", expect=_contains(reference))
        if page.error:
            self.journal.not_acked("message", token)
            return
        answer = visitor.post(
            "case message",
            f"/es/cases/{reference}/message/",
            {"body": f"Mensaje {token}: sigo esperando noticias."},
            page,
            expect=_redirects_to(f"/cases/{reference}/"),
        )
        if answer.error:
            self.journal.not_acked("message", token)
        else:
            self.journal.ack("message", token, reference)

    def feedback(self, rng: random.Random) -> None:
        visitor = Visitor(self.port, self.journal, self._new_address())
        token = self.journal.token()
        path = rng.choice(self.data.article_paths)
        page = visitor.get("article", path)
        if page.error:
            self.journal.not_acked("feedback", token)
            return
        answer = visitor.post(
            "feedback",
            f"{path}feedback/",
            {"helpful": rng.choice(("yes", "no")), "comment": token},
            page,
            expect=_redirects_to(path),
        )
        if answer.error:
            self.journal.not_acked("feedback", token)
        else:
            self.journal.ack("feedback", token, path)

    def subscribe(self, rng: random.Random) -> None:
        visitor = Visitor(self.port, self.journal, self._new_address())
        token = self.journal.token()
        email = f"{token}@example.com"
        page = visitor.get("subscribe form", "/es/notices/subscribe/")
        if page.error:
            self.journal.not_acked("subscription", email)
            return

        def confirmed_sent(response: Response) -> str:
            # The answer names the address and shows no form (the form is shown on errors).
            if email.encode() in response.body and b'name="email"' not in response.body:
                return ""
            return "the form came back"

        answer = visitor.post(
            "subscribe",
            "/es/notices/subscribe/",
            {"email": email, "language": rng.choice(("es", "es", "en")), "website": ""},
            page,
            expect=confirmed_sent,
        )
        if answer.error:
            self.journal.not_acked("subscription", email)
        else:
            self.journal.ack("subscription", email)

    # staff

    def staff(self, rng: random.Random) -> None:
        visitor = Visitor(self.port, self.journal)
        page = visitor.get("desk", "/admin/login/?next=/es/desk/")
        login = visitor.post(
            "desk",
            "/admin/login/?next=/es/desk/",
            {"username": STAFF_USERNAME, "password": STAFF_PASSWORD, "next": "/es/desk/"},
            page,
            expect=_redirects_to("/es/desk/"),
        )
        if login.error:
            self.crashes.append(f"staff login failed: {login.error}")
            return
        while not self.stop.wait(self.staff_pause):
            reference = rng.choice(self.data.desk_cases)
            token = self.journal.token()
            self.journal.tried("staff reply")
            page = visitor.get("desk", f"/es/desk/cases/{reference}/", expect=_contains(reference))
            if page.error:
                self.journal.not_acked("reply", token)
                continue
            answer = visitor.post(
                "desk reply",
                f"/es/desk/cases/{reference}/reply/",
                {"body": f"Respuesta {token}: ya lo estamos revisando.", "status": ""},
                page,
                expect=_redirects_to(f"/desk/cases/{reference}/"),
            )
            if answer.error:
                self.journal.not_acked("reply", token)
            else:
                self.journal.ack("reply", token, reference)

    # monitor

    def monitor(self, rng: random.Random) -> None:
        import json

        while not self.stop.wait(HEALTH_EVERY):
            at = time.time()
            try:
                status, body = support.http_get(self.port, "/healthz")
                report = json.loads(body)
                state = report.get("status", "?")
                checks = {name: check["state"] for name, check in report["checks"].items()}
            except (OSError, ValueError, KeyError) as error:
                status, state, checks = 0, f"no answer ({type(error).__name__})", {}
            with self.journal.lock:
                self.journal.health.append((at, status, state, checks))


def _contains(text: str) -> Callable[[Response], str]:
    needle = text.encode()
    return lambda response: "" if needle in response.body else f"{text!r} missing"


def _redirects_to(suffix: str) -> Callable[[Response], str]:
    def check(response: Response) -> str:
        if response.status in (302, 303) and response.location.split("#")[0].endswith(suffix):
            return ""
        return f"HTTP {response.status} to {response.location or '-'}, not to …{suffix}"

    return check


# -- setup -------------------------------------------------------------------------------------


@dataclass
class Site:
    workdir: Path
    redis: support.PrivateRedis
    sink: support.SinkProcess
    server: support.Gunicorn
    env: dict[str, str]
    worker: support.CeleryProcess | None = None
    beat: support.CeleryProcess | None = None
    database: str = ""
    dead_workers: list[support.CeleryProcess] = field(default_factory=list)


def prepare(workdir: Path, cleanups: list[Callable[[], None]]) -> Site:
    var_dir = workdir / "var"
    redis = support.PrivateRedis(workdir)
    redis.start()
    cleanups.append(redis.stop)
    sink = support.SinkProcess(workdir)
    sink.start()
    cleanups.append(sink.stop)
    os.environ.update(support.production_settings(var_dir, "faults"))
    os.environ.pop("REDIS_CACHE_URL", None)  # the cache is the private server's next database
    os.environ.update(
        {
            "REDIS_URL": redis.url(0),
            "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
            # Customer update emails one minute after the staff reply instead of three, so
            # some leave during the run.
            "CASE_UPDATE_COALESCE_MINUTES": "1",
        }
    )
    database = support.use_database("bench_faults", var_dir, cleanups)
    server = support.Gunicorn(workdir, GUNICORN_WORKERS)
    return Site(workdir, redis, sink, server, dict(os.environ), database=database)


def make_data(options) -> SiteData:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.db import transaction
    from django.utils import timezone, translation
    from django.utils.translation import gettext

    from cases.models import ContactReason
    from kb.models import Article
    from kb.services import rebuild_search_index
    from notifications.models import Subscriber

    started = time.perf_counter()
    support.load_demo_content()
    support.add_generated_articles(options.articles, SEED)
    indexed = rebuild_search_index()
    opened = support.open_cases(options.cases, SEED)
    keys = support.grant_sessions([case_id for case_id, _, _ in opened])
    half = len(opened) // 2
    now = timezone.now()
    with transaction.atomic():
        Subscriber.objects.bulk_create(
            [
                Subscriber(
                    email=f"abonado{n:04d}@example.com",
                    language="es" if n % 3 else "en",
                    confirmed_at=now,
                )
                for n in range(options.subscribers)
            ]
        )
        agent = get_user_model().objects.create_user(
            STAFF_USERNAME, "agente@example.com", STAFF_PASSWORD, is_staff=True
        )
        agent.user_permissions.add(
            Permission.objects.get(codename="change_case", content_type__app_label="cases")
        )
    with translation.override("es"):
        marker = gettext(
            "Search is working in a simpler mode right now; results may be less complete."
        )
    say(
        f"  {Article.objects.count():,} articles ({indexed:,} in the Whoosh index),"
        f" {len(opened)} cases (half for customers with a session, half for the desk),"
        f" {options.subscribers} confirmed subscribers, a staff member; "
        f"{time.perf_counter() - started:.0f} s"
    )
    return SiteData(
        article_paths=[p for p in support.published_article_paths(300, SEED) if "/es/" in p],
        case_sessions=[
            (key, ref) for key, (_, ref, _) in zip(keys[:half], opened[:half], strict=True)
        ],
        desk_cases=[reference for _, reference, _ in opened[half:]],
        reason_ids=list(
            ContactReason.objects.filter(
                parent__isnull=False, active=True, is_status_inquiry=False
            ).values_list("pk", flat=True)
        ),
        subscribers=options.subscribers,
        degraded_marker=marker.encode(),
    )


def publish_announcement(number: int) -> int:
    """What staff do from the notices desk: an incident notice, mailed to every subscriber.
    Returns the id of its mailing."""
    from notifications.models import Announcement, Dispatch
    from notifications.services.announcements import publish_announcement as publish

    announcement = publish(
        announcement=Announcement(
            kind=Announcement.Kind.INCIDENT,
            severity=Announcement.Severity.WARNING,
            title_es=f"Incidencia de prueba {number}: los pagos van lentos",
            title_en=f"Test incident {number}: payments are slow",
            body_es="Algunos pagos tardan más de lo normal. **Ya estamos en ello.**",
            body_en="Some payments take longer than usual. **We are on it.**",
        ),
        actor=None,
    )
    return Dispatch.objects.get(announcement=announcement, update=None).pk


def publish_article_while_index_is_gone() -> int:
    from kb.models import Article, Category
    from kb.services import publish_article

    article = Article(
        title=f"Cómo canjear el cupón {UNIQUE_WORD}",
        slug=f"cupon-{UNIQUE_WORD}",
        summary=f"Qué hacer con el cupón {UNIQUE_WORD} al pagar.",
        body=f"Escribe el código {UNIQUE_WORD} en la casilla del cupón antes de pagar.\n",
        language="es",
        translation_key=f"cupon-{UNIQUE_WORD}",
        category=Category.objects.order_by("pk").first(),
        keywords=UNIQUE_WORD,
    )
    return publish_article(article=article, actor=None).pk


def outbox_counts() -> Counter:
    from django.db.models import Count

    from notifications.models import OutgoingMessage

    return Counter(
        dict(
            OutgoingMessage.objects.values_list("status")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("status", "n")
        )
    )


def wait_for_outbox(sink: support.SinkProcess, timeout: float, *, patient: bool = False) -> bool:
    """Until every outbox row is sent or failed and the sink has been idle a moment; unless
    ``patient``, give up once nothing has moved for a few seconds (what is left then waits
    for the sweepers)."""
    deadline = time.monotonic() + timeout
    last_count, last_change = sink.poll(), time.monotonic()
    while time.monotonic() < deadline:
        count = sink.poll()
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        counts = outbox_counts()
        idle = time.monotonic() - last_change
        if counts["queued"] + counts["sending"] == 0 and idle >= 1.0:
            return True
        if not patient and idle >= DRAIN_IDLE_SECONDS and counts["queued"] + counts["sending"]:
            return False  # what is left waits for the sweepers
        time.sleep(0.25)
    return False


# -- faults ------------------------------------------------------------------------------------


class Run:
    def __init__(self, site: Site, data: SiteData, journal: Journal, options) -> None:
        self.site = site
        self.data = data
        self.journal = journal
        self.options = options
        self.phases: list[Phase] = []
        self.events: list[str] = []
        self.started = time.time()
        self.in_flight_at_kill: set[int] = set()
        self.dispatches: list[int] = []
        self.problems: list[str] = []  # each fails the run
        self.warnings: list[str] = []  # shown, but the customers lost nothing by them

    def event(self, text: str) -> None:
        line = f"  {clock(self.started)}  {text}"
        self.events.append(line)
        say(line)

    def phase(self, name: str, seconds: float | None = None) -> Phase:
        if self.phases and not self.phases[-1].end:
            self.phases[-1].end = time.time()
        phase = Phase(name, time.time())
        self.phases.append(phase)
        if seconds:
            time.sleep(seconds)
        return phase

    def close_phase(self) -> None:
        if self.phases and not self.phases[-1].end:
            self.phases[-1].end = time.time()

    def announce(self, number: int, why: str) -> None:
        self.dispatches.append(publish_announcement(number))
        self.event(f"staff publishes announcement {number} ({why})")

    def worker_fault(self) -> None:
        from notifications.models import OutgoingMessage

        self.phase("(a) worker killed")
        self.in_flight_at_kill = set(
            OutgoingMessage.objects.filter(status=OutgoingMessage.Status.SENDING).values_list(
                "pk", flat=True
            )
        )
        counts = outbox_counts()
        self.site.worker.kill()
        self.site.dead_workers.append(self.site.worker)
        self.event(
            f"(a) SIGKILL to the Celery worker's process group (outbox rows sending"
            f" {counts['sending']}, queued {counts['queued']})"
        )
        time.sleep(self.options.worker_down)
        self.site.worker = support.CeleryProcess(self.site.workdir / "worker-2.log", self.site.env)
        ready = self.site.worker.start()
        self.event(f"(a) a new worker is ready ({ready:.1f} s after its start)")
        self.phase("(a) after the restart", self.options.phase)

    def redis_fault(self) -> None:
        self.phase("(b) Redis down")
        self.site.redis.kill()
        self.event("(b) redis-server killed: the queued tasks, the cache and the rate-limit")
        self.event("    windows it held are gone (no persistence, as after a crash)")
        time.sleep(1.0)
        self.announce(2, "the broker is down")
        time.sleep(max(0.0, self.options.redis_down - 1.0))
        log = self.site.worker.log_path
        offset = log.stat().st_size
        self.site.redis.start()
        back = time.time()
        self.event(
            f"(b) redis-server started again on the same port, after {self.options.redis_down:g} s"
        )
        self.phase("(b) after Redis is back")
        worker = self.site.worker

        def reconnected_or_gone() -> str:
            if not worker.alive():
                return "gone"
            return "back" if b"Connected to redis" in log.read_bytes()[offset:] else ""

        try:
            outcome = support.wait_until(reconnected_or_gone, 60, "reconnection")
        except TimeoutError:
            outcome = "stuck"
        if outcome == "back":
            self.event(f"(b) the worker reconnected to the broker {time.time() - back:.1f} s later")
        elif outcome == "stuck":
            self.problems.append("the worker did not reconnect to Redis within 60 s")
            self.event("(b) the worker did NOT reconnect within 60 s")
        else:
            reason = next(
                (
                    line.strip()
                    for line in reversed(log.read_text(errors="replace").splitlines())
                    if "CRITICAL" in line
                ),
                "no CRITICAL line in its log",
            )
            self.warnings.append(
                f"the worker exited when its broker connection dropped: {reason[:200]}"
                " (a kombu bug when the connection is lost while tasks are unacknowledged,"
                " as with acks_late); restarted as a supervisor would"
            )
            self.event("(b) the worker had EXITED when Redis went away:")
            self.event(f"    {reason[:160]}")
            self.site.dead_workers.append(worker)
            self.site.worker = support.CeleryProcess(
                self.site.workdir / "worker-3.log", self.site.env
            )
            ready = self.site.worker.start()
            self.event(
                f"(b) a new worker started, as a supervisor (systemd Restart=always) would;"
                f" ready {ready:.1f} s later"
            )
        time.sleep(max(0.0, self.options.phase - (time.time() - back)))

    def index_fault(self) -> None:
        index_dir = Path(self.site.env["SEARCH_INDEX_DIR"])
        self.phase("(c) index deleted")
        shutil.rmtree(index_dir)
        self.event(f"(c) search index folder deleted ({index_dir})")
        self.announce(3, "the index is gone")
        publish_article_while_index_is_gone()
        self.event(f"(c) staff publishes an article about '{UNIQUE_WORD}' while the index is gone")
        time.sleep(self.options.index_down)
        self.phase("(c) rebuild")
        log = self.site.workdir / "rebuild.log"
        began = time.perf_counter()
        with log.open("wb") as output:
            finished = subprocess.run(
                [sys.executable, "manage.py", "rebuild_search_index"],
                cwd=support.PROJECT_DIR,
                env=self.site.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=600,
                check=False,
            )
        seconds = time.perf_counter() - began
        if finished.returncode:
            self.problems.append(f"rebuild_search_index failed: {support.log_tail(log, 5)}")
        self.event(
            f"(c) manage.py rebuild_search_index done in {seconds:.1f} s"
            f" (exit status {finished.returncode})"
        )
        self.phase("(c) after the rebuild", self.options.phase)

    def check_search_finds_new_article(self) -> str:
        status, body = support.http_get(self.site.server.port, f"/es/search/?q={UNIQUE_WORD}")
        degraded = self.data.degraded_marker in body
        found = f"cupon-{UNIQUE_WORD}".encode() in body
        if status == 200 and found and not degraded:
            return ""
        return f"HTTP {status}, article found {found}, degraded {degraded}"


# -- recovery ----------------------------------------------------------------------------------


def let_time_pass(minutes: int) -> int:
    """Move back the timestamps of what is still unsent or pending by ``minutes`` (as the
    tests do), so the beat's sweepers act as they would that much later. Returns the rows."""
    from datetime import timedelta

    from django.db.models import F

    from cases.models import Case, CaseLinkRequest
    from kb.models import IndexingState
    from kb.services.indexing import pending_index_updates
    from notifications.models import Dispatch, OutgoingMessage

    delta = timedelta(minutes=minutes)
    unsent = OutgoingMessage.objects.filter(
        status__in=[OutgoingMessage.Status.QUEUED, OutgoingMessage.Status.SENDING]
    )
    moved = unsent.count()
    for name in ("next_attempt_at", "sending_started_at", "requeued_at", "created_at"):
        unsent.filter(**{f"{name}__isnull": False}).update(**{name: F(name) - delta})
    Dispatch.objects.filter(status=Dispatch.Status.PLANNING).update(
        created_at=F("created_at") - delta
    )
    IndexingState.objects.filter(pk__in=pending_index_updates()).update(
        queued_at=F("queued_at") - delta
    )
    Case.objects.filter(update_pending_since__isnull=False).update(
        update_pending_since=F("update_pending_since") - delta
    )
    CaseLinkRequest.objects.update(
        created_at=F("created_at") - delta, next_attempt_at=F("next_attempt_at") - delta
    )
    return moved


def run_sweepers() -> dict[str, int]:
    """What the beat runs every minute or two (called here, in this process)."""
    from cases.services import requeue_case_link_requests, send_pending_updates
    from kb.services.indexing import sweep_pending_index_updates
    from notifications.services import announcements, outbox

    return {
        "outbox rows re-queued": outbox.requeue_stalled_messages(),
        "mailings resumed": announcements.resume_unfinished_dispatches(),
        "index updates re-queued": sweep_pending_index_updates(),
        "case update emails written": send_pending_updates(),
        "case link requests re-queued": requeue_case_link_requests(),
    }


def recover(site: Site, run: Run) -> list[str]:
    lines = []
    drained = wait_for_outbox(site.sink, DRAIN_TIMEOUT)
    counts = outbox_counts()
    lines.append(
        f"outbox after traffic stopped: {counts['sent']:,} sent, {counts['queued']} queued,"
        f" {counts['sending']} sending, {counts['failed']} failed"
        + ("" if drained else " (the rest waits for the sweepers)")
    )
    for attempt in range(1, 4):
        moved = let_time_pass(SIMULATED_MINUTES)
        swept = run_sweepers()
        lines.append(
            f"SIMULATED {SIMULATED_MINUTES} minutes passing ({moved} unsent rows moved back),"
            f" then the beat's sweepers: " + ", ".join(f"{what} {n}" for what, n in swept.items())
        )
        drained = wait_for_outbox(site.sink, DRAIN_TIMEOUT)
        counts = outbox_counts()
        if drained and not any(swept.values()):
            break
        if attempt == 3 and not drained:
            lines.append("the outbox did not drain after three simulated sweeps")
    counts = outbox_counts()
    lines.append(
        f"outbox now: {counts['sent']:,} sent, {counts['queued']} queued,"
        f" {counts['sending']} sending, {counts['failed']} failed"
    )
    return lines


# -- checks ------------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool
    text: str


def token_in(text: str) -> str:
    match = re.search(r"fx\d{5}q", text)
    return match.group(0) if match else ""


def count_check(name: str, acked: dict[str, str], unsure: set[str], stored: Counter) -> Check:
    missing = [token for token in acked if stored[token] == 0]
    duplicated = [token for token, n in stored.items() if n > 1]
    stored_unacked = [token for token in unsure if stored[token]]
    text = (
        f"acknowledged {len(acked)}: stored once {sum(1 for t in acked if stored[t] == 1)},"
        f" MISSING {len(missing)}, DUPLICATED {len(duplicated)};"
        f" refused with an error {len(unsure)} (of which stored anyway {len(stored_unacked)})"
    )
    if missing:
        text += f"; missing e.g. {missing[:3]}"
    if duplicated:
        text += f"; duplicated e.g. {duplicated[:3]}"
    return Check(name, not missing and not duplicated, text)


def verify(site: Site, run: Run, journal: Journal) -> list[Check]:
    from cases.models import Case, CaseEvent
    from kb.models import ArticleFeedback
    from notifications.models import OutgoingMessage, Subscriber
    from notifications.services.outbox import build_email

    checks = []
    cases = Case.objects.filter(subject__startswith="Pedido sin llegar fx")
    case_tokens = Counter(token_in(case.subject) for case in cases)
    case_check = count_check(
        "cases opened", journal.acked["case"], journal.unsure["case"], case_tokens
    )
    references = {token_in(case.subject): case.reference for case in cases}
    wrong = [t for t, ref in journal.acked["case"].items() if references.get(t, ref) != ref]
    if wrong:
        case_check.ok = False
        case_check.text += f"; {len(wrong)} answered with another case's reference"
    checks.append(case_check)

    messages = CaseEvent.objects.filter(
        kind=CaseEvent.Kind.CUSTOMER_MESSAGE, body__startswith="Mensaje fx"
    ).values_list("body", flat=True)
    checks.append(
        count_check(
            "case messages",
            journal.acked["message"],
            journal.unsure["message"],
            Counter(token_in(body) for body in messages),
        )
    )
    votes = ArticleFeedback.objects.filter(comment__startswith="fx").values_list(
        "comment", flat=True
    )
    checks.append(
        count_check(
            "feedback votes",
            journal.acked["feedback"],
            journal.unsure["feedback"],
            Counter(token_in(comment) for comment in votes),
        )
    )
    subscribers = Subscriber.objects.filter(email__startswith="fx").values_list("email", flat=True)
    checks.append(
        count_check(
            "subscriptions",
            journal.acked["subscription"],
            journal.unsure["subscription"],
            Counter(subscribers),
        )
    )
    replies = CaseEvent.objects.filter(
        kind=CaseEvent.Kind.PUBLIC_REPLY, body__startswith="Respuesta fx"
    ).values_list("body", flat=True)
    checks.append(
        count_check(
            "staff replies",
            journal.acked["reply"],
            journal.unsure["reply"],
            Counter(token_in(body) for body in replies),
        )
    )

    # Emails: every row of the outbox is sent, and the sink took each Message-ID exactly once.
    site.sink.poll()
    accepted = Counter(message_id for _, _, message_id in site.sink.accepted)
    rows = list(OutgoingMessage.objects.select_related("dispatch").order_by("pk"))
    ids = {row.pk: build_email(row).extra_headers["Message-ID"] for row in rows}
    statuses = Counter(row.status for row in rows)
    unsent = [row.pk for row in rows if row.status != OutgoingMessage.Status.SENT]
    missing = [pk for pk, message_id in ids.items() if accepted[message_id] == 0]
    duplicated = {pk for pk, message_id in ids.items() if accepted[message_id] > 1}
    unknown = set(accepted) - set(ids.values())
    explained = duplicated & run.in_flight_at_kill
    text = (
        f"outbox rows {len(rows):,} ({', '.join(f'{s} {n:,}' for s, n in statuses.items())});"
        f" SMTP sink accepted {sum(accepted.values()):,} messages, {len(accepted):,} distinct"
        f" Message-IDs; rows never delivered {len(missing)}, delivered twice or more"
        f" {len(duplicated)}, messages the outbox does not know {len(unknown)}"
    )
    if duplicated:
        text += (
            f"; of the duplicates, {len(explained)} were being sent at the worker's SIGKILL (the"
            " documented limit: the server accepted them in the instant before the kill)"
        )
    checks.append(
        Check("emails", not unsent and not missing and not duplicated and not unknown, text)
    )

    by_key = {row.dedupe_key: row for row in rows}
    case_ids = dict(cases.values_list("reference", "pk"))
    no_mail = [
        token
        for token, reference in journal.acked["case"].items()
        if f"case:{case_ids.get(reference)}:opened" not in by_key
    ]
    subscription_mail = Counter(
        row.recipient for row in rows if row.kind == OutgoingMessage.Kind.SUBSCRIPTION
    )
    no_confirmation = [e for e in journal.acked["subscription"] if subscription_mail[e] != 1]
    untold = Case.objects.filter(update_pending_since__isnull=False).count()
    replied = {reference for reference in journal.acked["reply"].values()}
    updates = Counter(
        row.recipient
        for row in rows
        if row.kind == OutgoingMessage.Kind.CASE and ":update:" in row.dedupe_key
    )
    replied_emails = set(
        Case.objects.filter(reference__in=replied).values_list("customer_email", flat=True)
    )
    no_update = [email for email in replied_emails if not updates[email]]
    checks.append(
        Check(
            "emails caused",
            not no_mail and not no_confirmation and not untold and not no_update,
            f"opened cases without their email {len(no_mail)}; subscriptions without exactly one"
            f" confirmation {len(no_confirmation)}; cases replied to on the desk"
            f" {len(replied)}, of which never emailed an update {len(no_update)}; cases"
            f" still waiting to be told {untold}",
        )
    )
    mailings = []
    for dispatch_id in run.dispatches:
        rows_of = OutgoingMessage.objects.filter(dispatch_id=dispatch_id)
        sent = rows_of.filter(status=OutgoingMessage.Status.SENT).count()
        mailings.append((rows_of.count(), sent))
    checks.append(
        Check(
            "announcements",
            all(count == sent == run.data.subscribers for count, sent in mailings),
            f"{run.data.subscribers} subscribers each: "
            + "; ".join(
                f"mailing {number}: {count} rows, {sent} sent"
                for number, (count, sent) in enumerate(mailings, start=1)
            ),
        )
    )
    problem = run.check_search_finds_new_article()
    checks.append(
        Check(
            "search",
            not problem,
            "the article published while the index was gone is found after the rebuild"
            + (f": NO ({problem})" if problem else ""),
        )
    )
    return checks


# -- report ------------------------------------------------------------------------------------


def phase_table(run: Run, journal: Journal, sink: support.SinkProcess) -> tuple[list[str], int]:
    """Lines of the per-phase table, and the number of errors customers saw in all."""
    sink.poll()
    lines = [
        f"  {'phase':<24} {'secs':>5} {'requests':>8} {'errors':>6} {'degraded':>8}"
        f" {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'writes ok':>9} {'emails':>6}"
        f"  healthz"
    ]
    total_errors = 0
    details = []
    for phase in run.phases:
        inside = [o for o in journal.outcomes if phase.start <= o.at < phase.end]
        errors = [o for o in inside if o.error]
        total_errors += len(errors)
        latencies = [o.seconds * 1000 for o in inside]
        acked = sum(1 for at, _ in journal.acked_at if phase.start <= at < phase.end)
        emails = sum(1 for at, _, _ in sink.accepted if phase.start <= at < phase.end)
        health = Counter(
            state if status else "no answer"
            for at, status, state, _ in journal.health
            if phase.start <= at < phase.end
        )
        lines.append(
            f"  {phase.name:<24} {phase.end - phase.start:>5.1f} {len(inside):>8}"
            f" {len(errors):>6} {sum(o.degraded for o in inside):>8}"
            f" {support.percentile(latencies, 50):>7.0f} {support.percentile(latencies, 99):>7.0f}"
            f" {max(latencies, default=0):>7.0f} {acked:>9} {emails:>6}"
            f"  {', '.join(f'{s} {n}' for s, n in health.most_common())}"
        )
        if errors:
            kinds = Counter(f"{o.route}: {o.error}" for o in errors)
            details.append(
                f"    {phase.name}: " + "; ".join(f"{k} x{n}" for k, n in kinds.most_common(6))
            )
        degraded_checks = Counter(
            f"{name} {state}"
            for at, _, _, checks in journal.health
            if phase.start <= at < phase.end
            for name, state in checks.items()
            if state != "ok"
        )
        if degraded_checks:
            details.append(
                f"    {phase.name}: /healthz said "
                + ", ".join(f"{k} x{n}" for k, n in degraded_checks.most_common())
            )
    if details:
        lines.append("  details:")
        lines.extend(details)
    return lines, total_errors


def route_table(journal: Journal) -> list[str]:
    by_route: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in journal.outcomes:
        by_route[outcome.route].append(outcome)
    lines = [f"  {'route':<15} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7}"]
    for route, outcomes in sorted(by_route.items()):
        latencies = [o.seconds * 1000 for o in outcomes]
        lines.append(
            f"  {route:<15} {len(outcomes):>8} {sum(1 for o in outcomes if o.error):>6}"
            f" {support.percentile(latencies, 50):>7.0f} {support.percentile(latencies, 99):>7.0f}"
        )
    return lines


def server_log_summary(site: Site) -> tuple[int, list[str]]:
    """500s logged by Django (must be none), and what was logged about the faults."""
    try:
        text = site.server.log_path.read_text(errors="replace")
    except OSError:
        return 0, []
    server_errors = text.count("Internal Server Error")
    notes = [
        f"tasks the web could not queue (broker down; the sweepers re-queue them):"
        f" {text.count('Could not queue')}",
        f"cache warnings (at most one per process every 10 s):"
        f" {text.count('cache unavailable')}, rate limits not checked:"
        f" {text.count('not checked: the cache is unavailable')}",
        f"search answered from the database: {text.count('answering from the database')} lines",
        f"Django's 'Internal Server Error' lines: {server_errors}",
    ]
    return server_errors, notes


# -- main --------------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phase", type=float, default=15.0, help="seconds of each calm phase")
    parser.add_argument("--worker-down", type=float, default=5.0, help="seconds (5)")
    parser.add_argument("--redis-down", type=float, default=30.0, help="seconds (30)")
    parser.add_argument("--index-down", type=float, default=10.0, help="seconds (10)")
    parser.add_argument("--readers", type=int, default=4, help="reading clients (4)")
    parser.add_argument("--writers", type=int, default=3, help="customers writing (3)")
    parser.add_argument("--articles", type=int, default=300, help="generated articles (300)")
    parser.add_argument("--cases", type=int, default=60, help="cases made beforehand (60)")
    parser.add_argument("--subscribers", type=int, default=200, help="confirmed (200)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args(argv)
    if min(options.phase, options.worker_down, options.redis_down, options.index_down) <= 0:
        parser.error("the durations must be positive")
    if options.readers < 1 or options.writers < 1 or options.cases < 2:
        parser.error("--readers, --writers >= 1, --cases >= 2")
    return options


def run(options: argparse.Namespace, workdir: Path, cleanups: list[Callable[[], None]]) -> bool:
    say("Fault benchmark: the site, a Celery worker and beat, and customers, on a private")
    say(f"Redis; three faults one after another. Folder: {workdir}")
    say(f"  {os.cpu_count()} CPUs; {support.uptime()}")
    site = prepare(workdir, cleanups)
    say(f"  database: {site.database}")
    say(
        f"  redis-server (private, no persistence) on 127.0.0.1:{site.redis.port}; SMTP sink on"
        f" 127.0.0.1:{site.sink.port}"
    )
    support.setup_django()
    # This process publishes announcements and reads through the app while Redis is down: its
    # warnings about that are expected (gunicorn's log is summed up instead).
    logging.getLogger().setLevel(logging.ERROR)
    logging.getLogger("foundation.queueing").setLevel(logging.CRITICAL)
    say("\nData")
    data = make_data(options)
    from django.db import connections

    connections.close_all()

    site.worker = support.CeleryProcess(workdir / "worker-1.log", site.env)
    site.beat = support.CeleryProcess(workdir / "beat.log", site.env, beat=True)
    cleanups.append(lambda: site.worker and site.worker.stop())
    cleanups.append(site.beat.stop)
    cleanups.append(site.server.stop)
    site.worker.start()
    site.beat.start()
    from foundation.tasks import record_worker_heartbeat

    record_worker_heartbeat.delay()  # beat's first one comes a minute later: /healthz says ok
    site.server.start()
    say(
        f"  gunicorn helpcenter.wsgi -w {GUNICORN_WORKERS} on 127.0.0.1:{site.server.port}"
        f" (DEBUG=0), celery worker (concurrency {WORKER_CONCURRENCY}), celery beat"
    )
    if not wait_for_outbox(site.sink, 120, patient=True):
        say("  note: the emails of the data set were not all sent before the traffic started")
    say(f"  emails of the data set delivered: {site.sink.poll()}")

    journal = Journal()
    traffic = Traffic(site.server.port, data, journal, options)
    runner = Run(site, data, journal, options)
    say(
        f"\nTraffic: {options.readers} readers (home, search, articles, status pages, feed),"
        f" {options.writers} customers writing (cases, messages, votes, subscriptions), a staff"
        " member replying on the desk, /healthz every second"
    )
    say(f"  {support.uptime()}")
    say("\nTimeline")
    traffic.start()
    runner.event("traffic starts")
    runner.phase("steady")
    runner.announce(1, f"{data.subscribers} subscribers")
    time.sleep(options.phase)
    runner.worker_fault()
    runner.redis_fault()
    runner.index_fault()
    runner.close_phase()
    traffic.finish()
    runner.event("traffic stops")
    say(f"  {support.uptime()}")
    if traffic.crashes:
        raise RuntimeError(f"traffic threads failed: {traffic.crashes}")

    say("\nWhat users saw, per phase (errors: answers other than 2xx/3xx and socket errors;")
    say("degraded: searches answered from the database; writes ok: acknowledged writes;")
    say("emails: accepted by the SMTP sink)")
    table, errors = phase_table(runner, journal, site.sink)
    for line in table:
        say(line)
    say("\nPer route, whole run")
    for line in route_table(journal):
        say(line)
    say(f"  writes tried: {', '.join(f'{k} {n}' for k, n in sorted(journal.attempts.items()))}")
    server_errors, log_notes = server_log_summary(site)
    say("  gunicorn's log: " + "; ".join(log_notes))
    say(f"  worker alive: {site.worker.alive()}, beat alive: {site.beat.alive()}")

    say("\nRecovery (traffic stopped)")
    for line in recover(site, runner):
        say(f"  {line}")

    say("\nChecks: what clients were told, against the database and the SMTP sink")
    checks = verify(site, runner, journal)
    for check in checks:
        say(f"  {'PASS' if check.ok else 'FAIL'}  {check.name}: {check.text}")
    users_ok = errors == 0 and server_errors == 0
    say(
        f"  {'PASS' if users_ok else 'FAIL'}  customers saw {errors} errors in all;"
        f" Django logged {server_errors} server errors"
    )
    processes_ok = site.beat.alive() and site.worker.alive()
    if not processes_ok:
        say("  FAIL  the worker or beat died during the run")
    for problem in runner.problems:
        say(f"  FAIL  {problem}")
    for warning in runner.warnings:
        say(f"  WARN  {warning}")
    ok = users_ok and processes_ok and all(c.ok for c in checks) and not runner.problems
    warned = f" with {len(runner.warnings)} warning(s)" if runner.warnings else ""
    say(f"\n{'PASS' if ok else 'FAIL'}{warned}; {support.uptime()}")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    if not support.PrivateRedis.available():
        say(support.REDIS_MISSING)
        return 2

    return support.run_benchmark(
        "bench-faults-",
        lambda workdir, cleanups: run(options, workdir, cleanups),
        keep=options.keep,
    )


if __name__ == "__main__":
    sys.exit(main())
