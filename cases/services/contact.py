"""The contact form: answer first, ask only for what we do not know, count what was avoided."""

import re
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from cases.models import Case, ContactReason, Deflection
from cases.services.lifecycle import REFERENCE_ALPHABET, add_customer_message
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
    *, kind: str, language: str, reason: ContactReason | None = None, article_key: str = ""
) -> Deflection:
    return Deflection.objects.create(
        kind=kind, reason=reason, article_key=article_key[:80], language=language
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
        kind=Deflection.Kind.ARTICLE, reason=reason, article_key=article_key, language=language
    )


def verified_open_duplicate(
    *, reason: ContactReason, email: str, verified_case_ids: list[int]
) -> Case | None:
    """An open case about the same reason that this visitor has already proved is theirs.

    Only cases opened from the visitor's own link count: telling anyone who types an address
    that it has an open case would reveal it.
    """
    return (
        Case.objects.filter(
            pk__in=verified_case_ids,
            reason=reason,
            customer_email__iexact=email,
            status__in=Case.OPEN_STATUSES,
        )
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def add_to_existing_case(*, case: Case, subject: str, description: str, language: str) -> Case:
    add_customer_message(case=case, body=f"{subject}\n\n{description}".strip())
    record_deflection(kind=Deflection.Kind.DUPLICATE, reason=case.reason, language=language)
    return case
