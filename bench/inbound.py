"""Email in by IMAP and Maildir, the worker SIGKILLed half-way (README: Benchmarks)."""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import _support as support  # bench/_support.py, beside this file
from _support import say

PROJECT_DIR = Path(__file__).resolve().parent.parent
MIX = (  # kind, share of the messages (duplicates come on top: --duplicates)
    ("reply", 0.40),
    ("new", 0.30),
    ("auto", 0.17),
    ("bounce", 0.05),
    ("other_sender", 0.08),
)
NEW_SUBJECTS = (
    "No me ha llegado el reembolso",
    "Me han cobrado dos veces",
    "No puedo entrar en mi cuenta",
    "El paquete llegó roto",
    "Necesito una factura",
    "Quiero cambiar la talla",
    "My refund has not arrived",
    "Una pregunta sobre envíos",
)
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 80  # ~20 KB
STALL_SECONDS = 5.0
GIVE_UP_SECONDS = 600
QUOTE = "El lun, 7 dic 2026 a las 10:00, Centro de ayuda escribió:\n> Hola, ¿nos cuentas más?"


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages (the issue: 10000)")
    parser.add_argument("--cases", type=int, default=200, help="existing cases replied to")
    parser.add_argument("--duplicates", type=float, default=0.10, help="share delivered twice")
    parser.add_argument("--no-kill", action="store_true", help="do not kill the worker")
    parser.add_argument(
        "--broker",
        choices=("filesystem", "redis"),
        default="filesystem",
        help="the embedded broker (make run's), or a private redis-server started for the run",
    )
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return parser.parse_args(argv)


# -- the messages ------------------------------------------------------------------------------
def build_messages(count: int, cases: list, rng: random.Random) -> list[dict]:
    """One dict per message: kind, raw bytes, Message-ID, sender, and the case it is about."""
    from cases.selectors import case_message_id, reply_address
    from tests.inbound.mail import compose, delivery_report

    kinds = [kind for kind, share in MIX for _ in range(round(share * count))]
    kinds = (kinds + ["new"] * count)[:count]
    rng.shuffle(kinds)
    messages = []
    for number, kind in enumerate(kinds):
        token = f"bench-{number:06d}"
        message_id = f"<{token}@bench.example>"
        case = rng.choice(cases)
        attachments = (("foto.jpg", "image/jpeg", PHOTO),) if rng.random() < 0.10 else ()
        sender = case.customer_email
        if kind == "reply":
            raw = compose(
                sender=sender,
                to=reply_address(case.reference),
                subject=f"Re: Tu caso {case.reference}",
                text=f"Os contesto: {token}.\n\n{QUOTE}",
                message_id=message_id,
                attachments=attachments,
            )
        elif kind == "other_sender":
            sender = f"otro{number}@example.org"
            raw = compose(
                sender=sender, to=reply_address(case.reference), subject="Re: caso",
                text=f"Escribo por mi pareja: {token}.", message_id=message_id,
            )  # fmt: skip
        elif kind == "new":
            sender = f"nuevo{number}@example.com"
            raw = compose(
                sender=sender,
                subject=rng.choice(NEW_SUBJECTS),
                text=f"Os escribo por primera vez. Referencia interna {token}.",
                message_id=message_id,
                attachments=attachments,
            )
        elif kind == "auto":
            sender = f"auto{number}@example.net"
            raw = compose(
                sender=sender,
                to=reply_address(case.reference) if number % 2 else "ayuda@example.com",
                subject="Respuesta automática: fuera de la oficina",
                text=f"Estoy de vacaciones. {token}",
                headers={"Auto-Submitted": "auto-replied"},
                message_id=message_id,
            )
        else:  # a bounce of the case's acknowledgement
            sender = "mailer-daemon@mx.example.net"
            raw = delivery_report(
                recipient=case.customer_email,
                status="5.1.1",
                original_message_id=case_message_id(case.reference, f"case:{case.pk}:opened"),
                message_id=message_id,
            )
        messages.append(
            {"kind": kind, "raw": raw, "id": message_id, "token": token, "sender": sender}
        )
    return messages


def deliver(messages: list[dict], duplicates: float, dovecot, maildir: Path, rng) -> int:
    """Half to IMAP, half to the Maildir; a share of them again by the other route."""
    from tests.inbound.test_sources import drop_into

    again = rng.sample(messages, round(duplicates * len(messages)))
    imap: list[bytes] = []
    for number, message in enumerate(messages):
        if number % 2:
            imap.append(message["raw"])
        else:
            drop_into(maildir, f"{number:06d}.eml", message["raw"])
    for number, message in enumerate(again):
        if messages.index(message) % 2:
            drop_into(maildir, f"again-{number:06d}.eml", message["raw"])
        else:
            imap.append(message["raw"])
    client = dovecot.client()
    try:
        for raw in imap:
            client.append("INBOX", raw)
    finally:
        client.logout()
    return len(again)


# -- the run -----------------------------------------------------------------------------------
def run(options: argparse.Namespace, workdir: Path, cleanups: list) -> bool:
    if not support.harness.PrivateDovecot.available():
        say(support.harness.PrivateDovecot.MISSING)
        return False
    dovecot = support.harness.PrivateDovecot()
    dovecot.start()
    cleanups.append(dovecot.stop)
    var_dir = workdir / "var"
    os.environ.update(
        {
            **support.harness.development_settings(var_dir),
            "INBOUND_IMAP_URL": dovecot.url(),
            "INBOUND_POLL_SECONDS": "1",
            "INBOUND_IMAP_POLL_SECONDS": "1",
        }
    )
    for name in ("EMAIL_URL", "REDIS_URL", "REDIS_CACHE_URL"):
        os.environ.pop(name, None)  # mail to files, the embedded broker
    broker = f"kombu filesystem broker in {var_dir / 'broker'}"
    if options.broker == "redis":
        if not support.harness.PrivateRedis.available():
            say(support.MISSING["redis-server"])
            return False
        redis = support.harness.PrivateRedis(workdir)
        redis.start()
        cleanups.append(redis.stop)
        os.environ["REDIS_URL"] = redis.url(0)
        broker = f"a private redis-server on port {redis.port} (broker and cache)"
    database = support.harness.use_database("bench_inbound", var_dir, cleanups)
    support.harness.setup_django(PROJECT_DIR)
    from django.core.management import call_command

    say(f"Inbound mail benchmark, {support.uptime()}")
    say(f"  database: {database}; broker: {broker}")
    support.load_demo_content()
    call_command("rebuild_search_index", stdout=io.StringIO())  # its progress bar
    rng = random.Random(options.seed)
    cases = [case for case, _reference, _email in _open_cases(options.cases, options.seed)]
    messages = build_messages(options.messages, cases, rng)
    started = time.monotonic()
    again = deliver(messages, options.duplicates, dovecot, var_dir / "mail-in", rng)
    say(
        f"  delivered {len(messages):,} messages ({again:,} of them twice) to Dovecot and the"
        f" Maildir in {time.monotonic() - started:.1f} s; {Counter(m['kind'] for m in messages)}"
    )
    return process_and_check(messages, workdir, options, cleanups)


def _open_cases(count: int, seed: int):
    from cases.models import Case

    opened = support.open_cases(count, seed)
    cases = Case.objects.in_bulk([case_id for case_id, _reference, _email in opened])
    return [(cases[case_id], reference, email) for case_id, reference, email in opened]


def _processed() -> tuple[int, int]:
    from inbound.models import InboundMessage

    rows = InboundMessage.objects.count()
    waiting = InboundMessage.objects.filter(status=InboundMessage.Status.RECEIVED).count()
    return rows, rows - waiting


def process_and_check(messages, workdir: Path, options, cleanups) -> bool:
    from django.utils import timezone

    from inbound import services

    env = support.harness.process_env()
    beat = support.harness.CeleryProcess(workdir / "beat.log", env, beat=True)
    worker = support.harness.CeleryProcess(workdir / "worker.log", env, concurrency=2)
    cleanups.extend([beat.stop, lambda: worker.stop()])
    expected = len(messages)
    started = time.time()
    worker.start()
    beat.start()
    killed = options.no_kill
    last_progress, last_done = time.monotonic(), -1
    simulated = timedelta(0)
    while True:
        time.sleep(0.5)
        for process in (worker, beat):
            if not process.alive():  # as a supervisor would (README: run each under one)
                say(f"  warning: {process.name} exited by itself; starting it again")
                process.start()
        rows, done = _processed()
        if done != last_done:
            last_progress, last_done = time.monotonic(), done
        if rows >= expected and done >= expected:
            break
        if not killed and done >= expected // 2:
            worker.kill()
            say(f"  worker SIGKILLed at {done:,} processed; starting another")
            worker.start()
            killed = True
        stalled = time.monotonic() - last_progress > STALL_SECONDS
        if killed and stalled and rows >= expected:
            # Tasks that died with the worker: beat's sweeper queues them again once they
            # have waited two minutes; move its clock instead of waiting. (A message whose
            # task is only late, behind others in the queue, gets a second task, which finds
            # it done and does nothing.)
            simulated += timedelta(minutes=3)
            queued = services.process_waiting_messages(now=timezone.now() + simulated)
            say(f"  sweeper (clock +{simulated}): {queued} messages queued again")
            last_progress = time.monotonic()
        if time.monotonic() - last_progress > GIVE_UP_SECONDS:
            say(f"  no progress for {GIVE_UP_SECONDS} s: giving up")
            break
    finished = time.time()
    worker.stop()
    beat.stop()
    return report(messages, started, finished)


def report(messages: list[dict], started: float, finished: float) -> bool:
    from cases.models import Case, CaseEvent
    from inbound.models import InboundMessage
    from notifications.models import OutgoingMessage, SuppressedAddress

    rows = {row.message_id: row for row in InboundMessage.objects.all()}
    by_kind: dict[str, list[dict]] = {}
    for message in messages:
        by_kind.setdefault(message["kind"], []).append(message)
    tokens = Counter()
    for body in CaseEvent.objects.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).values_list(
        "body", flat=True
    ):
        for word in body.replace(".", " ").split():
            if word.startswith("bench-"):
                tokens[word] += 1
    new_cases = Counter(
        Case.objects.filter(customer_email__startswith="nuevo").values_list(
            "customer_email", flat=True
        )
    )
    lost = sum(1 for message in messages if message["id"] not in rows)
    lost += InboundMessage.objects.filter(status=InboundMessage.Status.RECEIVED).count()
    lost += sum(1 for m in by_kind.get("reply", []) if tokens[m["token"]] == 0)
    lost += sum(1 for m in by_kind.get("new", []) if new_cases[m["sender"]] == 0)
    duplicated = sum(count - 1 for count in tokens.values() if count > 1)
    duplicated += sum(count - 1 for count in new_cases.values() if count > 1)
    robots = {m["sender"] for m in by_kind.get("auto", []) + by_kind.get("bounce", [])}
    loops = OutgoingMessage.objects.filter(recipient__in=robots).count()
    loops += sum(1 for m in by_kind.get("auto", []) if tokens[m["token"]])
    auto_cases = Case.objects.filter(customer_email__in=robots).count()
    held = sum(
        1
        for m in by_kind.get("other_sender", [])
        if rows.get(m["id"]) and rows[m["id"]].status == InboundMessage.Status.HELD
    )
    received_twice = InboundMessage.objects.filter(times_received__gt=1).count()
    last_event = (
        CaseEvent.objects.filter(by_customer=True).order_by("-created_at").first().created_at
    )
    elapsed = finished - started
    say("")
    say(f"  {len(rows):,} messages processed in {elapsed:.1f} s: {len(rows) / elapsed:.1f} per s")
    say(f"  time to the last case event: {last_event.timestamp() - started:.1f} s after start")
    say(f"  received twice (one row each): {received_twice:,}")
    unprocessed = InboundMessage.objects.filter(status=InboundMessage.Status.UNPROCESSED).count()
    say(f"  filed for staff as unprocessed: {unprocessed:,}")
    say(f"  held for staff (another sender): {held:,} of {len(by_kind.get('other_sender', []))}")
    say(f"  addresses suppressed by bounces: {SuppressedAddress.objects.count():,}")
    say(
        f"  lost {lost}, duplicated {duplicated}, loops {loops},"
        f" auto-replies that opened a case {auto_cases}"
    )
    say(f"  load average at the end: {support.uptime()}")
    return lost == duplicated == loops == auto_cases == 0


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    return support.harness.run_benchmark(
        "bench-inbound-",
        lambda workdir, cleanups: run(options, workdir, cleanups),
        keep=options.keep,
    )


if __name__ == "__main__":
    sys.exit(main())
