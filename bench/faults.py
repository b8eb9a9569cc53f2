"""Fault benchmark: what customers see when parts fail, and proof that nothing they wrote is
lost or duplicated.

Run with ``.venv/bin/python bench/faults.py`` (``--help`` for the options; about 4 minutes).

In a fresh temporary folder, on loopback: a private ``redis-server`` without persistence (the
broker and the cache; the machine's Redis is never touched), the SMTP sink in its own process,
the database (SQLite; with ``DATABASE_URL`` a throwaway PostgreSQL database), ``gunicorn``
with 2 workers in production mode, a real ``celery worker`` and ``celery beat``. Traffic runs
the whole time: readers (home, search, articles, case status pages with the case's session,
the notices feed); customers who open cases through the contact form, write on their cases,
vote on articles and subscribe to notices, each from a loopback address of its own; a staff
member replying on the desk and publishing an announcement per phase; ``/healthz`` every
second. Faults, one after another: (a) the worker is SIGKILLed and restarted; (b) redis-server
is killed (everything it held is lost) and started again 30 s later; (c) the search index
folder is deleted and rebuilt with ``manage.py rebuild_search_index``.

Then traffic stops, the outbox drains, and the beat's sweepers run after a SIMULATED wait (the
timestamps of what is still unsent are moved back 11 minutes, as the tests do). Last, every
write a client was told succeeded is looked up in the database and every email in the sink.
Exit status: 0 when customers saw no error and nothing was lost or duplicated, 1 otherwise, 2
when the run itself failed.
"""

from __future__ import annotations

import http.client
import itertools
import json
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
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

import _support as bench
from _support import harness, percentile, say

SEED = 20_261_123
GUNICORN_WORKERS = 2
REQUEST_TIMEOUT = 20.0
SIMULATED_MINUTES = 11  # past SWEEP_GRACE (5), SENDING_TIMEOUT (10) and the others
DRAIN_IDLE_SECONDS = 5.0  # waiting for the outbox stops when the sink took nothing this long
DRAIN_TIMEOUT = 120.0
STAFF = ("bench-agent", "bench-agent-password-0451")
UNIQUE_WORD = "quetzalvrk"  # in the article published while the index is gone
READ_MIX = {"home": 2, "search": 4, "article": 3, "status": 2, "feed": 1}
WRITE_MIX = {"open case": 3, "case message": 3, "feedback": 2, "subscribe": 2}
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
# The contact form redirects to the case it opened, or shows a live notice about the problem
# first (with the notice's id in a hidden field, sent back by a customer who writes anyway).
RECEIVED = re.compile(r"/contact/received/([^/]+)/")
INCIDENT_INPUT = re.compile(rb'name="incident" value="(\d+)"')
TOKEN = re.compile(r"fx\d{5}q")


# -- the journal: every request, every acknowledgment -------------------------------------------


@dataclass
class Outcome:
    at: float  # time.time() when the request was sent
    seconds: float
    route: str
    error: str = ""  # why it counts as an error, "" when it does not
    degraded: bool = False  # a search answered from the database


class Journal:
    """What the clients did and were told. Thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: list[Outcome] = []
        self.acked: dict[str, dict[str, str]] = defaultdict(dict)  # kind -> token -> detail
        self.unsure: dict[str, set[str]] = defaultdict(set)  # kind -> tokens (error shown)
        self.attempts: Counter = Counter()  # writes tried, per kind
        self.health: list[tuple[float, int, str, dict]] = []  # at, HTTP status, state, checks
        self.acked_at: list[float] = []
        self.counter = itertools.count(1)

    def token(self) -> str:
        with self.lock:
            return f"fx{next(self.counter):05d}q"  # no hyphen: never taken for a case reference

    def told(self, kind: str, token: str, acknowledged: bool, detail: str = "") -> None:
        """What a customer was told of a write: that it was done, or an error."""
        with self.lock:
            if acknowledged:
                self.acked[kind][token] = detail
                self.acked_at.append(time.time())
            else:
                self.unsure[kind].add(token)


# -- a visitor: one browser, its cookies and its loopback address --------------------------------


@dataclass
class Response:
    status: int
    body: bytes = b""
    location: str = ""
    error: str = ""


class Visitor:
    def __init__(self, site: Traffic, address: str = "127.0.0.1", session: str = "") -> None:
        self.site, self.address = site, address
        self.cookies = {"sessionid": session} if session else {}

    def request(
        self, route: str, path: str, form: dict | None = None, *, expect=None, degraded_marker=b""
    ) -> Response:
        """GET ``path`` (POST ``form``) and record the outcome; ``expect`` returns why an answer
        that is not an HTTP error is still wrong ("" when it is right)."""
        headers = {"Host": "127.0.0.1", "User-Agent": "Mozilla/5.0 (bench/faults.py)",
                   "Accept-Encoding": "identity"}  # fmt: skip
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        at, started = time.time(), time.perf_counter()
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.site.port, timeout=REQUEST_TIMEOUT, source_address=(self.address, 0)
        )
        try:
            body = None if form is None else urlencode(form, doseq=True)
            connection.request("GET" if form is None else "POST", path, body, headers)
            answer = connection.getresponse()
            response = Response(answer.status, answer.read(), answer.getheader("Location", ""))
            for header in answer.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
        except (OSError, http.client.HTTPException) as error:
            response = Response(0, error=f"socket {type(error).__name__}")
        finally:
            connection.close()
        if not 200 <= response.status < 400:
            response.error = response.error or f"HTTP {response.status}"
        elif expect is not None:
            response.error = expect(response)
        degraded = bool(degraded_marker) and degraded_marker in response.body
        outcome = Outcome(at, time.perf_counter() - started, route, response.error, degraded)
        with self.site.journal.lock:
            self.site.journal.outcomes.append(outcome)
        return response

    def post(self, route: str, path: str, form: dict, page: Response, **options) -> Response:
        token = CSRF_INPUT.search(page.body)
        csrf = token.group(1).decode() if token else self.cookies.get("csrftoken", "")
        return self.request(route, path, {"csrfmiddlewaretoken": csrf, **form}, **options)


def contains(text: str) -> Callable[[Response], str]:
    return lambda response: "" if text.encode() in response.body else f"{text!r} missing"


def redirects_to(suffix: str) -> Callable[[Response], str]:
    def check(response: Response) -> str:
        if response.status in (302, 303) and response.location.split("#")[0].endswith(suffix):
            return ""
        return f"HTTP {response.status} to {response.location or '-'}, not to …{suffix}"

    return check


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
    """The reader, writer, staff and monitor threads. ``pauses``: seconds between two
    requests of one reader, two actions of one customer, two desk replies, two /healthz."""

    def __init__(self, port: int, data: SiteData, options, pauses=(0.05, 0.4, 1.5, 1.0)) -> None:
        self.port, self.data, self.options = port, data, options
        self.read_pause, self.write_pause, self.staff_pause, self.health_pause = pauses
        self.journal = Journal()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.addresses = itertools.count(1)
        self.crashes: list[str] = []

    def start(self, *extra: Callable[[random.Random], None]) -> None:
        loops = [(self.reader, n) for n in range(self.options.readers)]
        loops += [(self.customer, n) for n in range(self.options.writers)]
        loops += [(loop, 0) for loop in (self.staff, self.monitor, *extra)]
        for target, number in loops:
            thread = threading.Thread(target=self._guarded, args=(target, number), daemon=True)
            thread.start()
            self.threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=REQUEST_TIMEOUT * 3)
        if self.crashes:
            raise RuntimeError(f"traffic threads failed: {self.crashes}")

    def _guarded(self, target: Callable[[random.Random], None], number: int) -> None:
        try:
            target(random.Random(f"{SEED}-{target.__name__}-{number}"))
        except Exception as error:  # a bug of the benchmark, not of the site: say so
            self.crashes.append(f"{target.__name__} {number}: {error!r}")
            raise

    def new_customer(self) -> Visitor:
        """A visitor from a loopback address of its own (127.1.0.1, 127.1.0.2, ...)."""
        n = next(self.addresses)  # atomic under the GIL
        return Visitor(self, f"127.1.{n // 250}.{n % 250 + 1}")

    def reader(self, rng: random.Random) -> None:
        routes, weights = zip(*READ_MIX.items(), strict=True)
        visitor = Visitor(self)
        while not self.stop.wait(self.read_pause):
            route = rng.choices(routes, weights)[0]
            if route == "home":
                visitor.request("home", rng.choice(("/es/", "/es/", "/en/")))
            elif route == "search":
                query = quote(rng.choice(bench.SEARCH_QUERIES))
                marker = self.data.degraded_marker
                visitor.request("search", f"/es/search/?q={query}", degraded_marker=marker)
            elif route == "article":
                visitor.request("article", rng.choice(self.data.article_paths))
            elif route == "status":
                key, reference = rng.choice(self.data.case_sessions)
                customer = Visitor(self, session=key)
                customer.request("status", f"/es/cases/{reference}/", expect=contains(reference))
            else:
                visitor.request("feed", "/es/notices/feed.atom", expect=contains("<feed"))

    def customer(self, rng: random.Random) -> None:
        actions = {"open case": self.open_case, "case message": self.case_message,
                   "feedback": self.feedback, "subscribe": self.subscribe}  # fmt: skip
        names, weights = zip(*WRITE_MIX.items(), strict=True)
        while not self.stop.is_set():
            name = rng.choices(names, weights)[0]
            with self.journal.lock:
                self.journal.attempts[name] += 1
            actions[name](rng, self.journal.token())
            self.stop.wait(self.write_pause)

    def open_case(self, rng: random.Random, token: str) -> None:
        visitor = self.new_customer()
        if (page := visitor.request("contact form", "/es/contact/")).error:
            return self.journal.told("case", token, False)
        form = {
            "reason": str(rng.choice(self.data.reason_ids)),
            "subject": f"Pedido sin llegar {token}",
            "description": f"Sigue en reparto desde hace días (nota {token}).",
            "name": "Cliente de prueba", "email": f"{token}@example.com", "website": "",
        }  # fmt: skip

        def opened(response: Response) -> str:
            return "" if RECEIVED.search(response.location) else "no case opened"

        def opened_or_told(response: Response) -> str:
            return "" if INCIDENT_INPUT.search(response.body) else opened(response)

        answer = visitor.post("open case", "/es/contact/", form, page, expect=opened_or_told)
        if not answer.error and (shown := INCIDENT_INPUT.search(answer.body)):
            # A live notice was shown instead; the customer writes about something else.
            form["incident"] = shown.group(1).decode()
            answer = visitor.post("open case", "/es/contact/", form, answer, expect=opened)
        received = None if answer.error else RECEIVED.search(answer.location)
        self.journal.told("case", token, bool(received), received[1] if received else "")

    def case_message(self, rng: random.Random, token: str) -> None:
        key, reference = rng.choice(self.data.case_sessions)
        visitor, path = Visitor(self, session=key), f"/es/cases/{reference}/"
        if (page := visitor.request("status", path, expect=contains(reference))).error:
            return self.journal.told("message", token, False)
        form = {"body": f"Mensaje {token}: sigo esperando noticias."}
        answer = visitor.post("case message", f"{path}message/", form, page,
                              expect=redirects_to(f"/cases/{reference}/"))  # fmt: skip
        self.journal.told("message", token, not answer.error, reference)

    def feedback(self, rng: random.Random, token: str) -> None:
        visitor, path = self.new_customer(), rng.choice(self.data.article_paths)
        if (page := visitor.request("article", path)).error:
            return self.journal.told("feedback", token, False)
        form = {"helpful": rng.choice(("yes", "no")), "comment": token}
        answer = visitor.post("feedback", f"{path}feedback/", form, page, expect=redirects_to(path))
        self.journal.told("feedback", token, not answer.error, path)

    def subscribe(self, rng: random.Random, token: str) -> None:
        visitor, email, path = self.new_customer(), f"{token}@example.com", "/es/notices/subscribe/"
        if (page := visitor.request("subscribe form", path)).error:
            return self.journal.told("subscription", email, False)

        def confirmation_sent(response: Response) -> str:
            # The answer names the address and shows no form (the form is shown on errors).
            if email.encode() in response.body and b'name="email"' not in response.body:
                return ""
            return "the form came back"

        form = {"email": email, "language": rng.choice(("es", "es", "en")), "website": ""}
        answer = visitor.post("subscribe", path, form, page, expect=confirmation_sent)
        self.journal.told("subscription", email, not answer.error)

    def staff(self, rng: random.Random) -> None:
        visitor, login = Visitor(self), "/admin/login/?next=/es/desk/"
        form = {"username": STAFF[0], "password": STAFF[1], "next": "/es/desk/"}
        page = visitor.request("desk", login)
        answer = visitor.post("desk", login, form, page, expect=redirects_to("/es/desk/"))
        if answer.error:
            self.crashes.append(f"staff login failed: {answer.error}")
            return
        while not self.stop.wait(self.staff_pause):
            reference, token = rng.choice(self.data.desk_cases), self.journal.token()
            with self.journal.lock:
                self.journal.attempts["staff reply"] += 1
            path = f"/es/desk/cases/{reference}/"
            if (page := visitor.request("desk", path, expect=contains(reference))).error:
                self.journal.told("reply", token, False)
                continue
            form = {"body": f"Respuesta {token}: ya lo estamos revisando.", "status": ""}
            answer = visitor.post("desk reply", f"{path}reply/", form, page,
                                  expect=redirects_to(f"/desk/cases/{reference}/"))  # fmt: skip
            self.journal.told("reply", token, not answer.error, reference)

    def monitor(self, rng: random.Random) -> None:
        while not self.stop.wait(self.health_pause):
            at = time.time()
            try:
                status, body = harness.http_get(self.port, "/healthz")
                report = json.loads(body)
                checks = {name: check["state"] for name, check in report["checks"].items()}
                state = report.get("status", "?")
            except (OSError, ValueError, KeyError) as error:
                status, state, checks = 0, f"no answer ({type(error).__name__})", {}
            with self.journal.lock:
                self.journal.health.append((at, status, state, checks))


# -- the site and its data ---------------------------------------------------------------------


@dataclass
class Site:
    workdir: Path
    redis: harness.PrivateRedis
    sink: harness.SinkProcess
    server: harness.Gunicorn
    env: dict[str, str]
    worker: harness.CeleryProcess | None = None
    beat: harness.CeleryProcess | None = None
    notes: list[str] = field(default_factory=list)

    def new_worker(self, number: int) -> float:
        """Start worker ``number``, as a supervisor would; returns the seconds it took."""
        self.worker = harness.CeleryProcess(self.workdir / f"worker-{number}.log", self.env)
        return self.worker.start()


def prepare(workdir: Path, cleanups: bench.Cleanups) -> Site:
    redis, sink = harness.PrivateRedis(workdir), harness.SinkProcess(workdir)
    for part in (redis, sink):
        part.start()
        cleanups.append(part.stop)
    notes = bench.use_site(workdir, "faults", cleanups, redis_url=redis.url(0))
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{sink.port}"
    # Customer update emails one minute after the staff reply instead of three, so some leave
    # during the run.
    os.environ["CASE_UPDATE_COALESCE_MINUTES"] = "1"
    server = harness.Gunicorn(workdir, GUNICORN_WORKERS)
    notes.append(f"SMTP sink on 127.0.0.1:{sink.port}")
    return Site(workdir, redis, sink, server, dict(os.environ), notes=notes)


def make_data(options) -> SiteData:
    """Demo content, ``--articles`` more, ``--cases`` cases (half with a customer's session, half
    for the desk), ``--subscribers`` confirmed subscribers and a staff member."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.utils import timezone

    from cases.models import ContactReason
    from kb.models import Article
    from kb.services import rebuild_search_index
    from notifications.models import Subscriber

    started = time.perf_counter()
    bench.load_demo_content()
    bench.add_generated_articles(options.articles, SEED)
    indexed = rebuild_search_index()
    opened = bench.open_cases(options.cases, SEED)
    half = len(opened) // 2
    keys = bench.grant_sessions([case_id for case_id, _, _ in opened[:half]])
    Subscriber.objects.bulk_create(
        Subscriber(email=f"abonado{n:04d}@example.com", language="es" if n % 3 else "en",
                   confirmed_at=timezone.now())
        for n in range(options.subscribers)
    )  # fmt: skip
    agent = get_user_model().objects.create_user(
        STAFF[0], "agente@example.com", STAFF[1], is_staff=True
    )
    agent.user_permissions.add(
        Permission.objects.get(codename="change_case", content_type__app_label="cases")
    )
    say(
        f"  {Article.objects.count():,} articles ({indexed:,} in the Whoosh index),"
        f" {len(opened)} cases (half for customers with a session, half for the desk),"
        f" {options.subscribers} confirmed subscribers, a staff member;"
        f" {time.perf_counter() - started:.0f} s"
    )
    reasons = ContactReason.objects.filter(
        parent__isnull=False, active=True, is_status_inquiry=False
    )
    return SiteData(
        article_paths=[p for p in bench.published_article_paths(300, SEED) if "/es/" in p],
        case_sessions=[(key, ref) for key, (_, ref, _) in zip(keys, opened, strict=False)],
        desk_cases=[reference for _, reference, _ in opened[half:]],
        reason_ids=list(reasons.values_list("pk", flat=True)),
        subscribers=options.subscribers,
        degraded_marker=bench.degraded_marker(),
    )


def publish_article_while_index_is_gone() -> int:
    from kb.models import Article, Category
    from kb.services import publish_article

    article = Article(
        title=f"Cómo canjear el cupón {UNIQUE_WORD}", slug=f"cupon-{UNIQUE_WORD}",
        summary=f"Qué hacer con el cupón {UNIQUE_WORD} al pagar.",
        body=f"Escribe el código {UNIQUE_WORD} en la casilla del cupón antes de pagar.\n",
        language="es", translation_key=f"cupon-{UNIQUE_WORD}", keywords=UNIQUE_WORD,
        category=Category.objects.order_by("pk").first(),
    )  # fmt: skip
    return publish_article(article=article, actor=None).pk


def wait_for_outbox(sink, timeout: float, *, patient: bool = False) -> bool:
    """Until every outbox row is sent or failed and the sink has been idle a moment; unless
    ``patient``, give up once nothing has moved for a few seconds (what is left then waits
    for the sweepers)."""
    deadline = time.monotonic() + timeout
    last_count, last_change = sink.poll(), time.monotonic()
    while time.monotonic() < deadline:
        if (count := sink.poll()) != last_count:
            last_count, last_change = count, time.monotonic()
        counts, idle = bench.outbox_counts(), time.monotonic() - last_change
        if counts["queued"] + counts["sending"] == 0 and idle >= 1.0:
            return True
        if not patient and idle >= DRAIN_IDLE_SECONDS:
            return False
        time.sleep(0.25)
    return False


# -- the faults --------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    start: float
    end: float = 0.0


class Run:
    """The timeline: phases, faults and what was learnt on the way."""

    def __init__(self, site: Site, data: SiteData, journal: Journal, options) -> None:
        self.site, self.data, self.journal, self.options = site, data, journal, options
        self.phases: list[Phase] = []
        self.started = time.time()
        self.in_flight_at_kill: set[int] = set()
        self.dispatches: list[int] = []
        self.problems: list[str] = []  # each fails the run
        self.warnings: list[str] = []  # shown, but the customers lost nothing by them

    def event(self, text: str) -> None:
        say(f"  t={time.time() - self.started:6.1f}s  {text}")

    def phase(self, name: str | None, seconds: float = 0.0) -> None:
        if self.phases and not self.phases[-1].end:
            self.phases[-1].end = time.time()
        if name:
            self.phases.append(Phase(name, time.time()))
            time.sleep(seconds)

    def announce(self, number: int, why: str) -> None:
        self.dispatches.append(bench.publish_incident(number))
        self.event(f"staff publishes announcement {number} ({why})")

    def worker_fault(self) -> None:
        from notifications.models import OutgoingMessage

        self.phase("(a) worker killed")
        sending = OutgoingMessage.objects.filter(status=OutgoingMessage.Status.SENDING)
        self.in_flight_at_kill = set(sending.values_list("pk", flat=True))
        counts = bench.outbox_counts()
        self.site.worker.kill()
        self.event(
            f"(a) SIGKILL to the Celery worker's process group (outbox rows sending"
            f" {counts['sending']}, queued {counts['queued']})"
        )
        time.sleep(self.options.worker_down)
        self.event(f"(a) a new worker is ready ({self.site.new_worker(2):.1f} s after its start)")
        self.phase("(a) after the restart", self.options.phase)

    def redis_fault(self) -> None:
        self.phase("(b) Redis down")
        self.site.redis.kill()
        self.event("(b) redis-server killed: the queued tasks, the cache and the rate-limit")
        self.event("    windows it held are gone (no persistence, as after a crash)")
        time.sleep(1.0)
        self.announce(2, "the broker is down")
        time.sleep(max(0.0, self.options.redis_down - 1.0))
        worker, log = self.site.worker, self.site.worker.log_path
        offset = log.stat().st_size
        self.site.redis.start()
        back = time.time()
        self.event(
            f"(b) redis-server started again on the same port, after {self.options.redis_down:g} s"
        )
        self.phase("(b) after Redis is back")

        def reconnected_or_gone() -> str:
            if not worker.alive():
                return "gone"
            return "back" if b"Connected to redis" in log.read_bytes()[offset:] else ""

        try:
            outcome = harness.wait_until(reconnected_or_gone, 60, "reconnection")
        except TimeoutError:
            outcome = "stuck"
        if outcome == "back":
            self.event(f"(b) the worker reconnected to the broker {time.time() - back:.1f} s later")
        elif outcome == "stuck":
            self.problems.append("the worker did not reconnect to Redis within 60 s")
            self.event("(b) the worker did NOT reconnect within 60 s")
        else:
            lines = reversed(log.read_text(errors="replace").splitlines())
            reason = next(
                (line.strip() for line in lines if "CRITICAL" in line),
                "no CRITICAL line in its log",
            )
            self.warnings.append(
                f"the worker exited when its broker connection dropped: {reason[:200]} (a kombu"
                " bug when the connection is lost while tasks are unacknowledged, as with"
                " acks_late); restarted as a supervisor would"
            )
            self.event("(b) the worker had EXITED when Redis went away:")
            self.event(f"    {reason[:160]}")
            ready = self.site.new_worker(3)
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
        log, began = self.site.workdir / "rebuild.log", time.perf_counter()
        with log.open("wb") as output:
            finished = subprocess.run(
                [sys.executable, "manage.py", "rebuild_search_index"], cwd=harness.ROOT,
                env=self.site.env, stdout=output, stderr=subprocess.STDOUT, timeout=600,
            )  # fmt: skip
        if finished.returncode:
            self.problems.append(f"rebuild_search_index failed: {harness.log_tail(log, 5)}")
        self.event(
            f"(c) manage.py rebuild_search_index done in {time.perf_counter() - began:.1f} s"
            f" (exit status {finished.returncode})"
        )
        self.phase("(c) after the rebuild", self.options.phase)

    def recover(self) -> list[str]:
        """Drain the outbox, then let SIMULATED time pass for the sweepers until it drains."""

        def counts(prefix: str, drained: bool = True) -> str:
            c = bench.outbox_counts()
            return (
                f"{prefix}: {c['sent']:,} sent, {c['queued']} queued, {c['sending']} sending,"
                f" {c['failed']} failed" + ("" if drained else " (the rest waits for the sweepers)")
            )

        drained = wait_for_outbox(self.site.sink, DRAIN_TIMEOUT)
        lines = [counts("outbox after traffic stopped", drained)]
        for attempt in range(1, 4):
            moved = harness.let_time_pass(SIMULATED_MINUTES)
            swept = bench.run_sweepers()
            lines.append(
                f"SIMULATED {SIMULATED_MINUTES} minutes passing ({moved} unsent rows moved back),"
                f" then the beat's sweepers: "
                + ", ".join(f"{what} {n}" for what, n in swept.items())
            )
            drained = wait_for_outbox(self.site.sink, DRAIN_TIMEOUT)
            if drained and not any(swept.values()):
                break
            if attempt == 3 and not drained:
                lines.append("the outbox did not drain after three simulated sweeps")
        return [*lines, counts("outbox now")]

    def search_finds_new_article(self) -> str:
        status, body = harness.http_get(self.site.server.port, f"/es/search/?q={UNIQUE_WORD}")
        degraded = self.data.degraded_marker in body
        found = f"cupon-{UNIQUE_WORD}".encode() in body
        if status == 200 and found and not degraded:
            return ""
        return f"HTTP {status}, article found {found}, degraded {degraded}"


# -- checks ------------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool
    text: str


def count_check(name: str, acked: dict[str, str], unsure: set[str], stored: Counter) -> Check:
    missing = [token for token in acked if stored[token] == 0]
    duplicated = [token for token, n in stored.items() if n > 1]
    text = (
        f"acknowledged {len(acked)}: stored once {sum(1 for t in acked if stored[t] == 1)},"
        f" MISSING {len(missing)}, DUPLICATED {len(duplicated)}; refused with an error"
        f" {len(unsure)} (of which stored anyway {sum(1 for t in unsure if stored[t])})"
    )
    text += f"; missing e.g. {missing[:3]}" if missing else ""
    text += f"; duplicated e.g. {duplicated[:3]}" if duplicated else ""
    return Check(name, not missing and not duplicated, text)


def verify(sink, run: Run, journal: Journal) -> list[Check]:
    """Every acknowledged write in the database once, every outbox row in the sink once."""
    from cases.models import Case, CaseEvent
    from kb.models import ArticleFeedback
    from notifications.models import OutgoingMessage, Subscriber
    from notifications.services.outbox import build_email

    def tokens(texts) -> Counter:
        return Counter(match[0] for text in texts if (match := TOKEN.search(text)))

    cases = Case.objects.filter(subject__startswith="Pedido sin llegar fx")
    events = CaseEvent.objects.values_list("body", flat=True)
    stored = {
        "case": tokens(cases.values_list("subject", flat=True)),
        "message": tokens(events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE)),
        "feedback": tokens(ArticleFeedback.objects.values_list("comment", flat=True)),
        "subscription": Counter(
            Subscriber.objects.filter(email__startswith="fx").values_list("email", flat=True)
        ),
        "reply": tokens(events.filter(kind=CaseEvent.Kind.PUBLIC_REPLY)),
    }
    checks = [
        count_check(name, journal.acked[kind], journal.unsure[kind], stored[kind])
        for name, kind in (("cases opened", "case"), ("case messages", "message"),
                           ("feedback votes", "feedback"), ("subscriptions", "subscription"),
                           ("staff replies", "reply"))
    ]  # fmt: skip
    references = {TOKEN.search(case.subject)[0]: case.reference for case in cases}
    if wrong := [t for t, ref in journal.acked["case"].items() if references.get(t, ref) != ref]:
        checks[0].ok = False
        checks[0].text += f"; {len(wrong)} answered with another case's reference"

    # Emails: every row of the outbox is sent, and the sink took each Message-ID exactly once.
    sink.poll()
    accepted = Counter(message_id for _, _, message_id in sink.accepted)
    rows = list(OutgoingMessage.objects.select_related("dispatch").order_by("pk"))
    ids = {row.pk: build_email(row).extra_headers["Message-ID"] for row in rows}
    statuses = Counter(row.status for row in rows)
    unsent = [row.pk for row in rows if row.status != OutgoingMessage.Status.SENT]
    missing = [pk for pk, message_id in ids.items() if accepted[message_id] == 0]
    duplicated = {pk for pk, message_id in ids.items() if accepted[message_id] > 1}
    unknown = set(accepted) - set(ids.values())
    text = (
        f"outbox rows {len(rows):,} ({', '.join(f'{s} {n:,}' for s, n in statuses.items())});"
        f" SMTP sink accepted {sum(accepted.values()):,} messages, {len(accepted):,} distinct"
        f" Message-IDs; rows never delivered {len(missing)}, delivered twice or more"
        f" {len(duplicated)}, messages the outbox does not know {len(unknown)}"
    )
    if duplicated:
        text += (
            f"; of the duplicates, {len(duplicated & run.in_flight_at_kill)} were being sent at"
            " the worker's SIGKILL (the documented limit: the server accepted them in the"
            " instant before the kill)"
        )
    checks.append(Check("emails", not (unsent or missing or duplicated or unknown), text))

    keys = {row.dedupe_key for row in rows}
    case_ids = dict(cases.values_list("reference", "pk"))
    no_mail = [
        t
        for t, ref in journal.acked["case"].items()
        if f"case:{case_ids.get(ref)}:opened" not in keys
    ]
    confirmations = Counter(
        row.recipient for row in rows if row.kind == OutgoingMessage.Kind.SUBSCRIPTION
    )
    no_confirmation = [
        email for email in journal.acked["subscription"] if confirmations[email] != 1
    ]
    untold = Case.objects.filter(update_pending_since__isnull=False).count()
    replied = set(journal.acked["reply"].values())
    updates = {r.recipient for r in rows if r.kind == "case" and ":update:" in r.dedupe_key}
    emails = set(
        Case.objects.filter(reference__in=replied).values_list("customer_email", flat=True)
    )
    no_update = emails - updates
    checks.append(
        Check(
            "emails caused",
            not (no_mail or no_confirmation or untold or no_update),
            f"opened cases without their email {len(no_mail)}; subscriptions without exactly one"
            f" confirmation {len(no_confirmation)}; cases replied to on the desk {len(replied)},"
            f" of which never emailed an update {len(no_update)}; cases still waiting to be"
            f" told {untold}",
        )
    )
    mailings = [bench.outbox_counts(dispatch) for dispatch in run.dispatches]
    checks.append(
        Check(
            "announcements",
            all(c.total() == c["sent"] == run.data.subscribers for c in mailings),
            f"{run.data.subscribers} subscribers each: "
            + "; ".join(
                f"mailing {number}: {c.total()} rows, {c['sent']} sent"
                for number, c in enumerate(mailings, start=1)
            ),
        )
    )
    problem = run.search_finds_new_article()
    text = "the article published while the index was gone is found after the rebuild"
    checks.append(Check("search", not problem, text + (f": NO ({problem})" if problem else "")))
    return checks


# -- report ------------------------------------------------------------------------------------


def phase_table(run: Run, journal: Journal) -> int:
    """Print what users saw in each phase; returns the number of errors they saw in all."""
    run.site.sink.poll()
    rows: list = [("phase", "secs", "requests", "errors", "degraded", "p50 ms", "p99 ms",
                   "max ms", "writes ok", "emails", "healthz")]  # fmt: skip
    details, total_errors = [], 0
    for phase in run.phases:
        inside = [o for o in journal.outcomes if phase.start <= o.at < phase.end]
        errors = [o for o in inside if o.error]
        total_errors += len(errors)
        latencies = [o.seconds * 1000 for o in inside]
        health = [(status, state, checks) for at, status, state, checks in journal.health
                  if phase.start <= at < phase.end]  # fmt: skip
        said = Counter(state if status else "no answer" for status, state, _ in health)
        rows.append((
            phase.name, f"{phase.end - phase.start:.1f}", len(inside), len(errors),
            sum(o.degraded for o in inside), f"{percentile(latencies, 50):.0f}",
            f"{percentile(latencies, 99):.0f}", f"{max(latencies, default=0):.0f}",
            sum(1 for at in journal.acked_at if phase.start <= at < phase.end),
            sum(1 for at, _, _ in run.site.sink.accepted if phase.start <= at < phase.end),
            ", ".join(f"{s} {n}" for s, n in said.most_common()),
        ))  # fmt: skip
        if errors:
            kinds = Counter(f"{o.route}: {o.error}" for o in errors).most_common(6)
            details.append(f"    {phase.name}: " + "; ".join(f"{k} x{n}" for k, n in kinds))
        checks = Counter(f"{n} {s}" for _, _, c in health for n, s in c.items() if s != "ok")
        if checks:
            details.append(
                f"    {phase.name}: /healthz said "
                + ", ".join(f"{k} x{n}" for k, n in checks.most_common())
            )
    bench.table(rows)
    if details:
        say("  details:")
        say("\n".join(details))
    return total_errors


def route_table(journal: Journal) -> None:
    by_route: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in journal.outcomes:
        by_route[outcome.route].append(outcome)
    rows: list = [("route", "requests", "errors", "p50 ms", "p99 ms")]
    for route, outcomes in sorted(by_route.items()):
        latencies = [o.seconds * 1000 for o in outcomes]
        p50, p99 = (f"{percentile(latencies, pct):.0f}" for pct in (50, 99))
        rows.append((route, len(outcomes), sum(1 for o in outcomes if o.error), p50, p99))
    bench.table(rows)
    say(f"  writes tried: {', '.join(f'{k} {n}' for k, n in sorted(journal.attempts.items()))}")


def server_log_summary(site: Site) -> int:
    """Print what gunicorn's log says about the faults; returns Django's 500s (must be none)."""
    text = site.server.log_path.read_text(errors="replace")
    server_errors = text.count("Internal Server Error")
    say(
        f"  gunicorn's log: tasks the web could not queue (broker down; the sweepers re-queue"
        f" them): {text.count('Could not queue')}; cache warnings (at most one per process"
        f" every 10 s): {text.count('cache unavailable')}, rate limits not checked:"
        f" {text.count('not checked: the cache is unavailable')}; search answered from the"
        f" database: {text.count('answering from the database')} lines; Django's 'Internal"
        f" Server Error' lines: {server_errors}"
    )
    return server_errors


# -- main --------------------------------------------------------------------------------------


def run(options, workdir: Path, cleanups: bench.Cleanups) -> bool:
    say("Fault benchmark: the site, a Celery worker and beat, and customers, on a private")
    say(f"Redis; three faults one after another. Folder: {workdir}")
    say(f"  {os.cpu_count()} CPUs; {bench.uptime()}")
    site = prepare(workdir, cleanups)
    for note in site.notes:
        say(f"  {note}")
    bench.start_django(cleanups)
    # This process publishes announcements and reads through the app while Redis is down: its
    # warnings about that are expected (gunicorn's log is summed up instead).
    logging.getLogger().setLevel(logging.ERROR)
    logging.getLogger("foundation.queueing").setLevel(logging.CRITICAL)
    say("\nData")
    data = make_data(options)
    from django.db import connections

    from foundation.tasks import record_worker_heartbeat

    connections.close_all()
    site.beat = harness.CeleryProcess(workdir / "beat.log", site.env, beat=True)
    cleanups += [lambda: site.worker.stop(), site.beat.stop, site.server.stop]
    site.new_worker(1)
    site.beat.start()
    record_worker_heartbeat.delay()  # beat's first one comes a minute later: /healthz says ok
    site.server.start()
    say(
        f"  gunicorn helpcenter.wsgi -w {GUNICORN_WORKERS} on 127.0.0.1:{site.server.port}"
        " (DEBUG=0), celery worker (concurrency 2), celery beat"
    )
    if not wait_for_outbox(site.sink, 120, patient=True):
        say("  note: the emails of the data set were not all sent before the traffic started")
    say(f"  emails of the data set delivered: {site.sink.poll()}")

    traffic = Traffic(site.server.port, data, options)
    journal, timeline = traffic.journal, Run(site, data, traffic.journal, options)
    say(
        f"\nTraffic: {options.readers} readers (home, search, articles, status pages, feed),"
        f" {options.writers} customers writing (cases, messages, votes, subscriptions), a staff"
        " member replying on the desk, /healthz every second"
    )
    say(f"  {bench.uptime()}")
    say("\nTimeline")
    traffic.start()
    timeline.event("traffic starts")
    timeline.phase("steady")
    timeline.announce(1, f"{data.subscribers} subscribers")
    time.sleep(options.phase)
    timeline.worker_fault()
    timeline.redis_fault()
    timeline.index_fault()
    timeline.phase(None)
    traffic.finish()
    timeline.event("traffic stops")
    say(f"  {bench.uptime()}")

    say("\nWhat users saw, per phase (errors: answers other than 2xx/3xx and socket errors;")
    say("degraded: searches answered from the database; writes ok: acknowledged writes;")
    say("emails: accepted by the SMTP sink)")
    errors = phase_table(timeline, journal)
    say("\nPer route, whole run")
    route_table(journal)
    server_errors = server_log_summary(site)
    say(f"  worker alive: {site.worker.alive()}, beat alive: {site.beat.alive()}")
    say("\nRecovery (traffic stopped)")
    for line in timeline.recover():
        say(f"  {line}")

    say("\nChecks: what clients were told, against the database and the SMTP sink")
    checks = verify(site.sink, timeline, journal)
    checks.append(
        Check("errors", errors == 0 and server_errors == 0,
              f"customers saw {errors} errors in all; Django logged {server_errors} server errors")
    )  # fmt: skip
    if not (site.beat.alive() and site.worker.alive()):
        timeline.problems.append("the worker or beat died during the run")
    for check in checks:
        say(f"  {'PASS' if check.ok else 'FAIL'}  {check.name}: {check.text}")
    for problem in timeline.problems:
        say(f"  FAIL  {problem}")
    for warning in timeline.warnings:
        say(f"  WARN  {warning}")
    ok = all(check.ok for check in checks) and not timeline.problems
    warned = f" with {len(timeline.warnings)} warning(s)" if timeline.warnings else ""
    say(f"\n{'PASS' if ok else 'FAIL'}{warned}; {bench.uptime()}")
    return ok


if __name__ == "__main__":
    options = bench.options(
        __doc__, None,
        ("--phase", 15.0, "seconds of each calm phase (15)"),
        ("--worker-down", 5.0, "seconds (5)"),
        ("--redis-down", 30.0, "seconds (30)"),
        ("--index-down", 10.0, "seconds (10)"),
        ("--readers", 4, "reading clients (4)"),
        ("--writers", 3, "customers writing (3)"),
        ("--articles", 300, "generated articles (300)"),
        ("--cases", 60, "cases made beforehand (60)"),
        ("--subscribers", 200, "confirmed (200)"),
        require=[
            (lambda o: min(o.phase, o.worker_down, o.redis_down, o.index_down) > 0,
             "the durations must be positive"),
            (lambda o: o.readers >= 1 and o.writers >= 1 and o.cases >= 2,
             "--readers, --writers >= 1, --cases >= 2"),
        ],
    )  # fmt: skip
    sys.exit(bench.launch("bench-faults-", run, options, needs=["redis-server"]))
