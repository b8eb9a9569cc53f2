"""What a stored message becomes, decided once, in one transaction with its effect.

In order: a bounce feeds the suppression list (only for an address we wrote to, only when
refused for good); mail a machine sent (auto-replies, lists, robots) and our own mail coming
back are kept and nothing more; a message naming a case (its reply address, or our
Message-ID in In-Reply-To/References) becomes the customer's message on that case exactly as
if written on the case page, unless someone else wrote it (held for staff); any other
message whose From is not authenticated (SPF/DKIM/DMARC, ``INBOUND_SENDER_AUTH``) is held
for staff, since anyone can write a customer's address in From; the rest goes through the
contact form's own decision (``cases.services.submit_contact``): the reason guessed by the
engine behind the form's suggestions, a status question answered with the case links, or a
new case with the same acknowledgement.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases import selectors as cases_selectors
from cases import services as cases_services
from cases.models import Attachment, Case, CaseEvent, ContactReason
from foundation.queueing import enqueue_after_commit
from inbound.models import InboundMessage
from inbound.services import authentication
from inbound.services.intake import PROCESS_TASK
from inbound.services.parsing import (
    AttachmentInfo,
    DeliveryReport,
    ParsedMail,
    UnreadableMessage,
    guess_language,
    parse_message,
)
from notifications import selectors as notifications_selectors
from notifications.services.outbox import suppress_address

logger = logging.getLogger(__name__)

Status = InboundMessage.Status
Outcome = InboundMessage.Outcome
# A message still waiting this long after it arrived (its task lost, the broker down, the
# worker killed) is queued again by the sweeper; after MAX_ATTEMPTS it is filed for staff.
SWEEP_AFTER = timedelta(minutes=2)
MAX_ATTEMPTS = 5
SUBJECT_PREFIXES = ("re:", "fw:", "fwd:", "rv:", "res:", "reenv:", "aw:", "tr:")


@dataclass
class Result:
    status: str
    outcome: str
    detail: str = ""
    case: Case | None = None
    event: CaseEvent | None = None


def process_message(
    *,
    message_id: int,
    now: datetime | None = None,
    dkim_dns: authentication.DnsFunction | None = None,
) -> str:
    """Handle one stored message if it is still waiting; returns its new status, or
    "skipped" when there was nothing to do (a second run, another worker got it first).

    ``dkim_dns`` looks up DKIM keys for our own check (``INBOUND_VERIFY_DKIM``; default: DNS).

    A database error leaves the row waiting (the sweeper tries again, up to MAX_ATTEMPTS);
    any other failure files it for staff with its original and the error.
    """
    now = now or timezone.now()
    waiting = InboundMessage.objects.filter(pk=message_id, status=Status.RECEIVED)
    if not waiting.update(attempts=F("attempts") + 1):
        return "skipped"
    message = InboundMessage.objects.get(pk=message_id)
    try:
        mail = parse_message(bytes(message.raw))
    except UnreadableMessage as error:
        return _file_for_staff(message, Outcome.UNREADABLE, str(error), now=now)
    except Exception as error:  # a message that breaks the email package itself
        logger.exception("Inbound message %s could not be read", message.pk)
        return _file_for_staff(message, Outcome.UNREADABLE, repr(error), now=now)
    try:
        named = cases_selectors.cases_named_in(*mail.thread_values())
        # Outside the transaction: our own DKIM check asks DNS. A reply naming its case is
        # authenticated by our token, so it needs no lookup.
        verdict = authentication.sender_verdict(
            bytes(message.raw),
            sender=mail.sender,
            trusted_ids=settings.INBOUND_TRUSTED_AUTHSERV_IDS,
            verify_dkim_signatures=bool(
                settings.INBOUND_VERIFY_DKIM
                and settings.INBOUND_SENDER_AUTH != "off"
                and not named
                and not mail.machine
                and mail.report is None
                and mail.sender
            ),
            dnsfunc=dkim_dns,
        )
        held = authentication.held_by_policy(verdict, settings.INBOUND_SENDER_AUTH)
        reason = language = None
        if not named and not mail.machine and mail.report is None and mail.sender and not held:
            language, reason = language_and_reason(mail)  # the search: only when it is used
        with transaction.atomic():
            locked = (
                InboundMessage.objects.select_for_update()
                .filter(pk=message.pk, status=Status.RECEIVED)
                .first()
            )
            if locked is None:
                return "skipped"
            result = _decide(locked, mail, named, language, reason, verdict, now=now)
            _record(locked, mail, result, verdict, now=now)
    except DatabaseError:
        if message.attempts + 1 >= MAX_ATTEMPTS:
            logger.exception("Inbound message %s failed %s times", message.pk, MAX_ATTEMPTS)
            return _file_for_staff(message, Outcome.FAILED, "database errors", now=now, mail=mail)
        raise  # transient: the row stays waiting for the sweeper
    except Exception as error:
        logger.exception("Inbound message %s failed", message.pk)
        return _file_for_staff(message, Outcome.FAILED, repr(error), now=now, mail=mail)
    return result.status


def language_and_reason(mail: ParsedMail) -> tuple[str, ContactReason | None]:
    text = f"{mail.subject}\n{mail.reply or mail.text}"
    language = guess_language(text, declared=mail.content_language, default=settings.LANGUAGE_CODE)
    reason = cases_selectors.guess_reason(
        subject=clean_subject(mail.subject), body=mail.reply or mail.text, language=language
    )
    if (
        reason is not None
        and reason.is_status_inquiry
        and not cases_selectors.has_cases(mail.sender)
    ):
        # Answered with the links to the sender's cases: only when there are some. Anyone
        # else asked something the guess got wrong, and a person should read it. (The answer
        # goes to the address itself, so this tells a stranger nothing.)
        reason = None
    return language, reason or cases_selectors.fallback_reason()


def _decide(
    message: InboundMessage,
    mail: ParsedMail,
    named: list[Case],
    language: str | None,
    reason: ContactReason | None,
    verdict: authentication.SenderVerdict,
    *,
    now: datetime,
) -> Result:
    case = named[0] if named else None
    if mail.report is not None:
        return _bounce(mail.report, now=now)
    if mail.machine:
        return Result(Status.IGNORED, Outcome.AUTOMATIC, mail.machine, case=case)
    if _ours(mail.sender):
        return Result(Status.IGNORED, Outcome.LOOP, mail.sender, case=case)
    if case is not None:
        # Our token (the reply address, our Message-ID) authenticates a reply whatever SPF or
        # DKIM say; _reply still holds one whose From is not the case's customer.
        return _reply(message, mail, case, now=now)
    if authentication.held_by_policy(verdict, settings.INBOUND_SENDER_AUTH):
        # Anyone can write a customer's address in From: until staff look, it opens no case
        # (whose acknowledgement would write to the real customer), answers no status
        # question with their case links, and goes on none of their cases.
        return Result(Status.HELD, Outcome.UNAUTHENTICATED, verdict.summary())
    if reason is None:
        return Result(Status.UNPROCESSED, Outcome.FAILED, "no contact reason to file it under")
    return _new_message(message, mail, reason, language or settings.LANGUAGE_CODE, now=now)


def _ours(address: str) -> bool:
    """Our own support address (or one of its reply addresses) writing to us: a loop."""
    support = cases_selectors.support_address()
    local, _, domain = support.partition("@")
    sender_local, _, sender_domain = address.partition("@")
    return sender_domain == domain and (
        sender_local == local or sender_local.startswith(f"{local}+")
    )


def _reply(message: InboundMessage, mail: ParsedMail, case: Case, *, now: datetime) -> Result:
    if mail.sender != case.customer_email.strip().lower():
        _note_held(message, mail, case, now=now)
        return Result(
            Status.HELD,
            Outcome.OTHER_SENDER,
            f"{mail.sender} is not {case.customer_email}",
            case=case,
        )
    body = message_body(mail.reply, mail.attachments, language=case.language)
    if not body:
        _note_held(message, mail, case, now=now)
        return Result(Status.HELD, Outcome.EMPTY, "", case=case)
    try:
        event = cases_services.add_customer_message(case=case, body=body, now=now)
    except ValidationError as error:
        if error.code not in ("closed", "too_late"):
            raise
        # A reply to a case that can no longer be reopened: a new case about the same reason,
        # as the contact form would open.
        follow_up = cases_services.open_case(
            reason=case.reason,
            customer_email=case.customer_email,
            customer_name=case.customer_name,
            language=case.language,
            subject=clean_subject(mail.subject) or case.subject,
            description=body,
            now=now,
        )
        hand_over_attachments(message, mail.attachments, case=follow_up, event=None, now=now)
        return Result(Status.PROCESSED, Outcome.FOLLOW_UP_OPENED, case.reference, case=follow_up)
    hand_over_attachments(message, mail.attachments, case=case, event=event, now=now)
    return Result(Status.PROCESSED, Outcome.REPLY_ADDED, case=case, event=event)


def _note_held(message: InboundMessage, mail: ParsedMail, case: Case, *, now: datetime) -> None:
    """Staff working the case see, in its timeline (an internal note, never shown to the
    customer), that an email about it waits for a person, and where; its files are attached
    to that note, so only staff see them until someone accepts the message."""
    sender = mail.sender
    url = settings.SITE_URL + reverse("admin:inbound_inboundmessage_change", args=[message.pk])
    with translation.override(settings.LANGUAGE_CODE):
        body = _(
            "An email about this case from %(sender)s is held for review (it was not added as "
            "the customer's message): %(url)s"
        ) % {"sender": sender, "url": url}
    note = cases_services.add_internal_note(case=case, body=body, actor=None)
    hand_over_attachments(message, mail.attachments, case=case, event=note, now=now)


def _new_message(
    message: InboundMessage, mail: ParsedMail, reason: ContactReason, language: str, *, now
) -> Result:
    description = message_body(mail.reply or mail.text, mail.attachments, language=language)
    with translation.override(language):
        subject = clean_subject(mail.subject) or _("Email without a subject")
    name = mail.sender_name or mail.sender.partition("@")[0]
    kind = cases_services.ContactOutcome.Kind
    submission = {
        "reason": reason,
        "subject": " ".join(subject.split())[:200],
        "description": description or subject,
        "name": " ".join(name.split())[:120],
        "email": mail.sender,
        "language": language,
        "address_key": f"mail:{mail.sender}",
        "submission_token": f"inbound:{message.pk}",
        "now": now,
    }
    outcome = cases_services.submit_contact(**submission)
    if outcome.kind == kind.INCIDENT_KNOWN:
        # The form would show the known problem first; a message has already been written,
        # so the case is opened knowing it, and hears its news.
        outcome = cases_services.submit_contact(**submission, incident_seen=outcome.incident.pk)
    if outcome.kind == kind.ALREADY_SUBMITTED:
        outcome = cases_services.ContactOutcome(outcome.previous, case=outcome.case)
    if outcome.kind == kind.LIMITED:
        return Result(Status.HELD, Outcome.TOO_MANY, mail.sender)
    if outcome.kind == kind.STATUS_LINK_SENT:
        return Result(Status.PROCESSED, Outcome.LINKS_SENT, reason.code)
    if outcome.kind == kind.OPENED and outcome.case is not None:
        hand_over_attachments(message, mail.attachments, case=outcome.case, event=None, now=now)
        return Result(Status.PROCESSED, Outcome.CASE_OPENED, reason.code, case=outcome.case)
    raise RuntimeError(f"unexpected contact outcome {outcome.kind}")


def _bounce(report: DeliveryReport, *, now: datetime) -> Result:
    """Suppress each address refused for good, only if the report returns a message we sent
    to that very address (a forged or misdirected bounce suppresses nothing)."""
    suppressed, ignored = [], []
    statuses = {recipient.address: recipient.status for recipient in report.recipients}
    for address in report.permanently_gone():
        kind = _kind_of_mail_sent_to(address, report.original_message_ids)
        if kind is None:
            ignored.append(address)
            continue
        suppress_address(
            email=address,
            kind=kind,
            reason=f"bounce {statuses.get(address, '')}: {', '.join(report.original_message_ids)}",
            now=now,
        )
        suppressed.append(address)
    detail = "suppressed " + ", ".join(suppressed) if suppressed else "nothing suppressed"
    if ignored:
        detail += "; not a message we sent to " + ", ".join(ignored)
    return Result(Status.IGNORED, Outcome.BOUNCE, detail[:500])


def _kind_of_mail_sent_to(address: str, message_ids: list[str]) -> str | None:
    for message_id in message_ids:
        for case in cases_selectors.cases_named_in(message_id):
            if case.customer_email.strip().lower() == address:
                return "case"
        sent = notifications_selectors.sent_message_for_message_id(message_id)
        if sent is not None and sent.recipient.strip().lower() == address:
            return sent.kind
    return None


def clean_subject(subject: str) -> str:
    """The subject without "Re:", "Fwd:", "RV:"... in front."""
    subject = " ".join((subject or "").split())
    while subject.lower().startswith(SUBJECT_PREFIXES):
        subject = subject.split(":", 1)[1].strip()
    return subject


def message_body(text: str, attachments: list[AttachmentInfo], *, language: str) -> str:
    """The text a message adds to a case: its words; for files sent without a word, which
    files came (the files themselves are shown beside it, by ``hand_over_attachments``)."""
    text = (text or "").strip()
    names = [attachment.name or attachment.content_type for attachment in attachments]
    if text or not names:
        return text[:5000]
    with translation.override(language):
        note = _("Attached to the email: %(files)s") % {"files": ", ".join(names)}
    return note[:5000]


def hand_over_attachments(
    message: InboundMessage,
    attachments: list[AttachmentInfo],
    *,
    case: Case,
    event: CaseEvent | None,
    now: datetime,
) -> None:
    """Attach the files of an inbound message to ``event`` on ``case`` (``None``: the case's
    opening message, for a case the message opened), in the caller's transaction, through
    the attachment service (type read from the content, limits, images re-encoded by its
    task). Each file is recorded on the row, attached or refused with why (refusals also in
    ``detail``, for staff); a refused file is no error, and the original stays in
    ``message.raw``. Files already attached from this message to ``event`` are not attached
    again, and those it already left on the same case (a held message's, on the staff note)
    are moved to ``event``, not copied."""
    if event is None:
        event = case.events.filter(kind=CaseEvent.Kind.OPENED).first()
    if not attachments or event is None:
        message.attachments = attachment_rows(attachments)
        return
    earlier = message.attachments or []
    if any(row.get("event") == event.pk for row in earlier):
        return  # handed over already (a second run of the same decision)
    rows = []
    for position, item in enumerate(attachments):
        before = earlier[position] if position < len(earlier) else {}
        if before.get("attachment") and before.get("name") == item.name:
            # Already on this case, for staff only (the held email's note): the accepted
            # message takes that very file, which is not copied and so counts once.
            moved = cases_services.move_attachments(keys=[before["attachment"]], event=event)
            if moved:
                rows.append(before | {"event": event.pk})
                continue
        # One file at a time, so each row says what became of its file; the limits still
        # count the files attached before it to the same message (same transaction).
        result = cases_services.attach_files(
            event=event,
            files=[cases_services.IncomingFile.from_bytes(item.name, item.data)],
            source=Attachment.Source.EMAIL,
            actor=None,
            now=now,
        )
        row = attachment_rows([item])[0] | {"event": event.pk}
        if result.attached:
            row["attachment"] = str(result.attached[0].key)
        for refusal in result.refused:
            # The code and what the check found, not words: the admin says it in the
            # language of the member of staff who reads it (inbound.selectors.file_rows).
            row |= {"refused": refusal.code, "params": refusal.params}
        rows.append(row)
    message.attachments = rows


def with_refused_files(detail: str, rows: list[dict]) -> str:
    """``detail`` followed by the files the attachment service refused, for staff."""
    refused = [
        f"{row['name'] or row['content_type']} ({row['refused']})"
        for row in rows
        if row.get("refused")
    ]
    if not refused:
        return detail[:500]
    return "; ".join(filter(None, [detail, f"files refused: {', '.join(refused)}"]))[:500]


def attachment_rows(attachments: list[AttachmentInfo]) -> list[dict]:
    return [
        {"name": item.name, "content_type": item.content_type, "size": item.size}
        for item in attachments
    ]


def _record(
    message: InboundMessage,
    mail: ParsedMail,
    result: Result,
    verdict: authentication.SenderVerdict,
    *,
    now: datetime,
) -> None:
    message.status = result.status
    message.outcome = result.outcome
    message.detail = with_refused_files(result.detail, message.attachments or [])
    message.case = result.case
    message.case_event = result.event
    message.sender = mail.sender
    message.sender_auth = verdict.result
    message.sender_auth_reason = verdict.as_row()
    message.subject = mail.subject[:300]
    message.body = mail.reply or mail.text[:20000]
    if not message.attachments:
        message.attachments = attachment_rows(mail.attachments)
    message.processed_at = now
    message.save()


def _file_for_staff(
    message: InboundMessage,
    outcome: str,
    detail: str,
    *,
    now: datetime,
    mail: ParsedMail | None = None,
) -> str:
    """Nothing could be done with it: it goes to the staff's list of unprocessed mail, with its
    original. Never dropped."""
    fields = {
        "status": Status.UNPROCESSED,
        "outcome": outcome,
        "detail": detail[:500],
        "processed_at": now,
    }
    if mail is not None:
        fields.update(sender=mail.sender, subject=mail.subject[:300], body=mail.reply or mail.text)
    InboundMessage.objects.filter(pk=message.pk, status=Status.RECEIVED).update(**fields)
    return Status.UNPROCESSED


def process_waiting_messages(*, now: datetime | None = None, limit: int = 1000) -> int:
    """The sweeper (beat): queue again each message still waiting SWEEP_AFTER after it
    arrived or was last queued; file for staff those tried MAX_ATTEMPTS times. Returns how
    many were queued."""
    now = now or timezone.now()
    due = InboundMessage.objects.filter(
        status=Status.RECEIVED, received_at__lte=now - SWEEP_AFTER
    ).filter(Q(requeued_at__isnull=True) | Q(requeued_at__lte=now - SWEEP_AFTER))
    for message in due.filter(attempts__gte=MAX_ATTEMPTS).only("pk", "attempts"):
        _file_for_staff(message, Outcome.FAILED, f"tried {message.attempts} times", now=now)
    ids = list(due.filter(attempts__lt=MAX_ATTEMPTS).order_by("pk").values_list("pk", flat=True))
    ids = ids[:limit]
    InboundMessage.objects.filter(pk__in=ids).update(requeued_at=now)
    for message_pk in ids:
        enqueue_after_commit(PROCESS_TASK, message_pk)
    return len(ids)
