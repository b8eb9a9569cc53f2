"""Requests for case links, kept as rows so that a down broker or a lost task loses none.

The page that asks writes a ``CaseLinkRequest`` for every request, matched or not (so it
answers the same words in the same time either way), and queues the task after commit. The
task looks the cases up and queues the email through the outbox in one transaction that also
deletes the row: a second run finds nothing to do, and no processed row keeps an address. A
beat sweeper queues again what a lost task left, with a growing wait, and gives up after
MAX_ATTEMPTS; a row it gave up on is deleted a day after it was written.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from cases.models import CaseLinkRequest
from cases.services.access import email_case_links, redeem_token
from cases.services.limits import FIND_LIMITS, RENEW_LINK_LIMIT, within_limits
from foundation.queueing import enqueue_after_commit
from foundation.ratelimit import allow

logger = logging.getLogger(__name__)

# Wait before the first re-queue; it doubles with each attempt (2, 4, 8, 16, 32 minutes), so
# a task stuck behind a long queue is not queued again and again.
SWEEP_AFTER = timedelta(minutes=2)
MAX_ATTEMPTS = 6
# A row still here this long after it was written, with every attempt spent, is dropped:
# by then no task queued for it can still be waiting.
ABANDON_AFTER = timedelta(days=1)
# Queued by name (foundation.queueing): cases.tasks imports the services, never the reverse.
ANSWER_TASK = "cases.tasks.answer_case_link_request"


def request_case_links(
    *, email: str, reference: str = "", now: datetime | None = None
) -> CaseLinkRequest:
    """Record that ``email`` asked for the links to its cases (to one case with ``reference``)
    and queue ``answer_case_link_request`` after commit.

    Never looks the cases up: the caller's answer must not depend on whether any match.
    """
    now = now or timezone.now()
    link_request = CaseLinkRequest.objects.create(
        email=email.strip()[:254],
        reference=reference.strip().upper()[:12],
        created_at=now,
        next_attempt_at=now + SWEEP_AFTER,
    )
    enqueue_after_commit(ANSWER_TASK, link_request.pk)
    return link_request


def ask_for_case_links(
    *, email: str, address_key: str, reference: str = "", now: datetime | None = None
) -> bool:
    """ "Find my case": ``request_case_links`` unless this address or this email asked too
    often (``FIND_LIMITS``); False, with nothing recorded, when it did."""
    if not within_limits("find", FIND_LIMITS, address_key=address_key, email=email):
        return False
    request_case_links(email=email, reference=reference, now=now)
    return True


def renew_case_link(*, token: str, now: datetime | None = None) -> None:
    """An expired (or revoked) link asks for a fresh one, sent to the email on its case, at
    most ``RENEW_LINK_LIMIT`` times an hour per case. Nothing is returned: the page answers the
    same whatever the token was."""
    case, _state = redeem_token(token=token, now=now)
    if case is not None and allow(
        "renew-link", str(case.pk), limit=RENEW_LINK_LIMIT, window_seconds=3600
    ):
        request_case_links(email=case.customer_email, reference=case.reference, now=now)


@transaction.atomic
def answer_case_link_request(*, request_id: int, now: datetime | None = None) -> int | None:
    """Email fresh links for one request, once. Returns how many cases were found, or None
    when the request was already answered (or dropped).

    The row is locked, the links and their email are written, and the row is deleted, all in
    one transaction: a concurrent run waits for the lock and then finds no row.
    """
    link_request = CaseLinkRequest.objects.select_for_update().filter(pk=request_id).first()
    if link_request is None:
        return None
    found = email_case_links(email=link_request.email, reference=link_request.reference, now=now)
    link_request.delete()
    return found


def requeue_case_link_requests(*, now: datetime | None = None, limit: int = 500) -> int:
    """Queue again the requests whose task was lost or never sent; drop those given up on.

    Returns how many were queued again.
    """
    now = now or timezone.now()
    dropped, _ = CaseLinkRequest.objects.filter(
        attempts__gte=MAX_ATTEMPTS, created_at__lte=now - ABANDON_AFTER
    ).delete()
    if dropped:
        logger.error("Dropped %d case link requests that no task could answer", dropped)

    with transaction.atomic():
        due = list(
            CaseLinkRequest.objects.filter(next_attempt_at__lte=now, attempts__lt=MAX_ATTEMPTS)
            .order_by("next_attempt_at")
            .values_list("pk", "attempts")[:limit]
        )
        for attempts in {attempts for _, attempts in due}:
            CaseLinkRequest.objects.filter(
                pk__in=[pk for pk, n in due if n == attempts], attempts=attempts
            ).update(attempts=attempts + 1, next_attempt_at=now + SWEEP_AFTER * 2**attempts)
        for pk, _attempts in due:
            enqueue_after_commit(ANSWER_TASK, pk)
    return len(due)
