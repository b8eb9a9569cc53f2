"""What staff do with mail the machine would not decide on: a reply from another address, a
reply with no new text, too many new cases from one address, and mail that could not be read
(after a fix, it is tried again)."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import services as cases_services
from foundation.queueing import enqueue_after_commit
from inbound.models import InboundMessage
from inbound.services.intake import PROCESS_TASK
from inbound.services.parsing import parse_message
from inbound.services.processing import (
    clean_subject,
    hand_over_attachments,
    language_and_reason,
    message_body,
    with_refused_files,
)

Status = InboundMessage.Status
Outcome = InboundMessage.Outcome


def _who(actor: AbstractBaseUser | None) -> str:
    return actor.get_username() if actor is not None and actor.is_authenticated else "staff"


@transaction.atomic
def accept_held_message(
    *, message_id: int, actor: AbstractBaseUser | None, now: datetime | None = None
) -> InboundMessage:
    """Staff say a held message is the customer's after all: a reply from another address (or
    with no new text: then its whole text) becomes the customer's message on its case; a new
    message held because its address wrote too often opens its case.

    Raises ``ValidationError`` (code ``not_held``) for a message that is not held, and what
    the case's own rules raise (a closed case, for instance).
    """
    now = now or timezone.now()
    message = InboundMessage.objects.select_for_update().filter(pk=message_id).first()
    if message is None or message.status != Status.HELD:
        raise ValidationError(_("Only held messages can be accepted."), code="not_held")
    mail = parse_message(bytes(message.raw))
    case = message.case
    if case is not None:
        text = mail.reply if message.outcome != Outcome.EMPTY else mail.text
        body = message_body(text, mail.attachments, language=case.language)
        if not body:
            raise ValidationError(_("This message has no text to add."), code="empty")
        event = cases_services.add_customer_message(case=case, body=body, now=now)
        hand_over_attachments(message, mail.attachments, case=case, event=event, now=now)
        message.case_event = event
        message.outcome = Outcome.REPLY_ADDED
    else:
        language, reason = language_and_reason(mail)
        if reason is None:
            raise ValidationError(_("There is no contact reason to file it under."), code="reason")
        case = cases_services.open_case(
            reason=reason,
            customer_email=mail.sender,
            customer_name=mail.sender_name or mail.sender.partition("@")[0],
            language=language,
            subject=clean_subject(mail.subject)[:200] or mail.sender,
            description=message_body(mail.reply or mail.text, mail.attachments, language=language),
            now=now,
        )
        hand_over_attachments(message, mail.attachments, case=case, event=None, now=now)
        message.case = case
        message.outcome = Outcome.CASE_OPENED
    message.status = Status.PROCESSED
    message.detail = with_refused_files(
        f"accepted by {_who(actor)}; {message.detail}", message.attachments or []
    )
    message.processed_at = now
    message.save()
    return message


def dismiss_messages(*, message_ids: list[int], actor: AbstractBaseUser | None) -> int:
    """Staff looked at these held or unprocessed messages and want nothing done with them.
    The originals stay."""
    return InboundMessage.objects.filter(
        pk__in=message_ids, status__in=(Status.HELD, Status.UNPROCESSED)
    ).update(status=Status.DISMISSED, detail=f"dismissed by {_who(actor)}")


def retry_messages(*, message_ids: list[int]) -> int:
    """Process these unprocessed (or dismissed) messages again, as if they had just arrived
    (after a fix, say). Returns how many were queued."""
    with transaction.atomic():
        ids = list(
            InboundMessage.objects.filter(
                pk__in=message_ids, status__in=(Status.UNPROCESSED, Status.DISMISSED)
            ).values_list("pk", flat=True)
        )
        InboundMessage.objects.filter(pk__in=ids).update(
            status=Status.RECEIVED, outcome=Outcome.NONE, detail="", attempts=0, requeued_at=None
        )
        for message_pk in ids:
            enqueue_after_commit(PROCESS_TASK, message_pk)
    return len(ids)
