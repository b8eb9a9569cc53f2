"""The contact form: answer first, ask only for what we do not know, count what was avoided."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from cases.models import Case, CaseEvent, ContactReason, ContactSubmission, Deflection
from cases.selectors import verified_open_duplicate
from cases.services.attachments import claim_staged_files
from cases.services.lifecycle import REFERENCE_ALPHABET, add_customer_message, open_case
from cases.services.limits import CONTACT_LIMITS, Limits, within_limits
from cases.services.link_requests import request_case_links
from foundation import shared_cache
from foundation.ratelimit import allow
from kb import selectors as kb
from kb import services as kb_services
from notifications import selectors as notices
from notifications.models import Announcement
from notifications.services.incidents import follow_incident

REFERENCE_PATTERN = re.compile(rf"\b[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}\b")


def mentioned_reference(*texts: str) -> str:
    """A case reference written in the text ("K7M2-Q9XA"), if any.

    Whether such a case exists is not checked here: the answer must be the same either way.
    """
    for text in texts:
        match = REFERENCE_PATTERN.search((text or "").upper())
        if match:
            return match.group(0)
    return ""


def record_deflection(
    *,
    kind: str,
    language: str,
    reason: ContactReason | None = None,
    article_key: str = "",
    now: datetime | None = None,
) -> Deflection:
    return Deflection.objects.create(
        kind=kind,
        reason=reason,
        article_key=article_key[:80],
        language=language,
        created_at=now or timezone.now(),
    )


# "This solved it" from one address in one day: past this, more clicks are not more contacts
# avoided (a browser without cookies is a new visitor on every click).
ARTICLE_DEFLECTIONS_PER_ADDRESS_AND_DAY = 10


def record_article_deflection(
    *,
    language: str,
    visitor_hash: str,
    address_key: str,
    reason: ContactReason | None = None,
    article_key: str = "",
    subject: str = "",
    now: datetime | None = None,
) -> Deflection | None:
    """Count "this solved it" once per visitor, reason and day (the service's day), and at
    most ``ARTICLE_DEFLECTIONS_PER_ADDRESS_AND_DAY`` per address; None when not counted.

    ``article_key`` is the article's translation key. It counts as a contact avoided only when
    the visitor had opened that article (in either language); a click on a suggestion never
    opened is recorded apart (``Deflection.Kind.ARTICLE_UNREAD``) and counts for nothing.
    A contact avoided is also a signal search learns from: ``subject``, the words the
    suggestion answered, point to the article (``kb.services.record_solved_suggestion``).

    Best effort, like every count kept in the cache: while the cache is down the click counts.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    tomorrow = timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min))
    seconds_left = max(60, int((tomorrow - now).total_seconds()))
    reason_part = reason.pk if reason is not None else "-"
    first = shared_cache.count(
        f"deflection-seen:{today.isoformat()}:{reason_part}:{visitor_hash}", timeout=seconds_left
    )
    if first not in (1, None):
        return None
    if not allow(
        "deflection-address",
        f"{today.isoformat()}|{address_key}",
        limit=ARTICLE_DEFLECTIONS_PER_ADDRESS_AND_DAY,
        window_seconds=seconds_left,
    ):
        return None
    opened = bool(article_key) and article_key in kb.articles_seen_by(visitor_hash=visitor_hash)
    if opened:
        kb_services.record_solved_suggestion(
            translation_key=article_key,
            language=language,
            visitor_hash=visitor_hash,
            address_key=address_key,
            subject=subject,
            now=now,
        )
    return record_deflection(
        kind=Deflection.Kind.ARTICLE if opened else Deflection.Kind.ARTICLE_UNREAD,
        reason=reason,
        article_key=article_key,
        language=language,
        now=now,
    )


@transaction.atomic
def add_to_existing_case(
    *,
    case: Case,
    subject: str,
    description: str,
    language: str,
    attachments_token: str = "",
    now: datetime | None = None,
) -> Case:
    now = now or timezone.now()
    add_customer_message(
        case=case,
        body=f"{subject}\n\n{description}".strip(),
        attachments_token=attachments_token,
        now=now,
    )
    record_deflection(
        kind=Deflection.Kind.DUPLICATE, reason=case.reason, language=language, now=now
    )
    return case


# --- A contact form submission --------------------------------------------------------------

# A message that names a case reference and is this short asks how that case is going.
STATUS_QUESTION_MAX_CHARACTERS = 400


class DuplicateChoice(StrEnum):
    """What a visitor with an open case about the same reason chose to do with their message."""

    ASK = ""  # not asked yet: offer the open case first
    ADD = "add"  # add the message to the open case
    NEW = "new"  # it is something else: open a new case


@dataclass(frozen=True)
class ContactOutcome:
    """What became of a contact form submission; the view renders or redirects by ``kind``."""

    class Kind(StrEnum):
        LIMITED = "limited"  # too many messages from this address or email: nothing was done
        STATUS_LINK_SENT = "status_link_sent"  # a question about a case: its link is on its way
        DUPLICATE_FOUND = "duplicate_found"  # an open case about this: ask before opening one
        ADDED_TO_CASE = "added_to_case"  # the message went to that open case
        OPENED = "opened"  # a new case
        # A live incident or maintenance affects the reason and the visitor has not seen it
        # yet: show it first (nothing was done); sending again with it acknowledged opens.
        INCIDENT_KNOWN = "incident_known"
        # This form was already submitted (reload, back and resubmit, a double click):
        # nothing new was done; ``previous`` says what the first submission did.
        ALREADY_SUBMITTED = "already_submitted"

    kind: Kind
    # The case opened, the open case found, or the one the message was added to.
    case: Case | None = None
    # The live incident or maintenance that affects the chosen reason (INCIDENT_KNOWN).
    incident: Announcement | None = None
    # What the first submission of this form did (ALREADY_SUBMITTED).
    previous: Kind | None = None

    @property
    def deflected(self) -> bool:
        """No new case was needed (and the contact counts as avoided)."""
        return self.kind in (self.Kind.STATUS_LINK_SENT, self.Kind.ADDED_TO_CASE)


class _AlreadySubmitted(Exception):
    pass


def _spend(token: str, kind: "ContactOutcome.Kind", case: Case | None, now: datetime) -> None:
    """Record the form's one-time token with what its submission did, in the transaction that
    does it. A second submission of the token (even one racing this one: the unique index
    makes it wait for this transaction) raises ``_AlreadySubmitted`` and so does nothing."""
    if not token:
        return
    try:
        with transaction.atomic():
            ContactSubmission.objects.create(
                token=token[:64], outcome=kind, case=case, created_at=now
            )
    except IntegrityError:
        raise _AlreadySubmitted from None


def _already_submitted(token: str) -> "ContactOutcome | None":
    if not token:
        return None
    first = ContactSubmission.objects.select_related("case").filter(token=token[:64]).first()
    if first is None:
        return None
    return ContactOutcome(
        ContactOutcome.Kind.ALREADY_SUBMITTED,
        case=first.case,
        previous=ContactOutcome.Kind(first.outcome),
    )


def submit_contact(
    *,
    reason: ContactReason,
    subject: str,
    description: str,
    name: str,
    email: str,
    language: str,
    address_key: str,
    visitor_hash: str = "",
    verified_case_ids: Sequence[int] = (),
    duplicate_choice: DuplicateChoice = DuplicateChoice.ASK,
    submission_token: str = "",
    incident_seen: int | None = None,
    limits: Limits | None = CONTACT_LIMITS,
    opened_by: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> ContactOutcome:
    """Decide what a contact form submission needs, do it, and say what was done.

    ``submission_token`` is the form's one-time token: the first submission that does
    something spends it, and any later one with the same token (a reload, back and resubmit, a
    double click) does nothing and answers ``ALREADY_SUBMITTED`` with what the first did.

    In order: the token; the rate limits (``limits`` per ``address_key`` and per email:
    ``CONTACT_LIMITS``, or None for a caller limited otherwise, as an API key is); a question
    about an existing case (a status reason, or a reference in a short message) gets the
    case's link by email instead of a new case; a live incident or maintenance that affects
    the reason is shown first (``INCIDENT_KNOWN``) unless the visitor has seen it
    (``incident_seen``, its id); a visitor with an open case about the same reason that they
    proved is theirs (``verified_case_ids``: the cases their session opened) is asked whether
    the message belongs to it, unless ``duplicate_choice`` already says; otherwise a case is
    opened, linked to the incident the visitor saw, so it hears the incident's news.
    ``opened_by``: the other system opening it for the customer (an API key's user).
    """
    now = now or timezone.now()
    kind = ContactOutcome.Kind
    if repeated := _already_submitted(submission_token):
        return repeated
    if limits is not None and not within_limits(
        "contact", limits, address_key=address_key, email=email
    ):
        return ContactOutcome(kind.LIMITED)
    try:
        return _submit(
            reason=reason,
            subject=subject,
            description=description,
            name=name,
            email=email,
            language=language,
            visitor_hash=visitor_hash,
            address_key=address_key,
            verified_case_ids=verified_case_ids,
            duplicate_choice=duplicate_choice,
            token=submission_token,
            incident_seen=incident_seen,
            opened_by=opened_by,
            now=now,
        )
    except _AlreadySubmitted:
        return _already_submitted(submission_token)


def _submit(
    *,
    reason: ContactReason,
    subject: str,
    description: str,
    name: str,
    email: str,
    language: str,
    visitor_hash: str,
    address_key: str,
    verified_case_ids: Sequence[int],
    duplicate_choice: DuplicateChoice,
    token: str,
    incident_seen: int | None,
    opened_by: AbstractBaseUser | None,
    now: datetime,
) -> ContactOutcome:
    kind = ContactOutcome.Kind
    reference = mentioned_reference(subject, description)
    if reason.is_status_inquiry or (
        reference and len(description) < STATUS_QUESTION_MAX_CHARACTERS
    ):
        # A question about an existing case: its page answers it better than a new case.
        with transaction.atomic():
            _spend(token, kind.STATUS_LINK_SENT, None, now)
            request_case_links(email=email, reference=reference, now=now)
            record_deflection(
                kind=Deflection.Kind.STATUS_INQUIRY, reason=reason, language=language, now=now
            )
        return ContactOutcome(kind.STATUS_LINK_SENT)

    problems = notices.live_problems_for_areas(reason.areas, now=now)
    seen = next((problem for problem in problems if problem.pk == incident_seen), None)
    if problems and seen is None:
        return ContactOutcome(kind.INCIDENT_KNOWN, incident=problems[0])

    duplicate = verified_open_duplicate(
        reason=reason, email=email, verified_case_ids=list(verified_case_ids)
    )
    if duplicate is not None and duplicate_choice != DuplicateChoice.NEW:
        if duplicate_choice == DuplicateChoice.ADD:
            with transaction.atomic():
                _spend(token, kind.ADDED_TO_CASE, duplicate, now)
                add_to_existing_case(
                    case=duplicate,
                    subject=subject,
                    description=description,
                    language=language,
                    attachments_token=token,
                    now=now,
                )
            return ContactOutcome(kind.ADDED_TO_CASE, case=duplicate)
        return ContactOutcome(kind.DUPLICATE_FOUND, case=duplicate)

    with transaction.atomic():
        _spend(token, kind.OPENED, None, now)
        case = open_case(
            reason=reason,
            customer_email=email,
            customer_name=name,
            language=language,
            subject=subject,
            description=description,
            visitor_hash=visitor_hash,
            address_key=address_key,
            incident_id=seen.pk if seen is not None else None,
            opened_by=opened_by,
            now=now,
        )
        if token:
            ContactSubmission.objects.filter(token=token[:64]).update(case=case)
            # The files the form kept under its token go with the case's first message.
            claim_staged_files(
                token=token, case=case, event=case.events.get(kind=CaseEvent.Kind.OPENED), now=now
            )
    return ContactOutcome(kind.OPENED, case=case)


def follow_incident_instead(
    *,
    incident: Announcement,
    email: str,
    language: str,
    address_key: str,
    reason: ContactReason | None = None,
    now: datetime | None = None,
) -> bool:
    """ "Tell me when it is fixed" from the contact form: the visitor follows the incident
    instead of writing, which counts as a contact avoided (once per address and incident).
    False when over the rate limits."""
    now = now or timezone.now()
    with transaction.atomic():
        follower = follow_incident(
            incident=incident, email=email, language=language, address_key=address_key, now=now
        )
        if follower is None:
            return False
        if follower.created_at == now:  # a new follower, not the same address again
            record_deflection(
                kind=Deflection.Kind.INCIDENT, reason=reason, language=language, now=now
            )
    return True
