"""Mixed API traffic on gunicorn with 2 workers, then webhook deliveries (README: Benchmarks)."""

from __future__ import annotations

import http.client
import json
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from urllib.parse import quote_plus

import _support as bench
from _support import harness, percentile, say

SEED = 20_261_205
# The mix of calls, by weight: reads first, as another system polls; 2 writes in 13 calls.
MIX = {"case_list": 3, "case_detail": 3, "kb_search": 3, "announcement": 1, "reasons": 1,
       "open_case": 1, "reply": 1}  # fmt: skip


def prepare(cases: int) -> tuple[str, list[tuple[int, str, str]], list[int], list[str]]:
    from api.models import Scope
    from api.services import create_api_key
    from cases.models import ContactReason
    from kb.services import rebuild_search_index
    from notifications.models import Announcement

    bench.load_demo_content()
    rebuild_search_index()
    opened = bench.open_cases(cases, SEED)
    key = create_api_key(
        name="bench", scopes=Scope.values, actor=None, rate_limit_per_minute=10_000_000
    )
    reasons = list(
        ContactReason.objects.filter(parent__isnull=False, active=True, is_status_inquiry=False)
        .order_by("pk")
        .values_list("code", flat=True)
    )
    return key.secret, opened, list(Announcement.objects.values_list("pk", flat=True)), reasons


def traffic(port: int, secret: str, opened, notices, reasons, seconds: float, clients: int):
    """``clients`` threads calling the API until the deadline; returns latencies and errors."""
    latencies: list[float] = []
    errors: Counter = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def call(rng: random.Random) -> tuple[str, str, str, dict | None]:
        kind = rng.choices(list(MIX), weights=list(MIX.values()))[0]
        _, reference, email = rng.choice(opened)
        if kind == "case_list":
            return kind, "GET", f"/api/v1/cases?customer_email={quote_plus(email)}", None
        if kind == "case_detail":
            return kind, "GET", f"/api/v1/cases/{reference}", None
        if kind == "kb_search":
            query = quote_plus(rng.choice(bench.SEARCH_QUERIES))
            return kind, "GET", f"/api/v1/kb/search?q={query}&language=es", None
        if kind == "announcement":
            return kind, "GET", f"/api/v1/announcements/{rng.choice(notices)}", None
        if kind == "reasons":
            return kind, "GET", "/api/v1/contact-reasons", None
        if kind == "open_case":
            body = {"reason": rng.choice(reasons), "customer_email": email, "language": "es",
                    "customer_name": "Cliente", "subject": "Pedido sin llegar",
                    "description": "Sigue sin moverse.", "incident_seen": None}  # fmt: skip
            return kind, "POST", "/api/v1/cases", body
        return kind, "POST", f"/api/v1/cases/{reference}/replies", {"body": "Lo revisamos."}

    def client(number: int) -> None:
        rng = random.Random(SEED + number)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            kind, method, path, body = call(rng)
            headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
            if method == "POST":
                headers["Idempotency-Key"] = str(uuid.UUID(int=rng.getrandbits(128)))
            started = time.perf_counter()
            try:
                connection.request(method, path, json.dumps(body) if body else None, headers)
                response = connection.getresponse()
                response.read()
                failed = not 200 <= response.status < 300 and f"{kind} {response.status}"
            except Exception as error:  # counted, and the client goes on
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                failed = f"{kind} {type(error).__name__}"
            with lock:
                latencies.append(time.perf_counter() - started)
                if failed:
                    errors[failed] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def deliveries(count: int, timeout: float) -> tuple[float, int, int, int, int]:
    """``count`` events to one endpoint at a verifying receiver; (seconds, delivered, lost,
    duplicated, rejected)."""
    from django.db import transaction

    from webhooks import services
    from webhooks.models import Delivery

    receiver = harness.WebhookReceiver().start()
    try:
        new = services.create_endpoint(
            name="bench", url=receiver.url, event_types=["case.opened"], owner=None
        )
        receiver.secret = new.secret
        started = time.monotonic()  # the events are recorded, 500 per transaction
        for first in range(0, count, 500):
            with transaction.atomic():
                for number in range(first, min(first + 500, count)):
                    services.record_event(event_type="case.opened", data={"case": {"id": number}})
        expected = set(Delivery.objects.values_list("event_id", flat=True))
        harness.wait_until(lambda: len(receiver.ids()) >= count, timeout, "deliveries", 0.2)
        took = time.monotonic() - started
        time.sleep(1)  # anything posted twice arrives now
        received = Counter(receiver.ids())
        done = Delivery.objects.filter(status=Delivery.Status.DELIVERED).count()
        lost = len(expected - set(received))
        duplicated = sum(n - 1 for n in received.values())
        return took, done, lost, duplicated, len(receiver.rejected)
    finally:
        receiver.stop()


def run(options, workdir, cleanups) -> bool:
    os.environ["WEBHOOKS_ALLOW_PRIVATE_ADDRESSES"] = "1"  # the receiver is on loopback
    for note in bench.use_site(workdir, "api", cleanups, redis_db=13):
        say(f"  {note}")
    bench.start_django(cleanups)
    secret, opened, notices, reasons = prepare(options.cases)
    worker = harness.CeleryProcess(workdir / "worker.log", None)
    worker.start()
    cleanups.append(worker.stop)
    server = harness.Gunicorn(workdir, workers=2)
    server.start()
    cleanups.append(server.stop)

    say(f"\nAPI: {options.clients} clients for {options.seconds:.0f} s, 2 gunicorn workers")
    latencies, errors = traffic(
        server.port, secret, opened, notices, reasons, options.seconds, options.clients
    )
    server.stop()
    rps = len(latencies) / options.seconds
    bench.table([
        ("requests", "req/s", "p50 ms", "p99 ms", "errors"),
        (len(latencies), f"{rps:.0f}", f"{percentile(latencies, 50) * 1000:.1f}",
         f"{percentile(latencies, 99) * 1000:.1f}", sum(errors.values())),
    ])  # fmt: skip
    for error, count in errors.most_common(5):
        say(f"    {error}: {count}")

    say(f"\nWebhooks: {options.deliveries:,} deliveries to a loopback receiver, 1 worker")
    took, done, lost, duplicated, rejected = deliveries(options.deliveries, options.timeout)
    bench.table([
        ("deliveries", "seconds", "per s", "delivered", "lost", "duplicated", "bad signature"),
        (options.deliveries, f"{took:.1f}", f"{options.deliveries / took:.0f}", done, lost,
         duplicated, rejected),
    ])  # fmt: skip
    ok = not errors and not lost and not duplicated and not rejected and done == options.deliveries
    say(f"\n{bench.verdict(ok)}")
    return ok


if __name__ == "__main__":
    options = bench.options(
        __doc__,
        ("--seconds", 60.0, "seconds of API traffic"),
        ("--clients", 8, "concurrent API clients (threads, keep-alive)"),
        ("--cases", 300, "cases opened before the traffic"),
        ("--deliveries", 10_000, "webhook events to deliver"),
        ("--timeout", 900.0, "seconds allowed for the deliveries"),
    )
    sys.exit(bench.launch("bench-api-", run, options))
