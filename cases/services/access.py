"""Secure links to a case: no account, no enumeration.

A link carries a random 256-bit token; only its SHA-256 is stored, scoped to one case, with
an expiry and a revocation time. Opening it puts that one case in the visitor's session and
redirects to a clean URL, so the token stays out of history, logs and Referer headers.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from cases.models import Case, CaseAccessToken
from notifications.services.outbox import queue_email

SESSION_KEY = "case_access"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_access_link(*, case: Case, now: datetime | None = None) -> str:
    """A fresh absolute link to ``case`` (valid CASE_LINK_DAYS days)."""
    token = secrets.token_urlsafe(32)
    CaseAccessToken.objects.create(
        case=case,
        token_hash=_hash(token),
        expires_at=(now or timezone.now()) + timedelta(days=settings.CASE_LINK_DAYS),
    )
    with translation.override(case.language):
        return settings.SITE_URL + reverse("cases:access", kwargs={"token": token})


def redeem_token(*, token: str, now: datetime | None = None) -> tuple[Case | None, str]:
    """The case a link opens, and "ok", "expired" (or revoked) or "invalid"."""
    if not token or len(token) > 100:
        return None, "invalid"
    access = CaseAccessToken.objects.select_related("case").filter(token_hash=_hash(token)).first()
    if access is None:
        return None, "invalid"
    now = now or timezone.now()
    if access.revoked_at is not None or access.expires_at <= now:
        return access.case, "expired"
    CaseAccessToken.objects.filter(pk=access.pk).update(last_used_at=now)
    return access.case, "ok"


def revoke_links(*, case: Case, now: datetime | None = None) -> int:
    return CaseAccessToken.objects.filter(case=case, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )


def grant_session_access(session, case: Case) -> None:
    allowed = set(session.get(SESSION_KEY, []))
    allowed.add(case.pk)
    session[SESSION_KEY] = sorted(allowed)[-20:]
    session.cycle_key()  # a new session id once it opens a case: no fixation


def session_can_open(session, case_id: int) -> bool:
    return case_id in session.get(SESSION_KEY, [])


def session_case_ids(session) -> list[int]:
    return list(session.get(SESSION_KEY, []))


@transaction.atomic
def email_case_links(*, email: str, reference: str = "", now: datetime | None = None) -> int:
    """Email fresh links to the cases of ``email`` (one case when ``reference`` is given).

    Runs in a Celery task, so the page that asked answers the same words in the same time
    whether or not anything matched. Returns how many cases were found.
    """
    now = now or timezone.now()
    cases = Case.objects.filter(customer_email__iexact=email.strip())
    if reference:
        cases = cases.filter(reference=reference.strip().upper())
    cases = list(cases.select_related("reason").order_by("-created_at")[:20])
    if not cases:
        return 0
    language = cases[0].language
    links = [(case, issue_access_link(case=case, now=now)) for case in cases]
    with translation.override(language):
        context = {"links": links, "site_name": settings.SITE_NAME, "days": settings.CASE_LINK_DAYS}
        subject = render_to_string("cases/email/links_subject.txt", context).strip()
        text = render_to_string("cases/email/links.txt", context)
    minute = now.strftime("%Y%m%d%H%M")
    queue_email(
        dedupe_key=f"case-links:{_hash(email.lower() + reference.upper())[:32]}:{minute}",
        kind="case",
        recipient=cases[0].customer_email,
        language=language,
        subject=subject,
        text=text,
    )
    return len(cases)
