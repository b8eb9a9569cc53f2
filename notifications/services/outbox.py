"""The outbox: every email the site sends is a row first, then a Celery task sends it once.

``queue_email`` writes the row in the caller's transaction (so the email exists if and only if
the change that causes it committed) and queues the send task after commit. ``deliver_message``
claims the row under a lock (queued → sending), sends outside any transaction, and records the
outcome. A task that runs twice finds the row no longer due and does nothing. The sweeper
re-queues rows left queued by a lost task or a down broker, and rows stuck in "sending" by a
worker killed mid-send (those are re-sent with the same Message-ID, so mail clients that see
both show one).
"""

import hashlib
import logging
import smtplib
import socket
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from helpcenter.queueing import enqueue_after_commit
from notifications.models import OutgoingMessage, SuppressedAddress

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
SENDING_TIMEOUT = timedelta(minutes=10)
# A queued row whose task has not run this long after it was due is presumed lost. Long enough
# for a 100,000-message fan-out to drain from the broker without being queued twice.
SWEEP_GRACE = timedelta(minutes=5)
SEND_BATCH_SIZE = 100


class TransientSendError(Exception):
    """The mail server could not take the message now; it will be tried again later."""


def queue_email(
    *,
    dedupe_key: str,
    recipient: str,
    language: str,
    subject: str,
    text: str,
    html: str = "",
    kind: str = OutgoingMessage.Kind.OTHER,
    unsubscribe_url: str = "",
    headers: dict | None = None,
) -> OutgoingMessage:
    """Put one email in the outbox and queue its sending once the transaction commits.

    Idempotent: a second call with the same ``dedupe_key`` returns the existing row and queues
    nothing, so the email is sent at most once per key.
    """
    message, created = OutgoingMessage.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "kind": kind,
            "recipient": recipient,
            "language": language,
            "subject": subject[:300],
            "body_text": text,
            "body_html": html,
            "unsubscribe_url": unsubscribe_url,
            "headers": headers or {},
        },
    )
    if created:
        from notifications.tasks import send_outgoing_message

        enqueue_after_commit(send_outgoing_message, message.pk)
    return message


def _claim(message_id: int) -> OutgoingMessage | None:
    """Move a due row from queued (or stuck in sending) to sending; None if not due."""
    now = timezone.now()
    with transaction.atomic():
        message = (
            OutgoingMessage.objects.select_for_update(of=("self",))
            .select_related("dispatch")
            .filter(pk=message_id)
            .first()
        )
        if message is None:
            return None
        due = message.status == OutgoingMessage.Status.QUEUED and message.next_attempt_at <= now
        stuck = (
            message.status == OutgoingMessage.Status.SENDING
            and message.sending_started_at is not None
            and message.sending_started_at < now - SENDING_TIMEOUT
        )
        if not (due or stuck):
            return None
        message.status = OutgoingMessage.Status.SENDING
        message.attempts += 1
        message.sending_started_at = now
        message.save(update_fields=["status", "attempts", "sending_started_at"])
        return message


def _message_id(message: OutgoingMessage) -> str:
    digest = hashlib.sha256(message.dedupe_key.encode()).hexdigest()[:24]
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "localhost"
    return f"<{digest}.{message.pk}@{domain}>"


def build_email(message: OutgoingMessage, connection=None) -> EmailMultiAlternatives:
    subject, text, html = message.subject, message.body_text, message.body_html
    if message.dispatch_id and not text:
        dispatch = message.dispatch
        subject = dispatch.subjects.get(message.language, subject)
        text = dispatch.bodies_text.get(message.language, "")
        html = dispatch.bodies_html.get(message.language, "")
    if message.unsubscribe_url:
        text = text.replace("%%UNSUBSCRIBE_URL%%", message.unsubscribe_url)
        html = html.replace("%%UNSUBSCRIBE_URL%%", message.unsubscribe_url)
    headers = {"Message-ID": _message_id(message), **message.headers}
    if message.unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.recipient],
        headers=headers,
        connection=connection,
    )
    if html:
        email.attach_alternative(html, "text/html")
    return email


def _is_transient(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return all(400 <= code < 500 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(
        error, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError | socket.timeout | OSError
    )


def _finish(message: OutgoingMessage, **fields) -> None:
    OutgoingMessage.objects.filter(pk=message.pk).update(**fields)


def deliver_message(*, message_id: int, connection=None) -> str:
    """Send one outbox row if it is due. Returns "sent", "failed", "retry" or "skipped".

    Raises ``TransientSendError`` when the server could not take it now (the row is queued
    again with a back-off, until MAX_ATTEMPTS).
    """
    message = _claim(message_id)
    if message is None:
        return "skipped"
    if SuppressedAddress.objects.filter(email__iexact=message.recipient).exists():
        _finish(message, status=OutgoingMessage.Status.FAILED, last_error="address suppressed")
        return "failed"
    try:
        build_email(message, connection=connection).send()
    except Exception as error:
        if not _is_transient(error):
            _finish(message, status=OutgoingMessage.Status.FAILED, last_error=repr(error)[:500])
            SuppressedAddress.objects.get_or_create(
                email=message.recipient.lower(), defaults={"reason": repr(error)[:500]}
            )
            logger.warning("Email %s failed for good: %r", message.pk, error)
            return "failed"
        if message.attempts >= MAX_ATTEMPTS:
            _finish(message, status=OutgoingMessage.Status.FAILED, last_error=repr(error)[:500])
            return "failed"
        backoff = timedelta(seconds=min(30 * 2 ** (message.attempts - 1), 3600))
        _finish(
            message,
            status=OutgoingMessage.Status.QUEUED,
            next_attempt_at=timezone.now() + backoff,
            last_error=repr(error)[:500],
        )
        raise TransientSendError(str(error)) from error
    _finish(message, status=OutgoingMessage.Status.SENT, sent_at=timezone.now(), last_error="")
    return "sent"


def deliver_messages(*, message_ids: list[int]) -> dict[str, int]:
    """Send several rows over one connection to the mail server (fan-out chunks)."""
    outcomes = {"sent": 0, "failed": 0, "retry": 0, "skipped": 0}
    with get_connection() as connection:
        for message_id in message_ids:
            try:
                outcome = deliver_message(message_id=message_id, connection=connection)
            except TransientSendError:
                outcome = "retry"
            outcomes[outcome] += 1
    return outcomes


def retry_failed_messages(*, dispatch_id: int | None = None) -> int:
    """Staff asked to try failed emails again (a dispatch's, or all): queue them anew."""
    failed = OutgoingMessage.objects.filter(status=OutgoingMessage.Status.FAILED)
    if dispatch_id is not None:
        failed = failed.filter(dispatch_id=dispatch_id)
    ids = list(failed.values_list("pk", flat=True))
    OutgoingMessage.objects.filter(pk__in=ids).update(
        status=OutgoingMessage.Status.QUEUED,
        attempts=0,
        next_attempt_at=timezone.now(),
        last_error="",
    )
    queue_sending(ids)
    return len(ids)


def queue_sending(message_ids: list[int]) -> None:
    """Queue the send tasks for rows, in chunks sent over one connection each."""
    from notifications.tasks import send_message_batch, send_outgoing_message

    for start in range(0, len(message_ids), SEND_BATCH_SIZE):
        chunk = message_ids[start : start + SEND_BATCH_SIZE]
        if len(chunk) == 1:
            enqueue_after_commit(send_outgoing_message, chunk[0])
        else:
            enqueue_after_commit(send_message_batch, chunk)


def requeue_stalled_messages(*, limit: int = 5000, now=None) -> int:
    """Queue again what a lost task, a down broker or a killed worker left behind."""
    now = now or timezone.now()
    not_requeued_lately = Q(requeued_at__isnull=True) | Q(requeued_at__lte=now - SWEEP_GRACE)
    stalled = OutgoingMessage.objects.filter(
        Q(status=OutgoingMessage.Status.QUEUED, next_attempt_at__lte=now - SWEEP_GRACE)
        | Q(status=OutgoingMessage.Status.SENDING, sending_started_at__lt=now - SENDING_TIMEOUT),
        not_requeued_lately,
    ).order_by("pk")
    ids = list(stalled.values_list("pk", flat=True)[:limit])
    # The next sweep leaves these rows to the tasks queued now, for another grace period.
    OutgoingMessage.objects.filter(pk__in=ids).update(requeued_at=now)
    queue_sending(ids)
    return len(ids)
