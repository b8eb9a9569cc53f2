"""Who gets suppressed, for which mail, and how long bodies stay (issue 12, findings 1 and 4)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from notifications import tasks
from notifications.models import Announcement, OutgoingMessage, SuppressedAddress
from notifications.services import announcements, outbox

pytestmark = pytest.mark.django_db


def queue(key: str = "case:1:opened", **overrides) -> OutgoingMessage:
    fields = {
        "dedupe_key": key,
        "recipient": "ana@example.com",
        "language": "es",
        "subject": "Tu caso K7M2-Q9XA",
        "text": "Hola Ana",
        "kind": OutgoingMessage.Kind.CASE,
    }
    return outbox.queue_email(**{**fields, **overrides})


def test_a_local_error_fails_the_email_but_never_suppresses_the_address(smtp_sink):
    broken = queue("notice:1", kind=OutgoingMessage.Kind.NOTICE, headers={"X-Note": "a\nb"})

    assert tasks.send_outgoing_message(broken.pk) == "failed"

    assert not SuppressedAddress.objects.exists()
    assert tasks.send_outgoing_message(queue().pk) == "sent"
    assert smtp_sink.recipients() == ["ana@example.com"]


def test_a_link_that_cannot_be_minted_is_a_local_error(smtp_sink):
    orphan = queue(text=f"Tu caso: {outbox.link_placeholder('case', 999999)}")

    assert tasks.send_outgoing_message(orphan.pk) == "failed"
    assert not SuppressedAddress.objects.exists() and smtp_sink.recipients() == []


def test_a_policy_refusal_of_the_message_does_not_suppress_the_address(smtp_sink):
    smtp_sink.refuse["ana@example.com"] = 554

    assert tasks.send_outgoing_message(queue().pk) == "failed"
    assert not SuppressedAddress.objects.exists()


def test_a_recipient_refused_for_good_is_suppressed_with_reason_time_and_kind(smtp_sink):
    smtp_sink.refuse["ana@example.com"] = 550
    moment = timezone.now()

    assert tasks.send_outgoing_message(queue("notice:1", kind="notice").pk) == "failed"

    suppression = SuppressedAddress.objects.get()
    assert (suppression.email, suppression.kind, suppression.smtp_code) == (
        "ana@example.com",
        "notice",
        550,
    )
    assert "No such user" in suppression.reason and suppression.created_at >= moment
    smtp_sink.refuse.clear()
    assert tasks.send_outgoing_message(queue("notice:2", kind="notice").pk) == "failed"
    assert smtp_sink.recipients() == []


def test_bulk_mail_refusals_never_stop_case_mail(smtp_sink):
    smtp_sink.refuse["ana@example.com"] = 550
    tasks.send_outgoing_message(queue("notice:1", kind="notice").pk)
    smtp_sink.refuse.clear()

    assert tasks.send_outgoing_message(queue("case:1:opened").pk) == "sent"
    # A chunk (the sweeper's and the fan-out's path) follows the same rule.
    assert outbox.deliver_messages(
        message_ids=[queue("case:1:update").pk, queue("notice:2", kind="notice").pk]
    ) == {"sent": 1, "failed": 1, "retry": 0, "skipped": 0}
    assert smtp_sink.recipients() == ["ana@example.com", "ana@example.com"]


def test_a_refused_case_email_suppresses_case_mail_too(smtp_sink):
    smtp_sink.refuse["ana@example.com"] = 550
    tasks.send_outgoing_message(queue("notice:1", kind="notice").pk)
    tasks.send_outgoing_message(queue("case:1:opened").pk)
    smtp_sink.refuse.clear()

    assert SuppressedAddress.objects.get().kind == "case"
    assert tasks.send_outgoing_message(queue("case:1:update").pk) == "failed"


def test_staff_see_and_lift_a_suppression_in_the_admin(client, smtp_sink):
    smtp_sink.refuse["ana@example.com"] = 550
    tasks.send_outgoing_message(queue().pk)
    smtp_sink.refuse.clear()
    suppression = SuppressedAddress.objects.get()
    client.force_login(User.objects.create_superuser("admin", password="x"))

    listing = client.get("/admin/notifications/suppressedaddress/")
    assert "ana@example.com" in listing.text and "550" in listing.text
    client.post(
        "/admin/notifications/suppressedaddress/",
        {"action": "lift_selected", "_selected_action": [suppression.pk]},
    )

    assert not SuppressedAddress.objects.exists()
    assert tasks.send_outgoing_message(queue("case:1:update").pk) == "sent"


@pytest.mark.parametrize("title", ["Corte\nVisita http://phish.example", "Corte\r", "A\x00B"])
def test_announcement_titles_are_one_line(title):
    announcement = Announcement(
        kind=Announcement.Kind.GENERAL, title_es=title, title_en="Outage", body_es="x", body_en="x"
    )

    with pytest.raises(ValidationError):
        announcements.save_announcement(announcement=announcement, actor=None)
    with pytest.raises(ValidationError):
        announcement.full_clean()


def test_a_subject_with_a_line_break_is_sent_on_one_line(smtp_sink):
    message = queue(subject="Hola\r\nBcc: todos@example.com")

    assert tasks.send_outgoing_message(message.pk) == "sent"
    assert smtp_sink.messages[0]["Subject"] == "Hola Bcc: todos@example.com"
    assert smtp_sink.messages[0]["Bcc"] is None


def test_bodies_are_blanked_after_the_retention_period_once(smtp_sink, settings):
    settings.OUTBOX_BODY_RETENTION_DAYS = 30
    message = queue(unsubscribe_url="https://help.example.com/notices/unsubscribe/abc/")
    tasks.send_outgoing_message(message.pk)
    message.refresh_from_db()

    assert outbox.purge_old_bodies(now=message.sent_at + timedelta(days=29)) == 0
    purge_at = message.sent_at + timedelta(days=31)
    assert outbox.purge_old_bodies(now=purge_at) == 1
    assert outbox.purge_old_bodies(now=purge_at) == 0

    message.refresh_from_db()
    assert (message.body_text, message.body_html, message.unsubscribe_url) == ("", "", "")
    assert message.body_purged_at == purge_at and message.status == OutgoingMessage.Status.SENT
    assert outbox.retry_failed_messages() == 0
