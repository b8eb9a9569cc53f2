"""Email in by IMAP and Maildir, the worker SIGKILLed half-way (README: Benchmarks)."""

from __future__ import annotations

import io
import os
import random
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import _support as bench
from _support import harness, say

SEED = 17
MIX = {"reply": 0.40, "new": 0.30, "auto": 0.17, "bounce": 0.05, "other_sender": 0.08}
DUPLICATES = 0.10  # share delivered a second time, by the other route
NEW_SUBJECTS = (
    "No me ha llegado el reembolso", "Me han cobrado dos veces", "No puedo entrar en mi cuenta",
    "El paquete llegó roto", "Necesito una factura", "Quiero cambiar la talla",
    "My refund has not arrived", "Una pregunta sobre envíos",
)  # fmt: skip
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 80  # ~20 KB
STALL_SECONDS = 5.0
GIVE_UP_SECONDS = 600
QUOTE = "El lun, 7 dic 2026 a las 10:00, Centro de ayuda escribió:\n> Hola, ¿nos cuentas más?"


# -- the messages ------------------------------------------------------------------------------
def build_messages(count: int, cases: list, rng: random.Random) -> list[dict]:
    """One dict per message: kind, raw bytes, Message-ID, token and sender."""
    from cases.selectors import case_message_id, reply_address
    from tests.inbound.mail import compose, delivery_report

    kinds = [kind for kind, share in MIX.items() for _ in range(round(share * count))]
    kinds = (kinds + ["new"] * count)[:count]
    rng.shuffle(kinds)
    messages = []
    for number, kind in enumerate(kinds):
        token = f"bench-{number:06d}"
        message_id, case = f"<{token}@bench.example>", rng.choice(cases)
        photo = (("foto.jpg", "image/jpeg", PHOTO),) if rng.random() < 0.10 else ()
        sender, to = case.customer_email, reply_address(case.reference)
        mail = {"to": to, "message_id": message_id}
        if kind == "reply":
            text = f"Os contesto: {token}.\n\n{QUOTE}"
            mail.update(subject=f"Re: Tu caso {case.reference}", text=text, attachments=photo)
        elif kind == "other_sender":
            sender = f"otro{number}@example.org"
            mail.update(subject="Re: caso", text=f"Escribo por mi pareja: {token}.")
        elif kind == "new":
            sender, subject = f"nuevo{number}@example.com", rng.choice(NEW_SUBJECTS)
            text = f"Os escribo por primera vez. Referencia interna {token}."
            del mail["to"]  # to the support address
            mail.update(subject=subject, text=text, attachments=photo)
        elif kind == "auto":
            sender, text = f"auto{number}@example.net", f"Estoy de vacaciones. {token}"
            subject = "Respuesta automática: fuera de la oficina"
            mail.update(to=to if number % 2 else "ayuda@example.com", subject=subject, text=text,
                        headers={"Auto-Submitted": "auto-replied"})  # fmt: skip
        if kind == "bounce":  # of the case's acknowledgement
            sender, opened = "mailer-daemon@mx.example.net", f"case:{case.pk}:opened"
            original = case_message_id(case.reference, opened)
            raw = delivery_report(recipient=case.customer_email, status="5.1.1",
                                  original_message_id=original, message_id=message_id)  # fmt: skip
        else:
            raw = compose(sender=sender, **mail)
        messages.append({"kind": kind, "raw": raw, "id": message_id, "token": token,
                         "sender": sender, "number": number})  # fmt: skip
    return messages


def deliver(messages: list[dict], dovecot, maildir: Path, rng) -> int:
    """Half to IMAP, half to the Maildir; a share of them again by the other route."""
    from tests.inbound.test_sources import drop_into

    again = rng.sample(messages, round(DUPLICATES * len(messages)))
    imap = [message["raw"] for message in messages if message["number"] % 2]
    for number, message in [(m["number"], m) for m in messages if not m["number"] % 2]:
        drop_into(maildir, f"{number:06d}.eml", message["raw"])
    for number, message in enumerate(again):
        if message["number"] % 2:
            drop_into(maildir, f"again-{number:06d}.eml", message["raw"])
        else:
            imap.append(message["raw"])
    dovecot.deliver(*imap)
    return len(again)


# -- the run -----------------------------------------------------------------------------------
def run(options, workdir: Path, cleanups: bench.Cleanups) -> bool:
    dovecot = harness.PrivateDovecot()
    dovecot.start()
    cleanups.append(dovecot.stop)
    redis_url = ""  # the embedded broker, as `make run` has it
    if options.broker == "redis":
        redis = harness.PrivateRedis(workdir)
        redis.start()
        cleanups.append(redis.stop)
        redis_url = redis.url(0)
    notes = bench.use_site(workdir, "inbound", cleanups, debug=True, redis_url=redis_url)
    os.environ.update(INBOUND_IMAP_URL=dovecot.url(), INBOUND_POLL_SECONDS="1",
                      INBOUND_IMAP_POLL_SECONDS="1")  # fmt: skip
    bench.start_django(cleanups)
    from django.core.management import call_command

    from cases.models import Case

    say(f"Inbound mail benchmark, {bench.uptime()}")
    bench.say_each(notes)
    bench.load_demo_content()
    call_command("rebuild_search_index", stdout=io.StringIO())  # its progress bar
    rng = random.Random(SEED)
    ids = [case_id for case_id, _, _ in bench.open_cases(options.cases, SEED)]
    cases = Case.objects.in_bulk(ids)
    messages = build_messages(options.messages, [cases[case_id] for case_id in ids], rng)
    started = time.monotonic()
    again = deliver(messages, dovecot, workdir / "var" / "mail-in", rng)
    say(
        f"  delivered {len(messages):,} messages ({again:,} of them twice) to Dovecot and the"
        f" Maildir in {time.monotonic() - started:.1f} s; {Counter(m['kind'] for m in messages)}"
    )
    return process_and_check(messages, workdir, options.no_kill, cleanups)


def processed() -> tuple[int, int]:
    from inbound.models import InboundMessage

    rows = InboundMessage.objects.count()
    return rows, rows - InboundMessage.objects.filter(status=InboundMessage.Status.RECEIVED).count()


def process_and_check(messages, workdir: Path, killed: bool, cleanups) -> bool:
    from django.utils import timezone

    from inbound import services

    env = harness.process_env()
    beat = harness.CeleryProcess(workdir / "beat.log", env, beat=True)
    worker = harness.CeleryProcess(workdir / "worker.log", env, concurrency=2)
    cleanups.extend([beat.stop, lambda: worker.stop()])
    expected, started = len(messages), time.time()
    worker.start()
    beat.start()
    last_progress, last_done, simulated = time.monotonic(), -1, timedelta(0)
    while True:
        time.sleep(0.5)
        for process in (worker, beat):
            if not process.alive():  # as a supervisor would (README: run each under one)
                say(f"  warning: {process.name} exited by itself; starting it again")
                process.start()
        rows, done = processed()
        if done != last_done:
            last_progress, last_done = time.monotonic(), done
        if rows >= expected and done >= expected:
            break
        if not killed and done >= expected // 2:
            worker.kill()
            say(f"  worker SIGKILLed at {done:,} processed; starting another")
            worker.start()
            killed = True
        if killed and time.monotonic() - last_progress > STALL_SECONDS and rows >= expected:
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
    by_kind: dict[str, list[dict]] = {kind: [] for kind in MIX}
    for message in messages:
        by_kind[message["kind"]].append(message)
    bodies = CaseEvent.objects.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).values_list(
        "body", flat=True
    )
    tokens = Counter(
        w for body in bodies for w in body.replace(".", " ").split() if w.startswith("bench-")
    )
    new_cases = Counter(
        Case.objects.filter(customer_email__startswith="nuevo").values_list(
            "customer_email", flat=True
        )
    )
    lost = sum(1 for message in messages if message["id"] not in rows)
    lost += InboundMessage.objects.filter(status=InboundMessage.Status.RECEIVED).count()
    lost += sum(1 for m in by_kind["reply"] if tokens[m["token"]] == 0)
    lost += sum(1 for m in by_kind["new"] if new_cases[m["sender"]] == 0)
    duplicated = sum(n - 1 for counter in (tokens, new_cases) for n in counter.values() if n > 1)
    robots = {m["sender"] for m in by_kind["auto"] + by_kind["bounce"]}
    loops = OutgoingMessage.objects.filter(recipient__in=robots).count()
    loops += sum(1 for m in by_kind["auto"] if tokens[m["token"]])
    auto_cases = Case.objects.filter(customer_email__in=robots).count()
    held = sum(rows[m["id"]].status == "held" for m in by_kind["other_sender"] if m["id"] in rows)
    last_event = CaseEvent.objects.filter(by_customer=True).latest("created_at").created_at
    twice = InboundMessage.objects.filter(times_received__gt=1).count()
    unprocessed = InboundMessage.objects.filter(status=InboundMessage.Status.UNPROCESSED).count()
    elapsed = finished - started
    say("")
    say(f"  {len(rows):,} messages processed in {elapsed:.1f} s: {len(rows) / elapsed:.1f} per s")
    say(f"  time to the last case event: {last_event.timestamp() - started:.1f} s after start")
    say(f"  received twice (one row each): {twice:,}")
    say(f"  filed for staff as unprocessed: {unprocessed:,}")
    say(f"  held for staff (another sender): {held:,} of {len(by_kind['other_sender'])}")
    say(f"  addresses suppressed by bounces: {SuppressedAddress.objects.count():,}")
    say(f"  lost {lost}, duplicated {duplicated}, loops {loops}, auto-replies that opened a case"
        f" {auto_cases}")  # fmt: skip
    say(f"  load average at the end: {bench.uptime()}")
    return lost == duplicated == loops == auto_cases == 0


if __name__ == "__main__":
    options = bench.options(
        __doc__,
        ("--messages", 2000, "messages (the issue: 10000)"),
        ("--cases", 200, "existing cases replied to (200)"),
        ("--no-kill", "do not kill the worker"),
        ("--broker", "filesystem", "filesystem (make run's) or redis (a private redis-server)"),
        require=[(lambda o: o.broker in ("filesystem", "redis"), "--broker filesystem or redis")],
    )  # fmt: skip
    needs = ["dovecot"] + (["redis-server"] if options.broker == "redis" else [])
    sys.exit(bench.launch("bench-inbound-", run, options, needs=needs))
