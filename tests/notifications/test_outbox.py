from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import tasks
from notifications.models import OutgoingMessage, SuppressedAddress
from notifications.services import outbox

pytestmark = pytest.mark.django_db


def queue(**overrides) -> OutgoingMessage:
    fields = {
        "dedupe_key": "case:1:update:1",
        "recipient": "ana@example.com",
        "language": "es",
        "subject": "Tu caso K7M2-Q9XA",
        "text": "Hola Ana",
        "html": "<p>Hola Ana</p>",
        "kind": OutgoingMessage.Kind.CASE,
    }
    return outbox.queue_email(**{**fields, **overrides})


def test_the_same_email_asked_twice_is_one_row_and_one_task(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = queue()
        second = queue(subject="otra vez")

    assert first.pk == second.pk
    assert OutgoingMessage.objects.count() == 1
    assert len(callbacks) == 1


def test_send_task_run_twice_sends_one_message(smtp_sink):
    message = queue()

    assert tasks.send_outgoing_message(message.pk) == "sent"
    assert tasks.send_outgoing_message(message.pk) == "skipped"

    assert smtp_sink.recipients() == ["ana@example.com"]
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutgoingMessage.Status.SENT, 1)


def test_email_is_multipart_text_and_html_with_a_stable_message_id(smtp_sink):
    message = queue()
    tasks.send_outgoing_message(message.pk)

    sent = smtp_sink.messages[0]
    assert sent.is_multipart()
    assert [part.get_content_type() for part in sent.iter_parts()] == ["text/plain", "text/html"]
    assert sent["Message-ID"] == outbox._message_id(message)


def test_subscription_mail_carries_one_click_unsubscribe_headers(smtp_sink):
    message = queue(unsubscribe_url="https://help.example.com/notices/unsubscribe/abc/")
    tasks.send_outgoing_message(message.pk)

    sent = smtp_sink.messages[0]
    assert sent["List-Unsubscribe"] == "<https://help.example.com/notices/unsubscribe/abc/>"
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_transient_refusal_is_retried_later_with_backoff(smtp_sink):
    smtp_sink.refuse["ana@example.com"] = 450
    message = queue()

    with pytest.raises(outbox.TransientSendError):
        outbox.deliver_message(message_id=message.pk)

    message.refresh_from_db()
    assert message.status == OutgoingMessage.Status.QUEUED
    assert message.next_attempt_at > timezone.now() + timedelta(seconds=20)
    assert outbox.deliver_message(message_id=message.pk) == "skipped"  # not due yet

    smtp_sink.refuse.clear()
    OutgoingMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert outbox.deliver_message(message_id=message.pk) == "sent"
    assert smtp_sink.recipients() == ["ana@example.com"]


def test_permanent_refusal_fails_the_row_and_flags_the_address(smtp_sink):
    smtp_sink.refuse["nobody@example.com"] = 550
    message = queue(recipient="nobody@example.com")

    assert outbox.deliver_message(message_id=message.pk) == "failed"

    message.refresh_from_db()
    assert message.status == OutgoingMessage.Status.FAILED
    assert SuppressedAddress.objects.filter(email="nobody@example.com").exists()
    later = queue(dedupe_key="another", recipient="nobody@example.com")
    assert outbox.deliver_message(message_id=later.pk) == "failed"
    assert smtp_sink.recipients() == []


def test_transient_errors_give_up_after_the_last_attempt(smtp_sink):
    smtp_sink.refuse["ana@example.com"] = 451
    message = queue()
    OutgoingMessage.objects.filter(pk=message.pk).update(attempts=outbox.MAX_ATTEMPTS - 1)

    assert outbox.deliver_message(message_id=message.pk) == "failed"


def test_sweeper_requeues_what_a_lost_task_left_queued(
    django_capture_on_commit_callbacks, smtp_sink
):
    message = queue()  # its task never ran (lost with a broker that was down)
    later = timezone.now() + outbox.SWEEP_GRACE + timedelta(seconds=1)

    with django_capture_on_commit_callbacks() as callbacks:
        assert outbox.requeue_stalled_messages(now=later) == 1
    assert len(callbacks) == 1
    assert outbox.requeue_stalled_messages(now=later) == 0  # not again within the grace

    tasks.send_outgoing_message(message.pk)
    assert smtp_sink.recipients() == ["ana@example.com"]


def test_sweeper_resends_a_row_stuck_in_sending_by_a_killed_worker(smtp_sink):
    message = queue()
    stuck_since = timezone.now() - outbox.SENDING_TIMEOUT - timedelta(seconds=1)
    OutgoingMessage.objects.filter(pk=message.pk).update(
        status=OutgoingMessage.Status.SENDING, sending_started_at=stuck_since, attempts=1
    )

    assert outbox.requeue_stalled_messages() == 1
    assert outbox.deliver_message(message_id=message.pk) == "sent"


def test_a_row_being_sent_is_not_taken_twice(smtp_sink):
    message = queue()
    OutgoingMessage.objects.filter(pk=message.pk).update(
        status=OutgoingMessage.Status.SENDING, sending_started_at=timezone.now()
    )

    assert outbox.deliver_message(message_id=message.pk) == "skipped"
    assert smtp_sink.recipients() == []


def test_staff_can_retry_failed_messages(smtp_sink, django_capture_on_commit_callbacks):
    message = queue()
    OutgoingMessage.objects.filter(pk=message.pk).update(status=OutgoingMessage.Status.FAILED)

    with django_capture_on_commit_callbacks(execute=False):
        assert outbox.retry_failed_messages() == 1
    assert outbox.deliver_message(message_id=message.pk) == "sent"
