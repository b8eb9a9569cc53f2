"""Fan-out chunks: claimed together, each row marked sent as soon as the server accepts it."""

import email
import email.policy
import importlib
import socket
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.core.mail import get_connection
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import tasks
from notifications.models import Dispatch, OutgoingMessage, Subscriber, SuppressedAddress
from notifications.services import announcements, outbox, subscribers
from tests.factories import AnnouncementFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailing(django_capture_on_commit_callbacks):
    """Publish an announcement to these subscribers and plan it; returns the rows' ids."""

    def make(*subscribers: tuple[str, str], **announcement) -> list[int]:
        for address, language in subscribers:
            SubscriberFactory(email=address, language=language)
        with django_capture_on_commit_callbacks(execute=False):
            published = announcements.publish_announcement(
                announcement=AnnouncementFactory.build(**announcement), actor=None
            )
            dispatch = Dispatch.objects.get(announcement=published)
            announcements.plan_dispatch(dispatch_id=dispatch.pk)
        return list(
            OutgoingMessage.objects.filter(dispatch=dispatch)
            .order_by("pk")
            .values_list("pk", flat=True)
        )

    return make


def statuses(ids: list[int]) -> dict[str, str]:
    return dict(OutgoingMessage.objects.filter(pk__in=ids).values_list("recipient", "status"))


def test_a_chunk_run_twice_sends_each_row_once(smtp_sink, mailing):
    ids = mailing(("ana@example.com", "es"), ("bob@example.com", "en"), ("eva@example.com", "es"))

    assert tasks.send_message_batch(ids) == {"sent": 3, "failed": 0, "retry": 0, "skipped": 0}
    assert tasks.send_message_batch(ids) == {"sent": 0, "failed": 0, "retry": 0, "skipped": 3}

    assert sorted(smtp_sink.recipients()) == [
        "ana@example.com",
        "bob@example.com",
        "eva@example.com",
    ]
    rows = OutgoingMessage.objects.filter(pk__in=ids)
    assert {(row.status, row.attempts) for row in rows} == {(OutgoingMessage.Status.SENT, 1)}
    assert all(row.sent_at for row in rows)


def test_a_chunk_leaves_alone_the_rows_another_task_holds(smtp_sink, mailing):
    ids = mailing(("ana@example.com", "es"), ("bob@example.com", "es"))
    OutgoingMessage.objects.filter(pk=ids[0]).update(
        status=OutgoingMessage.Status.SENDING, sending_started_at=timezone.now()
    )

    assert outbox.deliver_messages(message_ids=ids)["skipped"] == 1

    assert smtp_sink.recipients() == ["bob@example.com"]


def test_a_chunk_takes_over_rows_stuck_in_sending(smtp_sink, mailing):
    ids = mailing(("ana@example.com", "es"))
    OutgoingMessage.objects.filter(pk=ids[0]).update(
        status=OutgoingMessage.Status.SENDING,
        sending_started_at=timezone.now() - outbox.SENDING_TIMEOUT - timedelta(seconds=1),
        attempts=1,
    )

    assert outbox.deliver_messages(message_ids=ids)["sent"] == 1
    assert OutgoingMessage.objects.get(pk=ids[0]).attempts == 2


def test_suppressed_and_refused_addresses_fail_without_stopping_the_chunk(smtp_sink, mailing):
    ids = mailing(
        ("Vetada@Example.com", "es"), ("nadie@example.com", "es"), ("ana@example.com", "es")
    )
    SuppressedAddress.objects.create(email="VETADA@example.com", reason="550 earlier")
    smtp_sink.refuse["nadie@example.com"] = 550

    outcomes = outbox.deliver_messages(message_ids=ids)

    assert outcomes == {"sent": 1, "failed": 2, "retry": 0, "skipped": 0}
    assert smtp_sink.recipients() == ["ana@example.com"]
    assert SuppressedAddress.objects.filter(email="nadie@example.com").exists()
    assert statuses(ids)["Vetada@Example.com"] == OutgoingMessage.Status.FAILED


def test_a_transient_refusal_in_a_chunk_backs_off_that_row_only(smtp_sink, mailing):
    ids = mailing(("ana@example.com", "es"), ("bob@example.com", "es"))
    smtp_sink.refuse["ana@example.com"] = 451

    outcomes = outbox.deliver_messages(message_ids=ids)

    assert (outcomes["sent"], outcomes["retry"]) == (1, 1)
    ana = OutgoingMessage.objects.get(recipient="ana@example.com")
    assert ana.status == OutgoingMessage.Status.QUEUED
    assert ana.next_attempt_at > timezone.now() + timedelta(seconds=20)


def test_a_chunk_gives_back_what_it_did_not_reach_within_its_lease(
    smtp_sink, mailing, monkeypatch, django_capture_on_commit_callbacks
):
    ids = mailing(("ana@example.com", "es"), ("bob@example.com", "es"))
    monkeypatch.setattr(outbox, "CLAIM_LEASE", timedelta(seconds=-1))  # already over

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert outbox.deliver_messages(message_ids=ids)["skipped"] == 2

    assert smtp_sink.recipients() == []
    rows = OutgoingMessage.objects.filter(pk__in=ids)
    assert {(row.status, row.attempts) for row in rows} == {(OutgoingMessage.Status.QUEUED, 0)}
    assert len(callbacks) == 1  # queued again at once


def test_mail_server_down_leaves_the_chunk_queued_for_the_sweeper(
    smtp_sink, mailing, settings, django_capture_on_commit_callbacks
):
    ids = mailing(("ana@example.com", "es"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = probe.getsockname()[1]  # nothing listens there

    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(OSError),
    ):
        outbox.deliver_messages(message_ids=ids)

    row = OutgoingMessage.objects.get(pk=ids[0])
    assert (row.status, row.attempts) == (OutgoingMessage.Status.QUEUED, 0)
    assert callbacks == []  # not at once: the sweeper re-queues it after its grace period


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def headers(message: email.message.EmailMessage) -> list[tuple[str, str]]:
    """Every header but the date (now) and the boundary (random), unfolded."""
    return [
        (name, message.get_content_type() if name == "Content-Type" else str(value).strip())
        for name, value in message.items()
        if name != "Date"
    ]


def test_prototype_bytes_are_the_email_build_email_makes(smtp_sink, mailing):
    ids = mailing(
        ("ana@example.com", "es"),
        ("bob@example.com", "en"),
        title_es="Caída de los pagos con tarjeta en toda la web: estamos trabajando en ello ya",
        title_en="Card payments are down across the whole site: we are working on it right now",
    )
    prototypes = outbox._Prototypes(get_connection())
    rows = OutgoingMessage.objects.filter(pk__in=ids).select_related("dispatch")

    for stored in rows:
        row = outbox._with_minted_links(stored, now=timezone.now())  # as the chunk sends it
        sender, raw = prototypes.render(row)
        fast, slow = parsed(raw), parsed(outbox.build_email(row).message().as_bytes(linesep="\r\n"))
        # The sender's name is the site's name in the reader's language.
        expected = {"es": "Centro de ayuda", "en": "Help center"}[row.language]
        assert sender == f"{expected} <ayuda@example.com>"
        assert headers(fast) == headers(slow)
        assert [(p.get_content_type(), p.get_content()) for p in fast.iter_parts()] == [
            (p.get_content_type(), p.get_content()) for p in slow.iter_parts()
        ]
        assert row.unsubscribe_url in fast.get_body(("plain",)).get_content()
        assert fast["Date"]


def test_rows_the_prototype_cannot_render_are_built_as_usual(smtp_sink, mailing):
    ids = mailing(("Ana.Perez@Example.COM", "es"), ("bob@example.com", "es"))
    prototypes = outbox._Prototypes(get_connection())
    odd, plain = OutgoingMessage.objects.filter(pk__in=ids).order_by("pk")

    now = timezone.now()
    assert prototypes.render(outbox._with_minted_links(odd, now=now)) is None
    assert prototypes.render(outbox._with_minted_links(plain, now=now)) is not None
    assert prototypes.render(plain) is None  # a stored row: its link is still a placeholder
    assert outbox.deliver_messages(message_ids=ids)["sent"] == 2
    received = {str(message["To"]): message for message in smtp_sink.messages}
    assert set(received) == {"Ana.Perez@Example.COM", "bob@example.com"}
    for row in (odd, plain):
        sent = received[row.recipient]
        assert sent["Message-ID"] == outbox._message_id(row)
        # The subscriber's own unsubscribe link (signed with the time: compared by whom it
        # unsubscribes, not letter by letter).
        link = str(sent["List-Unsubscribe"]).strip()[1:-1]
        token = link.rstrip("/").rsplit("/", 1)[1]
        assert link.startswith("http") and "/unsubscribe/" in link
        assert subscribers.subscriber_for_unsubscribe(token=token).email == row.recipient


def test_other_mail_backends_get_the_email_built_as_usual(mailing, mailoutbox):
    ids = mailing(("ana@example.com", "es"))

    assert outbox.deliver_messages(message_ids=ids)["sent"] == 1
    assert mailoutbox[0].to == ["ana@example.com"]


def test_planning_queues_the_chunks_of_each_batch(
    mailing, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(announcements, "PLAN_BATCH_SIZE", 2)
    monkeypatch.setattr(outbox, "SEND_BATCH_SIZE", 2)
    for n in range(5):
        SubscriberFactory(email=f"s{n}@example.com")
    with django_capture_on_commit_callbacks(execute=False):
        published = announcements.publish_announcement(
            announcement=AnnouncementFactory.build(), actor=None
        )
    dispatch = Dispatch.objects.get(announcement=published)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert announcements.plan_dispatch(dispatch_id=dispatch.pk) == 5
        assert announcements.plan_dispatch(dispatch_id=dispatch.pk) == 0  # planned already

    assert len(callbacks) == 3  # batches of 2, 2 and 1, each queued as one chunk
    dispatch.refresh_from_db()
    assert dispatch.status == Dispatch.Status.SENDING
    assert OutgoingMessage.objects.filter(dispatch=dispatch).count() == 5


def test_a_chunk_locks_its_rows_in_primary_key_order(mailing):
    """Two chunks that share rows (a sweeper's and a live one) must lock them in one order, or
    PostgreSQL can deadlock them against each other."""
    ids = mailing(("ana@example.com", "es"), ("bob@example.com", "en"), ("eva@example.com", "es"))

    with CaptureQueriesContext(connection) as captured:
        claimed = outbox._claim_many(list(reversed(ids)), timezone.now())

    claim = next(q["sql"] for q in captured if q["sql"].startswith("SELECT"))
    assert "ORDER BY" in claim and claim.rstrip().endswith(("ASC", "FOR UPDATE"))
    assert [message.pk for message in claimed] == ids


def test_a_fan_out_row_stores_no_working_unsubscribe_link(mailing):
    ids = mailing(("ana@example.com", "es"))

    row = OutgoingMessage.objects.get(pk__in=ids)
    subscriber = Subscriber.objects.get(email="ana@example.com")
    assert row.unsubscribe_url == f"%%LINK:subscriber-manage:{subscriber.pk}%%"
    stored = " ".join([row.subject, row.body_text, row.body_html, str(row.headers)])
    assert "/unsubscribe/" not in stored + row.unsubscribe_url


def test_the_sent_fan_out_email_carries_a_working_unsubscribe_link(smtp_sink, mailing):
    ids = mailing(("ana@example.com", "es"), ("bob@example.com", "en"))

    assert outbox.deliver_messages(message_ids=ids)["sent"] == 2

    client = Client(enforce_csrf_checks=True)
    for message in smtp_sink.messages:
        header = str(message["List-Unsubscribe"]).strip()
        assert header.startswith("<http") and "%%" not in header
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        body = message.get_body(("plain",)).get_content()
        link = header[1:-1]
        assert link in body  # the same link in the text's "stop these emails"
        # RFC 8058: the mail client POSTs to it, and the reader is unsubscribed.
        path = "/" + link.split("://", 1)[1].split("/", 1)[1]
        response = client.post(path, {"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
    assert not Subscriber.objects.filter(unsubscribed_at__isnull=True).exists()


def test_a_chunk_mints_its_unsubscribe_links_with_one_query(smtp_sink, mailing):
    """The fan-out's speed: minting at send time costs a chunk one query, not one a row."""

    def queries_to_send(ids: list[int]) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert outbox.deliver_messages(message_ids=ids)["sent"] == len(ids)
        return sum("notifications_subscriber" in query["sql"] for query in captured)

    few = mailing(*[(f"a{n}@example.com", "es") for n in range(2)])
    many = mailing(*[(f"b{n}@example.com", "es") for n in range(8)])

    assert queries_to_send(few) == queries_to_send(many) == 1


def test_rows_written_before_lose_their_working_link_to_a_placeholder(mailing):
    """The migration that took working links out of the fan-out rows already stored."""
    ids = mailing(("ana@example.com", "es"))
    subscriber = Subscriber.objects.get()
    OutgoingMessage.objects.filter(pk__in=ids).update(
        unsubscribe_url=subscribers.unsubscribe_url(subscriber)
    )
    migration = importlib.import_module("notifications.migrations.0008_fanout_link_placeholders")

    migration.to_placeholders(django_apps, None)

    row = OutgoingMessage.objects.get(pk__in=ids)
    assert row.unsubscribe_url == f"%%LINK:subscriber-manage:{subscriber.pk}%%"
