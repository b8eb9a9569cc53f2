"""The customers of bench/faults.py and bench/soak.py, their journal and the loss checks."""

from __future__ import annotations

import http.client
import itertools
import json
import logging
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

import _support as bench
from _support import harness, percentile, say

SEED = 20_261_123
REQUEST_TIMEOUT = 20.0
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


# -- data --------------------------------------------------------------------------------------
def make_data(options, cleanups: bench.Cleanups) -> SiteData:
    """Django in this process (its log to errors only: what it says about the faults is
    expected), then demo content, ``--articles`` more, ``--cases`` cases (half with a customer's
    session, half for the desk), ``--subscribers`` confirmed subscribers and a staff member;
    its connections are closed before the site's processes start."""
    bench.start_django(cleanups)
    logging.getLogger().setLevel(logging.ERROR)
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.db import connections
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
    user = get_user_model()
    agent = user.objects.create_user(STAFF[0], "agente@example.com", STAFF[1], is_staff=True)
    agent.user_permissions.add(Permission.objects.get(codename="change_case"))
    say(f"  {Article.objects.count():,} articles ({indexed:,} in the Whoosh index),"
        f" {len(opened)} cases (half for customers with a session, half for the desk),"
        f" {options.subscribers} confirmed subscribers, a staff member;"
        f" {time.perf_counter() - started:.0f} s")  # fmt: skip
    reasons = ContactReason.objects.filter(parent__isnull=False, active=True)
    reasons = reasons.filter(is_status_inquiry=False)
    data = SiteData(
        article_paths=[p for p in bench.published_article_paths(300, SEED) if "/es/" in p],
        case_sessions=[(key, ref) for key, (_, ref, _) in zip(keys, opened, strict=False)],
        desk_cases=[reference for _, reference, _ in opened[half:]],
        reason_ids=list(reasons.values_list("pk", flat=True)),
        subscribers=options.subscribers,
        degraded_marker=bench.degraded_marker(),
    )
    connections.close_all()
    return data


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


def manage(command: list[str], env: dict[str, str], log: Path, cwd: Path = harness.ROOT) -> int:
    """``manage.py`` ``command`` in ``cwd``, its output appended to ``log``; its exit status."""
    with log.open("ab") as output:
        return subprocess.run(
            [sys.executable, "manage.py", *command], cwd=cwd, env=env, stdout=output,
            stderr=subprocess.STDOUT, timeout=600, check=False,
        ).returncode  # fmt: skip


# -- checks ------------------------------------------------------------------------------------
@dataclass
class Check:
    name: str
    ok: bool
    text: str


def print_checks(checks: list[Check], problems=(), warnings=()) -> bool:
    """Each check, problem and warning on a line, then the verdict; whether all passed."""
    for check in checks:
        say(f"  {'PASS' if check.ok else 'FAIL'}  {check.name}: {check.text}")
    for problem in problems:
        say(f"  FAIL  {problem}")
    for warning in warnings:
        say(f"  WARN  {warning}")
    ok = all(check.ok for check in checks) and not problems
    warned = f" with {len(warnings)} warning(s)" if warnings else ""
    say(f"\n{'PASS' if ok else 'FAIL'}{warned}; {bench.uptime()}")
    return ok


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


def verify(sink, traffic: Traffic, dispatches: list[int], in_flight=frozenset()) -> list[Check]:
    """Every acknowledged write in the database once, every outbox row in the sink once (the
    outbox rows ``in_flight`` when a worker was killed may be there twice: said so), every
    mailing sent to every subscriber, and the article published while the index was gone
    found by the search."""
    from cases.models import Case, CaseEvent
    from kb.models import ArticleFeedback
    from notifications.models import OutgoingMessage, Subscriber
    from notifications.services.outbox import build_email

    port, data, journal = traffic.port, traffic.data, traffic.journal

    def tokens(texts) -> Counter:
        return Counter(match[0] for text in texts if (match := TOKEN.search(text)))

    cases = Case.objects.filter(subject__startswith="Pedido sin llegar fx")
    events = CaseEvent.objects.values_list("body", flat=True)
    subscribers = Subscriber.objects.filter(email__startswith="fx").values_list("email", flat=True)
    stored = {
        "case": tokens(cases.values_list("subject", flat=True)),
        "message": tokens(events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE)),
        "feedback": tokens(ArticleFeedback.objects.values_list("comment", flat=True)),
        "subscription": Counter(subscribers),
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
    text = (f"outbox rows {len(rows):,} ({', '.join(f'{s} {n:,}' for s, n in statuses.items())});"
            f" SMTP sink accepted {sum(accepted.values()):,} messages, {len(accepted):,} distinct"
            f" Message-IDs; rows never delivered {len(missing)}, delivered twice or more"
            f" {len(duplicated)}, messages the outbox does not know {len(unknown)}")  # fmt: skip
    if duplicated:
        text += (f"; of the duplicates, {len(duplicated & in_flight)} were being sent at"
                 " the worker's SIGKILL (the documented limit: the server accepted them in the"
                 " instant before the kill)")  # fmt: skip
    checks.append(Check("emails", not (unsent or missing or duplicated or unknown), text))

    keys, case_ids = {row.dedupe_key for row in rows}, dict(cases.values_list("reference", "pk"))
    no_mail = [t for t, ref in journal.acked["case"].items()
               if f"case:{case_ids.get(ref)}:opened" not in keys]  # fmt: skip
    confirmations = Counter(
        r.recipient for r in rows if r.kind == OutgoingMessage.Kind.SUBSCRIPTION
    )
    no_confirmation = [
        email for email in journal.acked["subscription"] if confirmations[email] != 1
    ]
    untold = Case.objects.filter(update_pending_since__isnull=False).count()
    replied = set(journal.acked["reply"].values())
    updates = {r.recipient for r in rows if r.kind == "case" and ":update:" in r.dedupe_key}
    emails = Case.objects.filter(reference__in=replied).values_list("customer_email", flat=True)
    no_update = set(emails) - updates
    text = (f"opened cases without their email {len(no_mail)}; subscriptions without exactly one"
            f" confirmation {len(no_confirmation)}; cases replied to on the desk {len(replied)},"
            f" of which never emailed an update {len(no_update)}; cases still waiting to be"
            f" told {untold}")  # fmt: skip
    checks.append(
        Check("emails caused", not (no_mail or no_confirmation or untold or no_update), text)
    )
    mailings = [bench.outbox_counts(dispatch) for dispatch in dispatches]
    text = f"{data.subscribers} subscribers each: " + "; ".join(
        f"mailing {number}: {c.total()} rows, {c['sent']} sent"
        for number, c in enumerate(mailings, start=1)
    )
    ok = all(c.total() == c["sent"] == data.subscribers for c in mailings)
    checks.append(Check("announcements", ok, text))
    status, body = harness.http_get(port, f"/es/search/?q={UNIQUE_WORD}")
    found, degraded = f"cupon-{UNIQUE_WORD}".encode() in body, data.degraded_marker in body
    ok = status == 200 and found and not degraded
    text = "the article published while the index was gone is found after the rebuild"
    text += "" if ok else f": NO (HTTP {status}, article found {found}, degraded {degraded})"
    checks.append(Check("search", ok, text))
    return checks


def route_table(journal: Journal) -> Counter:
    """Requests, errors and latencies per route, and the writes tried; returns the errors."""
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
    return Counter(outcome.error for outcome in journal.outcomes if outcome.error)
