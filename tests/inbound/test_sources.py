"""Issue 17, item 3: every source, real. The embedded Maildir that the worker reads (the loop
``make run`` shows), ``manage.py receive_email`` on a real pipe, an IMAP mailbox on a real
Dovecot, and a signed Mailgun webhook through django-anymail; and a broker that is down loses
nothing (the message is stored first, the sweeper processes it later)."""

import hashlib
import hmac
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from cases.models import Case, CaseEvent
from inbound import services, tasks
from inbound.models import InboundMessage, MailboxCursor
from inbound.sources.imap import ImapMailbox, fetch_imap
from inbound.sources.maildir import fetch_maildir
from tests.conftest import ROOT, broker_unreachable, subprocess_env, wait_for
from tests.inbound.conftest import case_mail
from tests.inbound.mail import compose, reply_to

Status, Outcome = InboundMessage.Status, InboundMessage.Outcome


def drop_into(maildir: Path, name: str, raw: bytes) -> None:
    """What a mail server's Maildir delivery does: write in tmp/, then move into new/."""
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    (maildir / "tmp" / name).write_bytes(raw)
    (maildir / "tmp" / name).rename(maildir / "new" / name)


# --- Maildir ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_maildir_is_read_once_and_its_files_move_to_cur(tmp_path, settings, other_reason):
    settings.INBOUND_MAILDIR = tmp_path / "mail-in"
    drop_into(settings.INBOUND_MAILDIR, "1.eml", compose(subject="Uno", text="Primero"))
    drop_into(settings.INBOUND_MAILDIR, "2.eml", compose(subject="Dos", text="Segundo"))

    assert tasks.fetch_inbound_maildir() == 2
    assert tasks.fetch_inbound_maildir() == 0

    assert sorted(path.name for path in (settings.INBOUND_MAILDIR / "cur").iterdir()) == [
        "1.eml:2,S",
        "2.eml:2,S",
    ]
    assert not list((settings.INBOUND_MAILDIR / "new").iterdir())
    assert InboundMessage.objects.filter(source="maildir").count() == 2


@pytest.mark.django_db
def test_the_same_file_dropped_twice_is_one_message(tmp_path, other_reason):
    raw = compose(subject="Repetido", text="Una vez")
    drop_into(tmp_path, "a.eml", raw)
    fetch_maildir(tmp_path)
    drop_into(tmp_path, "b.eml", raw)
    fetch_maildir(tmp_path)

    message = InboundMessage.objects.get()
    assert message.times_received == 2


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_reads_the_maildir_and_the_reply_reaches_its_case(
    celery_worker, settings, make_case
):
    """The loop ``make run`` shows: drop a reply into var/mail-in/new, beat's job (sent here by
    name, as beat sends it) runs in the real worker, the case has the customer's message."""
    case = make_case()
    raw = reply_to(case_mail(case), text="Contesto desde mi correo.")
    drop_into(settings.VAR_DIR / "mail-in", f"reply-{case.pk}.eml", raw)

    tasks.fetch_inbound_maildir.delay()

    event = wait_for(
        lambda: CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.CUSTOMER_MESSAGE).first()
    )
    assert event.body == "Contesto desde mi correo."
    assert InboundMessage.objects.get(case=case).status == Status.PROCESSED


# --- A pipe from Postfix or Exim --------------------------------------------------------------


def _pipe(raw: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "receive_email"],
        input=raw,
        capture_output=True,
        cwd=ROOT,
        env=subprocess_env(),
        timeout=60,
        check=False,
    )


@pytest.mark.django_db(transaction=True)
def test_receive_email_stores_the_message_read_on_a_pipe(other_reason):
    raw = compose(subject="Por la tubería", text="Llega por Postfix.")

    result = _pipe(raw)

    assert result.returncode == 0, result.stderr
    message = InboundMessage.objects.get(source="pipe")
    assert bytes(message.raw) == raw
    assert _pipe(raw).returncode == 0  # delivered twice: still one message
    assert InboundMessage.objects.get().times_received == 2


@pytest.mark.django_db(transaction=True)
def test_receive_email_refuses_empty_input_without_a_retry():
    assert _pipe(b"").returncode == 65  # EX_DATAERR: the mail server bounces it


# --- The broker or the worker down ------------------------------------------------------------


@pytest.mark.django_db
def test_with_the_broker_down_the_message_is_stored_and_the_sweeper_processes_it(
    other_reason, django_capture_on_commit_callbacks
):
    with broker_unreachable(), django_capture_on_commit_callbacks(execute=True):
        stored = services.receive_message(raw=compose(text="¿Me oís?"), source="pipe")
    assert InboundMessage.objects.get(pk=stored.message.pk).status == Status.RECEIVED

    assert services.process_waiting_messages() == 0  # too soon: its task may still come
    later = timezone.now() + timedelta(minutes=3)
    with django_capture_on_commit_callbacks() as queued:
        assert services.process_waiting_messages(now=later) == 1
    assert len(queued) == 1  # the task is queued again, after commit
    assert services.process_waiting_messages(now=later) == 0  # not twice in one grace period

    tasks.process_inbound_message(stored.message.pk)  # what that task does
    assert InboundMessage.objects.get().outcome == Outcome.CASE_OPENED


@pytest.mark.django_db
def test_a_message_that_keeps_failing_is_filed_for_staff(other_reason):
    stored = services.receive_message(raw=compose(text="Hola"), source="pipe")
    InboundMessage.objects.filter(pk=stored.message.pk).update(attempts=5)

    services.process_waiting_messages(now=timezone.now() + timedelta(minutes=3))

    message = InboundMessage.objects.get()
    assert (message.status, message.outcome) == (Status.UNPROCESSED, Outcome.FAILED)


# --- IMAP, on a real Dovecot -----------------------------------------------------------------


@pytest.mark.django_db
def test_imap_messages_are_stored_once_and_left_flagged_seen(dovecot, other_reason):
    dovecot.deliver(compose(subject="Por IMAP", text="Uno"), compose(subject="Otro", text="Dos"))
    mailbox = ImapMailbox.from_url(dovecot.url())

    assert fetch_imap(mailbox) == 2
    assert fetch_imap(mailbox) == 0  # nothing new: the cursor is past both
    dovecot.deliver(compose(subject="Tercero", text="Tres"))
    assert fetch_imap(mailbox) == 1

    assert InboundMessage.objects.filter(source="imap").count() == 3
    client = dovecot.client()
    client.select_folder("INBOX")
    assert len(client.search(["SEEN"])) == 3  # a person reading the mailbox sees what we took
    client.logout()


@pytest.mark.django_db
def test_imap_messages_move_to_the_archive_folder(dovecot, other_reason):
    dovecot.deliver(compose(subject="Archivar", text="Uno"))

    fetch_imap(ImapMailbox.from_url(dovecot.url()), archive_folder="Procesados")

    client = dovecot.client()
    assert client.select_folder("INBOX")[b"EXISTS"] == 0
    assert client.select_folder("Procesados")[b"EXISTS"] == 1
    client.logout()


@pytest.mark.django_db
def test_a_message_already_stored_is_not_stored_again_when_the_cursor_is_lost(
    dovecot, other_reason
):
    dovecot.deliver(compose(subject="Una vez", text="Solo una"))
    mailbox = ImapMailbox.from_url(dovecot.url())
    fetch_imap(mailbox)
    MailboxCursor.objects.all().delete()  # as after a crash before the cursor moved

    fetch_imap(mailbox)

    assert InboundMessage.objects.get().times_received == 2


@pytest.mark.django_db
def test_the_beat_job_reads_the_configured_imap_mailbox(dovecot, settings, make_case):
    case = make_case()
    dovecot.deliver(reply_to(case_mail(case), text="Respondo por IMAP."))
    settings.INBOUND_IMAP_URL = dovecot.url()

    assert tasks.fetch_inbound_imap() == 1
    message = InboundMessage.objects.get()
    tasks.process_inbound_message(message.pk)

    assert case.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).body == "Respondo por IMAP."


def test_an_imap_url_says_what_it_needs():
    mailbox = ImapMailbox.from_url("imaps://ayuda%40example.com:p%40ss@imap.example.com/Soporte")

    assert (mailbox.username, mailbox.password) == ("ayuda@example.com", "p@ss")
    assert (mailbox.port, mailbox.folder, mailbox.use_ssl) == (993, "Soporte", True)
    with pytest.raises(ValueError):
        ImapMailbox.from_url("pop3://x@y")


# --- Providers' webhooks (django-anymail) -----------------------------------------------------

SIGNING_KEY = "key-mailgun-webhook-signing-test"
FIRST_TOKEN = "f3a9c1d0b6e44d2a9a8f7e6d5c4b3a29182736455463728190"


def _mailgun_post(
    raw: bytes,
    *,
    key: str = SIGNING_KEY,
    token: str = FIRST_TOKEN,
    age: int = 0,
) -> dict[str, str]:
    """A Mailgun route's forward() of a message, signed as Mailgun signs it, ``age`` seconds
    ago."""
    timestamp = str(int(time.time()) - age)
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return {
        "body-mime": raw.decode("utf-8"),
        "recipient": "ayuda@example.com",
        "sender": "ana@example.com",
        "timestamp": timestamp,
        "token": token,
        "signature": signature.hexdigest(),
    }


@pytest.fixture
def mailgun(settings):
    settings.INBOUND_WEBHOOKS = ["mailgun"]
    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


@pytest.mark.django_db
def test_a_signed_mailgun_post_is_stored_and_opens_a_case(
    client, mailgun, other_reason, django_capture_on_commit_callbacks
):
    raw = compose(subject="Desde Mailgun", text="Llego por un webhook firmado.").replace(
        b"\n", b"\r\n"
    )

    with django_capture_on_commit_callbacks() as queued:
        response = client.post("/inbound/mailgun/", _mailgun_post(raw))

    assert response.status_code == 200
    message = InboundMessage.objects.get(source="webhook:mailgun")
    assert bytes(message.raw) == raw and len(queued) == 1
    tasks.process_inbound_message(message.pk)  # what the queued task does
    message.refresh_from_db()
    assert message.outcome == Outcome.CASE_OPENED
    assert message.case.subject == "Desde Mailgun"


@pytest.mark.django_db
def test_a_mailgun_post_with_a_wrong_signature_stores_nothing(client, mailgun):
    raw = compose(subject="Falsificado", text="No debería entrar.")

    response = client.post("/inbound/mailgun/", _mailgun_post(raw, key="someone-elses-key"))

    assert response.status_code == 400
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db
def test_a_mailgun_signature_seen_once_cannot_carry_another_message(client, mailgun):
    """Mailgun signs a timestamp and a token, not the message: whoever saw one signed post
    (a proxy's log, say) could send any message with its signature, a forged
    Authentication-Results inside. As Mailgun advises, a token is honoured once, and only
    while its timestamp is recent; the answer is 200 all the same (nothing to retry)."""
    first = compose(subject="Original", text="El de verdad.")
    forged = compose(subject="Falsificado", text="Con la firma de otro.")
    assert client.post("/inbound/mailgun/", _mailgun_post(first)).status_code == 200

    replayed = client.post("/inbound/mailgun/", _mailgun_post(forged))
    stale = _mailgun_post(forged, token="0" * 50, age=2 * 24 * 60 * 60)
    too_old = client.post("/inbound/mailgun/", stale)

    assert replayed.status_code == too_old.status_code == 200
    assert bytes(InboundMessage.objects.get().raw) == first
    fresh = client.post("/inbound/mailgun/", _mailgun_post(forged, token="1" * 50))
    assert fresh.status_code == 200 and InboundMessage.objects.count() == 2


@pytest.mark.django_db
def test_a_provider_that_is_not_enabled_or_not_secured_is_not_there(client, settings):
    settings.INBOUND_WEBHOOKS = ["postmark"]
    settings.ANYMAIL = {"WEBHOOK_SECRET": ""}

    assert client.post("/inbound/mailgun/", {"x": "y"}).status_code == 404
    assert client.post("/inbound/postmark/", {"x": "y"}).status_code == 404  # no secret set
    assert client.post("/inbound/nonsense/", {"x": "y"}).status_code == 404
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_postmark_needs_its_basic_auth(client, settings):
    settings.INBOUND_WEBHOOKS = ["postmark"]
    settings.ANYMAIL = {"WEBHOOK_SECRET": "postmark:s3cret"}

    response = client.post("/inbound/postmark/", "{}", content_type="application/json")

    assert response.status_code == 400
