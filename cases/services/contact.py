"""The contact form: answer first, ask only for what we do not know, count what was avoided."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from cases.models import Case, ContactReason, Deflection
from cases.selectors import verified_open_duplicate
from cases.services.lifecycle import REFERENCE_ALPHABET, add_customer_message, open_case
from cases.services.limits import CONTACT_LIMITS, within_limits
from cases.services.link_requests import request_case_links
from helpcenter import shared_cache
from helpcenter.ratelimit import allow

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
    now: datetime | None = None,
) -> Deflection | None:
    """Count "this solved it" once per visitor, reason and day (the service's day), and at
    most ``ARTICLE_DEFLECTIONS_PER_ADDRESS_AND_DAY`` per address; None when not counted.

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
    return record_deflection(
        kind=Deflection.Kind.ARTICLE,
        reason=reason,
        article_key=article_key,
        language=language,
        now=now,
    )


@transaction.atomic
def add_to_existing_case(
    *, case: Case, subject: str, description: str, language: str, now: datetime | None = None
) -> Case:
    now = now or timezone.now()
    add_customer_message(case=case, body=f"{subject}\n\n{description}".strip(), now=now)
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

    kind: Kind
    # The case opened, the open case found, or the one the message was added to.
    case: Case | None = None

    @property
    def deflected(self) -> bool:
        """No new case was needed (and the contact counts as avoided)."""
        return self.kind in (self.Kind.STATUS_LINK_SENT, self.Kind.ADDED_TO_CASE)


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
    now: datetime | None = None,
) -> ContactOutcome:
    """Decide what a contact form submission needs, do it, and say what was done.

    In order: the rate limits (``CONTACT_LIMITS`` per ``address_key`` and per email); a
    question about an existing case (a status reason, or a reference in a short message) gets
    the case's link by email instead of a new case; a visitor with an open case about the same
    reason that they proved is theirs (``verified_case_ids``: the cases their session opened)
    is asked whether the message belongs to it, unless ``duplicate_choice`` already says;
    otherwise a case is opened.
    """
    now = now or timezone.now()
    kind = ContactOutcome.Kind
    if not within_limits("contact", CONTACT_LIMITS, address_key=address_key, email=email):
        return ContactOutcome(kind.LIMITED)

    reference = mentioned_reference(subject, description)
    if reason.is_status_inquiry or (
        reference and len(description) < STATUS_QUESTION_MAX_CHARACTERS
    ):
        # A question about an existing case: its page answers it better than a new case.
        with transaction.atomic():
            request_case_links(email=email, reference=reference, now=now)
            record_deflection(
                kind=Deflection.Kind.STATUS_INQUIRY, reason=reason, language=language, now=now
            )
        return ContactOutcome(kind.STATUS_LINK_SENT)

    duplicate = verified_open_duplicate(
        reason=reason, email=email, verified_case_ids=list(verified_case_ids)
    )
    if duplicate is not None and duplicate_choice != DuplicateChoice.NEW:
        if duplicate_choice == DuplicateChoice.ADD:
            add_to_existing_case(
                case=duplicate,
                subject=subject,
                description=description,
                language=language,
                now=now,
            )
            return ContactOutcome(kind.ADDED_TO_CASE, case=duplicate)
        return ContactOutcome(kind.DUPLICATE_FOUND, case=duplicate)

    case = open_case(
        reason=reason,
        customer_email=email,
        customer_name=name,
        language=language,
        subject=subject,
        description=description,
        visitor_hash=visitor_hash,
        now=now,
    )
    return ContactOutcome(kind.OPENED, case=case)
