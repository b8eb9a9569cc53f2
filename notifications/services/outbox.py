"""The outbox: every email the site sends is a row first, then a Celery task sends it once.

``queue_email`` writes the row in the caller's transaction (so the email exists if and only if
the change that causes it committed) and queues the send task after commit. ``deliver_message``
claims the row under a lock (queued → sending), sends outside any transaction, and records the
outcome. A task that runs twice finds the row no longer due and does nothing. The sweeper
re-queues rows left queued by a lost task or a down broker, and rows stuck in "sending" by a
worker killed mid-send (those are re-sent with the same Message-ID, so mail clients that see
both show one).

Fan-out chunks (``deliver_messages``) claim all their due rows in one transaction and mark each
row sent right after the server accepts it: a worker killed mid-chunk leaves its untried rows
in "sending" (the sweeper re-queues them, they are sent once) and at most the message in its
SMTP conversation ambiguous, as with single sends.
"""

import copy
import functools
import logging
import re
import secrets
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, formatdate, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address
from django.db import connections, router, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone, translation

from foundation.queueing import enqueue_after_commit
from notifications.models import Dispatch, OutgoingMessage, SuppressedAddress
from notifications.selectors import message_id_of

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
SENDING_TIMEOUT = timedelta(minutes=10)
# A queued row whose task has not run this long after it was due is presumed lost. Long enough
# for a 100,000-message fan-out to drain from the broker without being queued twice.
SWEEP_GRACE = timedelta(minutes=5)
SEND_BATCH_SIZE = 500
# Queued by name (foundation.queueing): notifications.tasks imports the services, never the
# reverse.
SEND_TASK = "notifications.tasks.send_outgoing_message"
SEND_BATCH_TASK = "notifications.tasks.send_message_batch"
UNSUBSCRIBE_PLACEHOLDER = "%%UNSUBSCRIBE_URL%%"
# How long a fan-out chunk may hold the rows it claimed (a fraction of SENDING_TIMEOUT).
CLAIM_LEASE = SENDING_TIMEOUT / 2


class TransientSendError(Exception):
    """The mail server could not take the message now; it will be tried again later."""


class LinkUnavailable(Exception):
    """A placeholder names a link that cannot be minted (its object is gone): a local error."""


# --- Links minted at send time ----------------------------------------------------------------

_LINK_PLACEHOLDER = re.compile(r"%%LINK:([a-z][a-z-]*):([0-9]{1,18})%%")
_link_minters: dict[str, Callable[..., str | None]] = {}
# Minters of many links at once: (object id, recipient) pairs in, {pair: link} out.
_many_link_minters: dict[str, Callable[..., dict[tuple[int, str], str]]] = {}
# Minted for one chunk: {(placeholder, recipient): link}.
MintedLinks = dict[tuple[str, str], str]


def register_link_minter(
    scope: str,
    mint: Callable[..., str | None],
    *,
    mint_many: Callable[..., dict[tuple[int, str], str]] | None = None,
) -> None:
    """``mint(object_id, now=..., recipient=...)`` returns a fresh absolute link, or None if it
    cannot, or if the object is not ``recipient``'s: a placeholder can sit in text someone
    typed (a subject the acknowledgement echoes), and must never mail a link to another
    person's case or subscription.

    ``mint_many(pairs, now=...)``, for a scope whose links fill fan-out rows, mints the links
    of a whole chunk in one query: ``pairs`` are (object id, recipient), and the answer holds
    a link only for each pair whose object is the recipient's (the same rule).

    Apps register theirs in ``AppConfig.ready()``, so the outbox never imports them.
    """
    _link_minters[scope] = mint
    if mint_many is not None:
        _many_link_minters[scope] = mint_many


def links_for_recipients(
    objects: QuerySet, pairs: list[tuple[int, str]], link: Callable[[Any], str]
) -> dict[tuple[int, str], str]:
    """A ``mint_many`` made of a model with an ``email``: ``link(obj)`` for each (object id,
    recipient) pair whose object writes from that recipient address, in one query."""
    found = objects.filter(pk__in={pk for pk, _recipient in pairs})
    by_id = {obj.pk: obj for obj in found}
    links = {}
    for pk, recipient in pairs:
        obj = by_id.get(pk)
        if obj is not None and obj.email.lower() == recipient.strip().lower():
            links[(pk, recipient)] = link(obj)
    return links


def link_placeholder(scope: str, object_id: int) -> str:
    """What a body holds instead of a secret link; replaced by a fresh link when sent."""
    return f"%%LINK:{scope}:{int(object_id)}%%"


# The fields of a row that may hold link placeholders: the texts, and the unsubscribe link (the
# List-Unsubscribe headers, and %%UNSUBSCRIBE_URL%% in the texts, get the one minted link).
_LINKED_FIELDS = ("body_text", "body_html", "unsubscribe_url")


def _with_minted_links(
    message: OutgoingMessage, *, now: datetime, chunk_links: MintedLinks | None = None
) -> OutgoingMessage:
    """A copy of ``message`` whose link placeholders are fresh links; never saved.

    Only rows that hold a placeholder pay for it. ``chunk_links`` are the links minted for
    the rows of a chunk at once (``_mint_chunk_links``); any other is minted here.
    """
    if not any("%%LINK:" in getattr(message, name) for name in _LINKED_FIELDS):
        return message
    minted: dict[str, str] = {}

    def mint(match: re.Match) -> str:
        placeholder = match.group(0)
        if placeholder not in minted:
            link = (chunk_links or {}).get((placeholder, message.recipient))
            minter = _link_minters.get(match.group(1))
            if link is None and minter is not None:
                link = minter(int(match.group(2)), now=now, recipient=message.recipient)
            if not link:
                raise LinkUnavailable(placeholder)
            minted[placeholder] = link
        return minted[placeholder]

    rendered = copy.copy(message)
    for name in _LINKED_FIELDS:
        setattr(rendered, name, _LINK_PLACEHOLDER.sub(mint, getattr(message, name)))
    return rendered


def _mint_chunk_links(messages: list[OutgoingMessage], *, now: datetime) -> MintedLinks:
    """The links of the fan-out rows of a chunk (an unsubscribe link that is a placeholder
    alone), minted with one query per scope: a fan-out row stores no working link, and
    minting it row by row would cost the fan-out a query per email."""
    wanted: dict[str, list[tuple[int, str]]] = {}
    for message in messages:
        match = _LINK_PLACEHOLDER.fullmatch(message.unsubscribe_url)
        if match is not None and match.group(1) in _many_link_minters:
            wanted.setdefault(match.group(1), []).append((int(match.group(2)), message.recipient))
    links: MintedLinks = {}
    for scope, pairs in wanted.items():
        for (object_id, recipient), link in _many_link_minters[scope](pairs, now=now).items():
            links[(link_placeholder(scope, object_id), recipient)] = link
    return links


def _single_line(text: str) -> str:
    """Header values are one line: a line break in a subject would stop the message."""
    return " ".join(text.split())


# The kinds of email, for other apps that queue one (they import services, not models).
EmailKind = OutgoingMessage.Kind


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
            "subject": _single_line(subject)[:300],
            "body_text": text,
            "body_html": html,
            "unsubscribe_url": unsubscribe_url,
            "headers": headers or {},
        },
    )
    if created:
        enqueue_after_commit(SEND_TASK, message.pk)
    return message


def queue_emails(messages: list[OutgoingMessage], *, batch_size: int = 500) -> list[int]:
    """``queue_email`` for many at once: unsaved rows, each with its dedupe key, written in
    batches (a few queries per batch, not per email) and queued after commit in chunks sent
    over one connection each. Idempotent: a key already in the outbox is neither written nor
    queued again. Returns the ids queued."""
    queued: list[int] = []
    for start in range(0, len(messages), batch_size):
        batch = {message.dedupe_key: message for message in messages[start : start + batch_size]}
        known = set(
            OutgoingMessage.objects.filter(dedupe_key__in=list(batch)).values_list(
                "dedupe_key", flat=True
            )
        )
        fresh = [message for key, message in batch.items() if key not in known]
        for message in fresh:
            message.subject = _single_line(message.subject)[:300]
        OutgoingMessage.objects.bulk_create(fresh, ignore_conflicts=True)
        queued += OutgoingMessage.objects.filter(
            dedupe_key__in=[message.dedupe_key for message in fresh],
            status=OutgoingMessage.Status.QUEUED,
        ).values_list("pk", flat=True)
    queue_sending(queued)
    return queued


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
    return message_id_of(message)


def sender(language: str) -> str:
    """DEFAULT_FROM_EMAIL's address under the site's name in the reader's language:
    "Centro de ayuda <ayuda@example.com>" / "Help center <ayuda@example.com>"."""
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    with translation.override(language or settings.LANGUAGE_CODE):
        name = str(settings.SITE_NAME)
    return formataddr((name, address)) if address else settings.DEFAULT_FROM_EMAIL


def build_email(message: OutgoingMessage, connection=None) -> EmailMultiAlternatives:
    return _compose(message, message_id=_message_id(message), connection=connection)


def _compose(message: OutgoingMessage, *, message_id: str, connection=None):
    subject, text, html = message.subject, message.body_text, message.body_html
    if message.dispatch_id and not text:
        dispatch = message.dispatch
        subject = dispatch.subjects.get(message.language, subject)
        text = dispatch.bodies_text.get(message.language, "")
        html = dispatch.bodies_html.get(message.language, "")
    if message.unsubscribe_url:
        text = text.replace(UNSUBSCRIBE_PLACEHOLDER, message.unsubscribe_url)
        html = html.replace(UNSUBSCRIBE_PLACEHOLDER, message.unsubscribe_url)
    headers = {"Message-ID": message_id, **message.headers}
    if message.unsubscribe_url:
        headers["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=sender(message.language),
        to=[message.recipient],
        headers=headers,
        connection=connection,
    )
    if html:
        email.attach_alternative(html, "text/html")
    return email


# --- Fan-out emails from a prototype ---------------------------------------------------------
#
# The rows of a dispatch differ only in recipient, Message-ID and unsubscribe link. Building
# each with the email package (MIME tree, header folding, address parsing) costs more CPU than
# everything else in sending it, so a chunk renders one prototype per dispatch and language,
# through ``_compose`` with placeholders, and each row's bytes are the prototype with its own
# values (and a fresh Date) put in. Anything the substitution could get wrong (a placeholder
# not found verbatim, an address or link that needs encoding, a line that would grow too long,
# another mail backend) goes through ``build_email`` instead.

_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[a-z0-9-]+(?:\.[a-z0-9-]+)+")
_PLAIN_LINK = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]+")  # printable ASCII but < and >
_DATE_LINE = re.compile(rb"\r\nDate: [^\r\n]*\r\n")
_LINE_LIMIT = 998  # RFC 5322


@dataclass(frozen=True)
class _Prototype:
    raw: bytes
    sender: str
    recipient: bytes
    message_id: bytes
    link: bytes
    date_line: bytes
    link_lines: tuple[tuple[int, int], ...]  # (length, placeholders) of each line with one


def _prototype(dispatch: Dispatch, language: str, subject: str) -> _Prototype | None:
    token = secrets.token_hex(8)
    recipient = f"to-{token}@recipient.invalid"
    message_id = f"<id-{token}@message.invalid>"
    link = f"https://unsubscribe.invalid/{token}/{'u' * 64}/"
    specimen = OutgoingMessage(
        dispatch=dispatch,
        language=language,
        subject=subject,
        recipient=recipient,
        unsubscribe_url=link,
    )
    email = _compose(specimen, message_id=message_id)
    raw = email.message().as_bytes(linesep="\r\n")
    links = 1 + sum(  # the List-Unsubscribe header and each placeholder of the texts
        texts.get(language, "").count(UNSUBSCRIBE_PLACEHOLDER)
        for texts in (dispatch.bodies_text, dispatch.bodies_html)
    )
    head = raw.split(b"\r\n\r\n", 1)[0]
    date = _DATE_LINE.search(head)
    if (
        date is None
        or head.count(recipient.encode()) != 1
        or raw.count(message_id.encode()) != 1
        or raw.count(link.encode()) != links
    ):
        return None  # something was encoded or folded: not safe to substitute
    return _Prototype(
        raw=raw,
        sender=sanitize_address(email.from_email, email.encoding or settings.DEFAULT_CHARSET),
        recipient=recipient.encode(),
        message_id=message_id.encode(),
        link=link.encode(),
        date_line=date.group()[2:-2],
        link_lines=tuple(
            (len(line), line.count(link.encode()))
            for line in raw.split(b"\r\n")
            if link.encode() in line
        ),
    )


def _from_prototype(prototype: _Prototype, message: OutgoingMessage) -> bytes | None:
    link = message.unsubscribe_url
    if not (_PLAIN_ADDRESS.fullmatch(message.recipient) and _PLAIN_LINK.fullmatch(link)):
        return None
    growth = len(link) - len(prototype.link)
    if any(length + count * growth > _LINE_LIMIT for length, count in prototype.link_lines):
        return None
    date = f"Date: {formatdate(localtime=settings.EMAIL_USE_LOCALTIME)}".encode()
    return (
        prototype.raw.replace(prototype.date_line, date, 1)
        .replace(prototype.recipient, message.recipient.encode(), 1)
        .replace(prototype.message_id, _message_id(message).encode(), 1)
        .replace(prototype.link, link.encode())
    )


class _Prototypes:
    """The prototypes of one chunk, made on first use (None: that kind of row is built)."""

    def __init__(self, connection) -> None:
        self.enabled = isinstance(connection, SMTPBackend)
        self._made: dict[tuple, _Prototype | None] = {}

    def render(self, message: OutgoingMessage) -> tuple[str, bytes] | None:
        """The envelope sender and the bytes of ``message``, or None to build it."""
        if not (
            self.enabled
            and message.dispatch_id
            and not message.body_text
            and not message.body_html
            and not message.headers
            and message.unsubscribe_url
            and "%%LINK:" not in message.unsubscribe_url  # given a row's minted copy only
        ):
            return None
        key = (message.dispatch_id, message.language, message.subject)
        if key not in self._made:
            self._made[key] = _prototype(message.dispatch, message.language, message.subject)
        prototype = self._made[key]
        if prototype is None:
            return None
        raw = _from_prototype(prototype, message)
        return None if raw is None else (prototype.sender, raw)


TRANSIENT, LOCAL, REFUSED, RECIPIENT_GONE = "transient", "local", "refused", "recipient_gone"
_ENHANCED_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# Mail the customer asked for (a case): only a refusal of such mail can stop more of it.
TRANSACTIONAL_KINDS = frozenset({OutgoingMessage.Kind.CASE})


def _recipient_gone(code: int, text: bytes | str) -> bool:
    """A permanent answer about this recipient: 5.1.x (bad mailbox or address) if the server
    says which, otherwise 550-553 to RCPT. 5.7.x (policy, spam) and the rest are about the
    message, not the address."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    enhanced = _ENHANCED_STATUS.search(text or "")
    if enhanced:
        return enhanced.group(1) == "5" and enhanced.group(2) == "1"
    return 550 <= code <= 553


def _classify(error: Exception) -> str:
    """TRANSIENT (try again later), RECIPIENT_GONE (fail and suppress the address), REFUSED
    (the server refused this message for good) or LOCAL (our side: fail, suppress nothing)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = list(error.recipients.values())
        if answers and all(400 <= code < 500 for code, _ in answers):
            return TRANSIENT
        if any(_recipient_gone(code, text) for code, text in answers):
            return RECIPIENT_GONE
        return REFUSED
    if isinstance(error, smtplib.SMTPResponseException):
        if 400 <= error.smtp_code < 500:
            return TRANSIENT
        if isinstance(error, smtplib.SMTPDataError) and _ENHANCED_STATUS.search(
            error.smtp_error.decode("utf-8", "replace")
            if isinstance(error.smtp_error, bytes)
            else str(error.smtp_error)
        ):
            # Some servers refuse a recipient only after DATA; only 5.1.x counts then.
            return RECIPIENT_GONE if _recipient_gone(0, error.smtp_error) else REFUSED
        return REFUSED
    if isinstance(
        error, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError | socket.timeout | OSError
    ):
        return TRANSIENT
    return LOCAL


def suppress_address(
    *, email: str, kind: str, reason: str, smtp_code: int | None = None, now=None
) -> SuppressedAddress:
    """Record that the server refused ``email`` for good, with why, when and for which mail.

    A refusal of transactional mail widens an existing bulk-mail suppression to all mail.
    """
    now = now or timezone.now()
    suppression, created = SuppressedAddress.objects.get_or_create(
        email=email.lower(),
        defaults={"reason": reason[:500], "kind": kind, "smtp_code": smtp_code, "created_at": now},
    )
    if not created and kind in TRANSACTIONAL_KINDS and suppression.kind not in TRANSACTIONAL_KINDS:
        SuppressedAddress.objects.filter(pk=suppression.pk).update(
            kind=kind, reason=reason[:500], smtp_code=smtp_code, created_at=now
        )
    return suppression


def lift_suppressions(*, suppression_ids: list[int]) -> int:
    """Staff lifted these suppressions: mail to those addresses is sent again."""
    deleted, _ = SuppressedAddress.objects.filter(pk__in=suppression_ids).delete()
    return deleted


def _refusal_code(error: Exception) -> int | None:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return max((code for code, _ in error.recipients.values()), default=None)
    return getattr(error, "smtp_code", None)


def _finish(message: OutgoingMessage, **fields) -> None:
    OutgoingMessage.objects.filter(pk=message.pk).update(**fields)


def _mark_sent(message: OutgoingMessage) -> None:
    """Record that the server accepted the message, right after its 250.

    Until this commits, a crash makes the sweeper send the message again: the statement is
    written once instead of compiled by the ORM each time, which would more than double that
    window (and the CPU spent per message of a fan-out).
    """
    alias = router.db_for_write(OutgoingMessage)
    db = connections[alias]
    with db.cursor() as cursor:
        cursor.execute(
            _mark_sent_sql(alias),
            [
                OutgoingMessage.Status.SENT.value,
                db.ops.adapt_datetimefield_value(timezone.now()),
                "",
                message.pk,
            ],
        )


@functools.cache
def _mark_sent_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    meta = OutgoingMessage._meta
    status, sent_at, last_error = (
        quote(meta.get_field(name).column) for name in ("status", "sent_at", "last_error")
    )
    # Only names from the model's metadata go into the text; values are parameters.
    return (
        f"UPDATE {quote(meta.db_table)} SET {status} = %s, {sent_at} = %s, {last_error} = %s"  # noqa: S608
        f" WHERE {quote(meta.pk.column)} = %s"
    )


def deliver_message(*, message_id: int, connection=None) -> str:
    """Send one outbox row if it is due. Returns "sent", "failed", "retry" or "skipped".

    Raises ``TransientSendError`` when the server could not take it now (the row is queued
    again with a back-off, until MAX_ATTEMPTS).
    """
    message = _claim(message_id)
    if message is None:
        return "skipped"
    suppressions = SuppressedAddress.objects.filter(email__iexact=message.recipient)
    if message.kind in TRANSACTIONAL_KINDS:
        # Case mail was asked for: only a refusal of case mail stops it.
        suppressions = suppressions.filter(kind__in=TRANSACTIONAL_KINDS)
    if suppressions.exists():
        _finish(message, status=OutgoingMessage.Status.FAILED, last_error="address suppressed")
        return "failed"
    return _send_claimed(message, connection)


def _send_claimed(
    message: OutgoingMessage, connection, prototypes=None, chunk_links: MintedLinks | None = None
) -> str:
    """Send a row this worker holds (status sending) and record the outcome at once."""
    try:
        # Links are minted here, right before the server takes the message: the text with a
        # live link exists only in this worker's memory and in the message sent.
        sendable = _with_minted_links(message, now=timezone.now(), chunk_links=chunk_links)
        rendered = prototypes.render(sendable) if prototypes is not None else None
        if rendered is not None and connection.connection is not None:
            sender, raw = rendered
            # What Django's SMTP backend does with an open connection, minus rebuilding it.
            connection.connection.sendmail(sender, [message.recipient], raw)
        else:
            build_email(sendable, connection=connection).send()
    except Exception as error:
        outcome = _classify(error)
        if outcome != TRANSIENT:
            # repr() of a local error never holds a minted link: the message is not in it.
            _finish(message, status=OutgoingMessage.Status.FAILED, last_error=repr(error)[:500])
            if outcome == RECIPIENT_GONE:
                suppress_address(
                    email=message.recipient,
                    kind=message.kind,
                    reason=repr(error),
                    smtp_code=_refusal_code(error),
                )
            logger.warning("Email %s failed for good (%s): %r", message.pk, outcome, error)
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
    _mark_sent(message)
    return "sent"


def _due(now) -> Q:
    return Q(status=OutgoingMessage.Status.QUEUED, next_attempt_at__lte=now) | Q(
        status=OutgoingMessage.Status.SENDING, sending_started_at__lt=now - SENDING_TIMEOUT
    )


def _claim_many(message_ids: list[int], now) -> list[OutgoingMessage]:
    """Move the due rows among ``message_ids`` to sending in one transaction; returns them.

    The rows are locked while they are read (a second task with the same ids waits, then finds
    them no longer due), so each row is held by one task at a time. They are locked in primary
    key order: two tasks whose chunks overlap (a sweeper's and a live one) then take the shared
    rows in the same order, and one waits for the other instead of both deadlocking
    (PostgreSQL locks rows in the order it reads them).
    """
    with transaction.atomic():
        ids = list(
            OutgoingMessage.objects.select_for_update()
            .filter(_due(now), pk__in=message_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return []
        OutgoingMessage.objects.filter(pk__in=ids).update(
            status=OutgoingMessage.Status.SENDING,
            attempts=F("attempts") + 1,
            sending_started_at=now,
        )
    # Read after the commit, to hold the lock briefly (on SQLite it is the whole database's,
    # and the other pool processes are waiting with their "sent" marks): these rows are this
    # task's until SENDING_TIMEOUT, nothing else changes them.
    messages = list(OutgoingMessage.objects.filter(pk__in=ids).order_by("pk"))
    # The dispatch's texts are shared by the whole chunk: load each dispatch once.
    dispatch_ids = {message.dispatch_id for message in messages if message.dispatch_id}
    dispatches = Dispatch.objects.in_bulk(dispatch_ids) if dispatch_ids else {}
    for message in messages:
        if message.dispatch_id:
            message.dispatch = dispatches[message.dispatch_id]
    return messages


def _suppressed(addresses: list[str]) -> dict[str, str]:
    """Which of these addresses (lower-cased) are suppressed, with the kind of mail refused."""
    lowered = {address.lower() for address in addresses}
    return dict(
        SuppressedAddress.objects.annotate(lowered=Lower("email"))
        .filter(lowered__in=lowered)
        .values_list("lowered", "kind")
    )


def _blocked(message: OutgoingMessage, suppressed: dict[str, str]) -> bool:
    refused_kind = suppressed.get(message.recipient.lower())
    if refused_kind is None:
        return False
    return message.kind not in TRANSACTIONAL_KINDS or refused_kind in TRANSACTIONAL_KINDS


def _release(messages: list[OutgoingMessage], claimed_at, *, queue_again: bool) -> int:
    """Give back rows this task claimed but did not try (queued again, attempt not counted).

    With ``queue_again`` their sending is queued at once; otherwise the sweeper finds them
    after its grace period (the mail server is down: trying again at once would only spin).
    """
    with transaction.atomic():
        held = OutgoingMessage.objects.select_for_update().filter(
            pk__in=[message.pk for message in messages],
            status=OutgoingMessage.Status.SENDING,
            sending_started_at=claimed_at,
        )
        ids = list(held.values_list("pk", flat=True))
        OutgoingMessage.objects.filter(pk__in=ids).update(
            status=OutgoingMessage.Status.QUEUED, attempts=F("attempts") - 1
        )
        if queue_again:
            queue_sending(ids)
    return len(ids)


def deliver_messages(*, message_ids: list[int]) -> dict[str, int]:
    """Send a chunk of rows over one connection to the mail server (fan-out chunks).

    The due rows are claimed together (one transaction) and checked against the suppression
    list together; each one is marked sent right after the server accepts it, so a crash
    re-sends at most the message in flight (the other claimed rows stay "sending" until the
    sweeper re-queues them, and are sent once). A chunk holds its rows at most
    ``CLAIM_LEASE``, well within ``SENDING_TIMEOUT``: what it has not reached by then it gives
    back, so the sweeper never hands a row it still holds to another worker.
    """
    outcomes = {"sent": 0, "failed": 0, "retry": 0, "skipped": 0}
    claimed_at = timezone.now()
    messages = _claim_many(message_ids, claimed_at)
    outcomes["skipped"] = len(set(message_ids)) - len(messages)
    if not messages:
        return outcomes
    suppressed = _suppressed([message.recipient for message in messages])
    chunk_links = _mint_chunk_links(
        [message for message in messages if not _blocked(message, suppressed)],
        now=claimed_at,
    )
    connection = get_connection()
    try:
        connection.open()
    except Exception:
        _release(messages, claimed_at, queue_again=False)
        raise
    prototypes = _Prototypes(connection)
    try:
        for position, message in enumerate(messages):
            if timezone.now() - claimed_at > CLAIM_LEASE:
                outcomes["skipped"] += _release(messages[position:], claimed_at, queue_again=True)
                break
            if _blocked(message, suppressed):
                _finish(
                    message, status=OutgoingMessage.Status.FAILED, last_error="address suppressed"
                )
                outcomes["failed"] += 1
                continue
            try:
                outcome = _send_claimed(message, connection, prototypes, chunk_links)
            except TransientSendError:
                outcome = "retry"
            if outcome == "failed":
                suppressed |= _suppressed([message.recipient])
            outcomes[outcome] += 1
    finally:
        connection.close()
    return outcomes


def retry_failed_messages(*, dispatch_id: int | None = None) -> int:
    """Staff asked to try failed emails again (a dispatch's, or all): queue them anew."""
    failed = OutgoingMessage.objects.filter(
        status=OutgoingMessage.Status.FAILED, body_purged_at__isnull=True
    )
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
    for start in range(0, len(message_ids), SEND_BATCH_SIZE):
        chunk = message_ids[start : start + SEND_BATCH_SIZE]
        if len(chunk) == 1:
            enqueue_after_commit(SEND_TASK, chunk[0])
        else:
            enqueue_after_commit(SEND_BATCH_TASK, chunk)


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


def purge_old_bodies(*, now: datetime | None = None, limit: int = 5000) -> int:
    """Blank the bodies (and unsubscribe links) of rows delivered or failed more than
    ``OUTBOX_BODY_RETENTION_DAYS`` ago; the row itself stays as the delivery ledger.

    Idempotent: a purged row is not touched again. Returns how many rows were purged.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.OUTBOX_BODY_RETENTION_DAYS)
    done = Q(status=OutgoingMessage.Status.SENT, sent_at__lte=cutoff) | Q(
        status=OutgoingMessage.Status.FAILED, created_at__lte=cutoff
    )
    ids = list(
        OutgoingMessage.objects.filter(done, body_purged_at__isnull=True).values_list(
            "pk", flat=True
        )[:limit]
    )
    return OutgoingMessage.objects.filter(pk__in=ids).update(
        body_text="", body_html="", unsubscribe_url="", headers={}, body_purged_at=now
    )
