"""Every change to a case: opening, replies, notes, status, and what the customer does.

Each change the customer should know about stamps ``Case.update_pending_since`` in the same
transaction; ``send_pending_updates`` sends one email for all of it, in the customer's language
and the service's time zone, with a fresh link, through the outbox. A public reply is sent at
once (a task queued after commit, and the beat job within a minute if that task is lost);
status changes alone wait CASE_UPDATE_COALESCE_MINUTES so that a burst of them is one email
naming only the latest. Internal notes are never part of an email, and nothing is mailed about
a case the customer closed themselves.
"""

import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Attachment, Case, CaseAccessToken, CaseEvent, ContactReason, DeskAlert
from cases.selectors import (
    CASE_LINK_PLACEHOLDER,
    DESK_SEARCH_TEXT_KINDS,
    can_reopen,
    case_message_id,
    due_dates,
    reply_address,
    staged_files,
    with_attachments,
)
from cases.services.access import emailed_link
from cases.services.attachments import (
    AttachedFiles,
    IncomingFile,
    attach_files,
    claim_staged_files,
)
from cases.services.desk import discard_reply_draft, tell_staff
from cases.services.mail import render_case_email
from cases.services.search_text import write_case_search_text
from foundation.queueing import enqueue_after_commit
from kb import selectors as kb
from kb import services as kb_services
from notifications.selectors import (
    active_incidents,
    email_already_queued,
    load_calendar,
    notices_for_areas,
    updates_of,
)
from notifications.services.outbox import queue_email
from webhooks.services import record_event

# No 0/O, 1/I/L, 5/S or 8/B: a reference read over the phone is not misheard.
REFERENCE_ALPHABET = "234679ACDEFGHJKMNPQRTUVWXYZ"
# A rating this low or lower tells whoever handles the case.
LOW_RATING = 2
Status = Case.Status

ALLOWED_TRANSITIONS = {
    Status.RECEIVED: {
        Status.IN_PROGRESS,
        Status.WAITING_ON_CUSTOMER,
        Status.RESOLVED,
        Status.CLOSED,
    },
    Status.IN_PROGRESS: {Status.WAITING_ON_CUSTOMER, Status.RESOLVED, Status.CLOSED},
    Status.WAITING_ON_CUSTOMER: {Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED},
    Status.RESOLVED: {Status.CLOSED, Status.REOPENED, Status.IN_PROGRESS},
    Status.CLOSED: {Status.REOPENED},
    Status.REOPENED: {
        Status.IN_PROGRESS,
        Status.WAITING_ON_CUSTOMER,
        Status.RESOLVED,
        Status.CLOSED,
    },
}


def new_reference() -> str:
    letters = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


def _actor(actor: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return actor if actor is not None and actor.is_authenticated else None


def _event(
    case: Case, kind: str, *, actor=None, by_customer=False, public=True, **fields
) -> CaseEvent:
    event = CaseEvent.objects.create(
        case=case, kind=kind, author=_actor(actor), by_customer=by_customer, public=public, **fields
    )
    if event.body and kind in DESK_SEARCH_TEXT_KINDS:
        write_case_search_text(case_ids=[case.pk])  # the desk finds what was just written
    return event


def case_webhook_data(case: Case) -> dict:
    """A case as webhooks show it (README, "Webhooks out")."""
    return {
        "id": case.pk,
        "reference": case.reference,
        "status": case.status,
        "reason": case.reason.code,
        "language": case.language,
        "subject": case.subject,
        "customer": {"email": case.customer_email, "name": case.customer_name},
        "created_at": case.created_at,
        "url": settings.SITE_URL + reverse("cases:desk_case", kwargs={"reference": case.reference}),
    }


def _customer_should_hear(case: Case, now: datetime) -> None:
    if case.update_pending_since is None:
        Case.objects.filter(pk=case.pk, update_pending_since__isnull=True).update(
            update_pending_since=now
        )


def _set_status(
    case: Case, status: str, *, now: datetime, actor=None, by_customer=False
) -> CaseEvent | None:
    if status == case.status:
        return None
    if status not in ALLOWED_TRANSITIONS[case.status]:
        raise ValidationError(
            _("A case cannot go from “%(from)s” to “%(to)s”.")
            % {"from": case.get_status_display(), "to": Case.Status(status).label},
            code="invalid_transition",
        )
    previous = case.status
    case.status = status
    if status == Status.RESOLVED:
        case.resolved_at = now
    elif status == Status.CLOSED:
        case.closed_at = now
        case.resolved_at = case.resolved_at or now
    elif status == Status.REOPENED:
        case.reopened_at = now
        case.resolved_at = case.closed_at = None
        case.first_responded_at = None
        case.first_response_due, case.resolution_due = due_dates(case.reason, now)
    case.save()
    record_event(
        event_type="case.status_changed",
        data={
            "case": case_webhook_data(case),
            "from_status": previous,
            "to_status": status,
            "by_customer": by_customer,
        },
        now=now,
    )
    return _event(
        case,
        CaseEvent.Kind.STATUS,
        actor=actor,
        by_customer=by_customer,
        from_status=previous,
        to_status=status,
        created_at=now,
    )


@transaction.atomic
def open_case(
    *,
    reason: ContactReason,
    customer_email: str,
    customer_name: str,
    language: str,
    subject: str,
    description: str,
    visitor_hash: str = "",
    address_key: str = "",
    incident_id: int | None = None,
    opened_by: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> Case:
    """Open a case, compute its honest due dates, and email the customer its link (after commit).

    ``opened_by``: another system that opens it for the customer (an API key's user); the case
    page and its email then say we opened it for them, not that they wrote it.

    With the anonymous ``visitor_hash`` of the web visitor, it also notes what self-service had
    offered them (a live notice, the reason's articles, a search just before) for the insights;
    a search just before, when the reason links articles, is a signal search learns from (the
    search's words point to those articles; ``address_key`` counts the client address).
    ``incident_id``: the live incident the contact form showed first; the case hears its
    updates (``tell_cases_about_incidents``).
    """
    now = now or timezone.now()
    first_due, resolution_due = due_dates(reason, now)
    during_notice = bool(notices_for_areas(reason.areas, now=now))
    seen = sorted(kb.articles_seen_by(visitor_hash=visitor_hash)) if visitor_hash else []
    saw_article = None
    if reason.article_keys:
        saw_article = bool(set(reason.article_keys) & set(seen))
    search_before = ""
    if visitor_hash:
        search_before = kb_services.note_contact_after_search(
            visitor_hash=visitor_hash, reason_code=reason.code
        )
    if search_before and reason.article_keys:
        kb_services.record_case_after_search(
            query=search_before,
            article_keys=reason.article_keys,
            language=language,
            visitor_hash=visitor_hash,
            address_key=address_key,
            now=now,
        )
    for _attempt in range(5):
        try:
            with transaction.atomic():
                case = Case.objects.create(
                    reference=new_reference(),
                    customer_email=customer_email.strip(),
                    customer_name=customer_name.strip(),
                    language=language,
                    reason=reason,
                    subject=subject.strip(),
                    description=description.strip(),
                    team=reason.team,
                    assignee=reason.owner,
                    first_response_due=first_due,
                    resolution_due=resolution_due,
                    opened_during_notice=during_notice,
                    saw_reason_article=saw_article,
                    seen_article_keys=seen[:50],
                    search_before=search_before or "",
                    incident_id=incident_id,
                    created_at=now,
                    customer_told_until=now,
                )
            break
        except IntegrityError:  # the one-in-a-trillion reference collision
            continue
    else:
        raise RuntimeError("could not find a free case reference")
    _event(
        case,
        CaseEvent.Kind.OPENED,
        actor=opened_by,
        by_customer=True,
        body=case.description,
        created_at=now,
    )
    record_event(
        event_type="case.opened",
        data={"case": case_webhook_data(case), "description": case.description},
        now=now,
    )
    # Anyone can type any address in the contact form: until that address has shown it reads
    # our mail (it opened a case link), the acknowledgement repeats nothing the visitor typed
    # (no name, no subject), only the reference; the case page shows the rest.
    _send_case_email(
        case,
        template="opened",
        key=f"case:{case.pk}:opened",
        now=now,
        echo_customer_text=address_has_opened_a_link(case.customer_email),
        extra={"opened_for_you": _actor(opened_by) is not None},
    )
    return case


def address_has_opened_a_link(email: str) -> bool:
    """Whether a case link sent to ``email`` has ever been opened: the address is known to be
    read by the person who writes from it."""
    return CaseAccessToken.objects.filter(
        case__customer_email__iexact=email.strip(), last_used_at__isnull=False
    ).exists()


def _send_case_email(
    case: Case,
    *,
    template: str,
    key: str,
    now: datetime,
    events: list[CaseEvent] | None = None,
    echo_customer_text: bool = True,
    extra: dict | None = None,
) -> None:
    link = emailed_link(case)  # minted when the email is sent: the outbox holds no token
    for event in events or []:  # a saved reply's {case_link} is the customer's own link
        event.body = event.body.replace(CASE_LINK_PLACEHOLDER, link)
    context = {
        "case": case,
        "echo_customer_text": echo_customer_text,
        "link": link,
        "events": events or [],
        "site_name": settings.SITE_NAME,
        "days": settings.CASE_LINK_DAYS,
        "reply_by_email": settings.CASE_REPLY_BY_EMAIL,
        **(extra or {}),
    }
    email = render_case_email(template, context, language=case.language)
    queue_email(
        dedupe_key=key,
        kind="case",
        recipient=case.customer_email,
        language=case.language,
        subject=email.subject,
        text=email.text,
        html=email.html,
        headers=case_mail_headers(case, key=key, automatic=template != "updated"),
    )


def case_mail_headers(case: Case, *, key: str, automatic: bool) -> dict[str, str]:
    """The headers of an email about ``case``: a Message-ID and (when replies by email are on)
    a Reply-To that both name the case, so the customer's reply threads into it. Mail written
    by a machine (an acknowledgement, a reminder, news of an incident) says so (RFC 3834
    ``Auto-Submitted``), so that an auto-responder does not answer it; a staff reply does not.
    """
    headers = {"Message-ID": case_message_id(case.reference, key)}
    if settings.CASE_REPLY_BY_EMAIL:
        headers["Reply-To"] = reply_address(case.reference)
    if automatic:
        headers["Auto-Submitted"] = "auto-generated"
    return headers


# --- What staff do --------------------------------------------------------------------------


@transaction.atomic
def reply_to_customer(
    *,
    case: Case,
    body: str,
    actor: AbstractBaseUser | None,
    status: str = "",
    attachments_token: str = "",
    files: Sequence[IncomingFile] = (),
    now: datetime | None = None,
) -> CaseEvent:
    """A public reply (optionally moving the status); the customer is emailed shortly.

    Files kept by the reply form under ``attachments_token`` and ``files`` are attached to it
    (``_with_files``); the email names them and links to the case page, never carrying them.
    """
    if not body.strip():
        raise ValidationError(_("A reply needs some text."), code="empty")
    now = now or timezone.now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    event = _event(
        case, CaseEvent.Kind.PUBLIC_REPLY, actor=actor, body=body.strip(), created_at=now
    )
    _with_files(
        event,
        token=attachments_token,
        files=files,
        source=Attachment.Source.DESK,
        actor=actor,
        now=now,
    )
    if case.first_responded_at is None:
        case.first_responded_at = event.created_at
        case.save(update_fields=["first_responded_at", "updated_at"])
    target = status or (
        Status.IN_PROGRESS if case.status in (Status.RECEIVED, Status.REOPENED) else ""
    )
    if target:
        _set_status(case, target, now=now, actor=actor)
    _customer_should_hear(case, now)
    discard_reply_draft(user=_actor(actor), case=case)
    enqueue_after_commit("cases.tasks.send_case_update", case.pk)  # the reply leaves at once
    return event


@transaction.atomic
def add_internal_note(*, case: Case, body: str, actor: AbstractBaseUser | None) -> CaseEvent:
    """A note for staff only: never shown to the customer, never emailed."""
    if not body.strip():
        raise ValidationError(_("A note needs some text."), code="empty")
    return _event(case, CaseEvent.Kind.INTERNAL_NOTE, actor=actor, public=False, body=body.strip())


@transaction.atomic
def share_files(
    *,
    case: Case,
    files: Sequence[IncomingFile],
    public: bool,
    actor: AbstractBaseUser | None,
    body: str = "",
    source: str = Attachment.Source.API,
    now: datetime | None = None,
) -> CaseEvent:
    """Files from our side of the case (another system's invoice, a label) as a message of
    their own, with ``body`` if given: public, the customer sees them on the case page and is
    emailed at once (the email names them and links to the page, as a reply's does); or
    internal, a note whose files only staff see. The case's status and its first response
    are left as they are: a file is not an answer.

    Each file goes through ``attach_files`` (type from the content, the limits, processing
    after commit); ``event.attached`` says what was attached and refused. When none could
    be attached, nothing is written: ``ValidationError`` with the first refusal's code
    (``too_large``, ``type``, ``case_full`` ...), every refusal in its messages.
    """
    if not files and not body.strip():
        raise ValidationError(_("Send a file."), code="empty")
    now = now or timezone.now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    kind = CaseEvent.Kind.PUBLIC_REPLY if public else CaseEvent.Kind.INTERNAL_NOTE
    event = _event(case, kind, actor=actor, public=public, body=body.strip(), created_at=now)
    _with_files(event, token="", files=files, source=source, actor=actor, now=now)
    if files and not event.attached.attached:
        # Every file refused: no empty message (the caller's transaction is undone).
        raise ValidationError(
            [
                ValidationError(refused.message, code=refused.code)
                for refused in event.attached.refused
            ]
        )
    if public:
        _customer_should_hear(case, now)
        enqueue_after_commit("cases.tasks.send_case_update", case.pk)
    return event


@transaction.atomic
def change_case_status(
    *, case: Case, status: str, actor: AbstractBaseUser | None, now: datetime | None = None
) -> Case:
    now = now or timezone.now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    if _set_status(case, status, now=now, actor=actor) is not None:
        _customer_should_hear(case, now)
    return case


def change_case_statuses(
    *,
    cases: Iterable[Case],
    status: str,
    actor: AbstractBaseUser | None,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Move each case to ``status`` where its workflow allows it (the desk's bulk action), each
    in its own transaction. Returns how many changed and how many were refused."""
    now = now or timezone.now()
    changed = refused = 0
    for case in cases:
        try:
            change_case_status(case=case, status=status, actor=actor, now=now)
            changed += 1
        except ValidationError:
            refused += 1
    return changed, refused


@transaction.atomic
def assign_case(
    *, case: Case, assignee: AbstractBaseUser | None, team=None, actor: AbstractBaseUser | None
) -> Case:
    case = Case.objects.select_for_update().get(pk=case.pk)
    case.assignee = assignee
    if team is not None:
        case.team = team
    case.save(update_fields=["assignee", "team", "updated_at"])
    who = assignee.get_full_name() or assignee.get_username() if assignee else "-"
    _event(
        case,
        CaseEvent.Kind.ASSIGNMENT,
        actor=actor,
        public=False,
        body=f"{who} · {case.team or '-'}",
    )
    return case


# --- What the customer does -----------------------------------------------------------------


def _with_files(
    event: CaseEvent,
    *,
    token: str,
    files: Sequence[IncomingFile],
    source: str,
    actor: AbstractBaseUser | None = None,
    now: datetime,
) -> CaseEvent:
    """Attach to the new message what its form kept under ``token`` and ``files``; what was
    attached and refused is left in ``event.attached`` (``AttachedFiles``)."""
    claimed = claim_staged_files(token=token, case=event.case, event=event, now=now)
    added = (
        attach_files(event=event, files=files, source=source, actor=actor, now=now)
        if files
        else AttachedFiles(attached=[], refused=[])
    )
    event.attached = AttachedFiles(attached=claimed + added.attached, refused=added.refused)
    return event


@transaction.atomic
def add_customer_message(
    *,
    case: Case,
    body: str,
    attachments_token: str = "",
    files: Sequence[IncomingFile] = (),
    source: str = Attachment.Source.CASE_PAGE,
    now: datetime | None = None,
) -> CaseEvent:
    """The customer writes on their case; a case waiting for them goes back to us.

    Files kept by the form under ``attachments_token``, and ``files`` (sent by ``source``,
    an ``Attachment.Source``), are attached to the message: ``event.attached`` says which
    were attached and which refused, and why. A message may be files alone.
    """
    if not body.strip() and not files and not staged_files(attachments_token):
        raise ValidationError(_("Write a message first."), code="empty")
    now = now or timezone.now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status == Status.CLOSED:
        raise ValidationError(_("This case is closed; reopen it first."), code="closed")
    if case.status == Status.RESOLVED and not can_reopen(case, now):
        raise ValidationError(_("This case can no longer be reopened."), code="too_late")
    event = _event(
        case,
        CaseEvent.Kind.CUSTOMER_MESSAGE,
        by_customer=True,
        body=body.strip()[:5000],
        created_at=now,
    )
    _with_files(event, token=attachments_token, files=files, source=source, now=now)
    if not event.body and not event.attached.attached:
        # Only files, and every one refused: no empty message (the transaction is undone).
        raise ValidationError(
            " ".join(refused.message for refused in event.attached.refused), code="files_refused"
        )
    _customer_replied(case, event, now=now)
    reopened = case.status == Status.RESOLVED
    if case.status == Status.WAITING_ON_CUSTOMER:
        _set_status(case, Status.IN_PROGRESS, now=now, by_customer=True)
    elif reopened:
        _set_status(case, Status.REOPENED, now=now, by_customer=True)
    tell_staff(
        case=case, kind=DeskAlert.Kind.REOPENED if reopened else DeskAlert.Kind.REPLIED, now=now
    )
    return event


def _customer_replied(case: Case, event: CaseEvent, *, now: datetime) -> None:
    files = getattr(event, "attached", None)  # set by _with_files
    record_event(
        event_type="case.customer_replied",
        data={
            "case": case_webhook_data(case),
            "message": {
                "id": event.pk,
                "body": event.body,
                "created_at": event.created_at,
                "attachments": len(files.attached) if files else 0,
            },
        },
        now=now,
    )


@transaction.atomic
def confirm_solved(*, case: Case, now: datetime | None = None) -> Case:
    """The customer says the problem is solved: the case closes."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status == Status.CLOSED:
        return case
    _set_status(case, Status.CLOSED, now=now or timezone.now(), by_customer=True)
    return case


@transaction.atomic
def reopen_case(*, case: Case, body: str = "", now: datetime | None = None) -> Case:
    """Reopen within CASE_REOPEN_DAYS of resolution; the case gets new due dates."""
    now = now or timezone.now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    if not can_reopen(case, now):
        raise ValidationError(_("This case can no longer be reopened."), code="too_late")
    _set_status(case, Status.REOPENED, now=now, by_customer=True)
    if body.strip():
        event = _event(
            case,
            CaseEvent.Kind.CUSTOMER_MESSAGE,
            by_customer=True,
            body=body.strip()[:5000],
            created_at=now,
        )
        _customer_replied(case, event, now=now)
    tell_staff(case=case, kind=DeskAlert.Kind.REOPENED, now=now)
    return case


@transaction.atomic
def rate_case(*, case: Case, rating: int, comment: str = "") -> CaseEvent:
    """A satisfaction rating (1-5) after resolution, once."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status not in (Status.RESOLVED, Status.CLOSED):
        raise ValidationError(_("A case can be rated once it is resolved."), code="not_resolved")
    if case.satisfaction is not None:
        raise ValidationError(_("This case has already been rated."), code="already_rated")
    if not 1 <= rating <= 5:
        raise ValidationError(_("The rating goes from 1 to 5."), code="out_of_range")
    case.satisfaction = rating
    case.save(update_fields=["satisfaction", "updated_at"])
    event = _event(
        case,
        CaseEvent.Kind.SATISFACTION,
        by_customer=True,
        rating=rating,
        body=comment.strip()[:2000],
    )
    record_event(
        event_type="case.rated",
        data={"case": case_webhook_data(case), "rating": rating, "comment": event.body},
        now=event.created_at,
    )
    if rating <= LOW_RATING:
        tell_staff(case=case, kind=DeskAlert.Kind.LOW_RATING)
    return event


@transaction.atomic
def set_customer_updates(*, case: Case, enabled: bool) -> Case:
    Case.objects.filter(pk=case.pk).update(customer_updates=enabled)
    case.customer_updates = enabled
    return case


# --- The update job -------------------------------------------------------------------------


def _unsent_reply() -> models.Exists:
    return models.Exists(
        CaseEvent.objects.filter(
            case=models.OuterRef("pk"),
            kind=CaseEvent.Kind.PUBLIC_REPLY,
            public=True,
            created_at__gt=models.OuterRef("customer_told_until"),
        )
    )


def send_pending_updates(*, now: datetime | None = None, case_ids: list[int] | None = None) -> int:
    """Email each customer once for what changed on their case (the beat job, and the task a
    public reply queues with its case's id). A case is due when a public reply is waiting, or
    when its status changes have been quiet for CASE_UPDATE_COALESCE_MINUTES. The email starts
    with the replies and names only the latest status. Idempotent. Returns emails queued."""
    now = now or timezone.now()
    quiet_since = now - timedelta(minutes=settings.CASE_UPDATE_COALESCE_MINUTES)
    due = models.Q(update_pending_since__lte=quiet_since) | models.Q(_unsent_reply())
    candidates = Case.objects.filter(update_pending_since__isnull=False).filter(due)
    if case_ids is not None:
        candidates = candidates.filter(pk__in=case_ids)
    sent = 0
    for case_id in candidates.values_list("pk", flat=True)[:500]:
        with transaction.atomic():
            case = (
                Case.objects.select_for_update()
                .filter(pk=case_id, update_pending_since__isnull=False)
                .filter(due)
                .first()
            )
            if case is None:
                continue
            pending_since = case.update_pending_since
            events = with_attachments(
                list(
                    case.events.filter(
                        public=True, by_customer=False, created_at__gt=case.customer_told_until
                    )
                    .exclude(kind=CaseEvent.Kind.INTERNAL_NOTE)
                    .select_related("author")
                    .order_by("created_at", "pk")
                )
            )
            told_until = max(
                [event.created_at for event in events], default=case.customer_told_until
            )
            Case.objects.filter(pk=case.pk).update(
                update_pending_since=None, customer_told_until=told_until
            )
            replies = [e for e in events if e.kind == CaseEvent.Kind.PUBLIC_REPLY]
            statuses = [e for e in events if e.kind == CaseEvent.Kind.STATUS]
            if not case.customer_updates or not (replies or statuses):
                continue
            if _closed_by_the_customer(case):
                continue  # they closed it on the case page, where every reply is shown
            _send_case_email(
                case,
                template="updated",
                key=f"case:{case.pk}:update:{pending_since.timestamp()}",
                now=now,
                events=replies,
                extra={"status_changed": bool(statuses)},
            )
            sent += 1
    return sent


def _closed_by_the_customer(case: Case) -> bool:
    if case.status != Status.CLOSED:
        return False
    last = case.events.filter(kind=CaseEvent.Kind.STATUS).order_by("-created_at", "-pk").first()
    return last is not None and last.by_customer


def advance_idle_cases(*, now: datetime | None = None) -> dict[str, int]:
    """The beat job for what the articles promise: a case waiting for the customer for
    CASE_REOPEN_DAYS days is resolved, and a resolved case closes after as many days more."""
    now = now or timezone.now()
    limit = now - timedelta(days=settings.CASE_REOPEN_DAYS)
    counts = {"reminded": 0, "resolved": 0, "closed": 0}
    counts["reminded"] = _remind_waiting_customers(now=now)
    idle = Case.objects.filter(status=Status.WAITING_ON_CUSTOMER, updated_at__lte=limit)
    for case in idle:
        change_case_status(case=case, status=Status.RESOLVED, actor=None, now=now)
        counts["resolved"] += 1
    for case in Case.objects.filter(status=Status.RESOLVED, resolved_at__lte=limit):
        with transaction.atomic():
            _set_status(Case.objects.select_for_update().get(pk=case.pk), Status.CLOSED, now=now)
        counts["closed"] += 1
    return counts


REMINDER_AFTER_BUSINESS_DAYS = 3


def _remind_waiting_customers(*, now: datetime) -> int:
    """One reminder when a case has waited for the customer 3 business days (as promised)."""
    calendar = load_calendar()
    reminded = 0
    waiting = Case.objects.filter(status=Status.WAITING_ON_CUSTOMER, customer_updates=True)
    for case in waiting.select_related("reason")[:2000]:
        since = (
            case.events.filter(kind=CaseEvent.Kind.STATUS, to_status=Status.WAITING_ON_CUSTOMER)
            .order_by("-created_at")
            .first()
        )
        if since is None:
            continue
        try:
            due = calendar.add_business_days(since.created_at, REMINDER_AFTER_BUSINESS_DAYS)
        except ValueError:
            due = since.created_at + timedelta(days=REMINDER_AFTER_BUSINESS_DAYS)
        key = f"case:{case.pk}:reminder:{since.pk}"
        if due > now or email_already_queued(key):
            continue
        _send_case_email(case, template="reminder", key=key, now=now)
        reminded += 1
    return reminded


def tell_cases_about_incidents(*, now: datetime | None = None) -> int:
    """Tell customers whose open case is about an affected reason that we know about an
    outage (once per case and incident, unless they opted out of emails for that case), and
    pass each update of an incident to the open cases linked to it (opened from the contact
    form after it showed the incident: they know about it, and hear how it goes).

    A beat job, so notifications never needs to know about cases.
    """
    now = now or timezone.now()
    told = 0
    for incident in active_incidents(now=now):
        if not incident.areas:
            continue  # a notice for everyone is for the banner, not for every case's inbox
        cases = (
            Case.objects.filter(status__in=Case.OPEN_STATUSES, customer_updates=True)
            .filter(
                models.Q(reason__code__in=incident.areas)
                | models.Q(reason__parent__code__in=incident.areas)
            )
            .exclude(incident_id=incident.pk)  # opened knowing it: they get its updates
        )
        for case in cases.select_related("reason")[:5000]:
            key = f"incident:{incident.pk}:case:{case.pk}"
            if email_already_queued(key):
                continue
            _queue_incident_email(case, incident, key=key, template="incident")
            told += 1
    return told + _tell_linked_cases_about_updates()


def _queue_incident_email(case: Case, incident, *, key: str, template: str, **extra) -> None:
    context = {
        "case": case,
        "incident": incident,
        "site_name": settings.SITE_NAME,
        "notice_url": settings.SITE_URL + incident.get_absolute_url(),
        **extra,
    }
    email = render_case_email(template, context, language=case.language)
    queue_email(
        dedupe_key=key,
        kind="case",
        recipient=case.customer_email,
        language=case.language,
        subject=email.subject,
        text=email.text,
        html=email.html,
        headers=case_mail_headers(case, key=key, automatic=True),
    )


def _tell_linked_cases_about_updates() -> int:
    """Each update of an incident, once, to every open case linked to it that wants email."""
    linked = list(
        Case.objects.filter(
            status__in=Case.OPEN_STATUSES, customer_updates=True, incident__isnull=False
        ).select_related("reason")[:5000]
    )
    if not linked:
        return 0
    since = min(case.created_at for case in linked)
    updates = updates_of(sorted({case.incident_id for case in linked}), since=since)
    told = 0
    for case in linked:
        for update in updates:
            if update.announcement_id != case.incident_id or update.created_at <= case.created_at:
                continue
            key = f"incident:{case.incident_id}:update:{update.pk}:case:{case.pk}"
            if email_already_queued(key):
                continue
            incident = update.announcement
            _queue_incident_email(
                case,
                incident,
                key=key,
                template="incident_update",
                update=update,
                fixed=incident.is_resolved,
            )
            told += 1
    return told
