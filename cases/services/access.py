"""Secure links to a case: no account, no enumeration.

A link carries a random 256-bit token; only its SHA-256 is stored, scoped to one case, with
an expiry and a revocation time. Emails are queued with a placeholder where the link goes
(``emailed_link``); the outbox asks ``mint_emailed_link`` for a fresh link right before the
message goes to the mail server, so no row of the outbox ever holds a usable token.

Opening a link puts a grant for that one case in the visitor's session, bound to the token
that opened it (a *proven* grant: everything shows), and redirects to a clean URL, so the
token stays out of history, logs and Referer headers. Each request checks the grant
(``cases.selectors``): its token must be neither revoked nor expired, and the grant ends
CASE_SESSION_HOURS after the link was opened, whatever the activity. Submitting the contact
form gives that browser an *unproven* grant to the new case (``grant_submission_access``):
its status and what was written, never our replies.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation

from cases.models import Case, CaseAccessToken
from cases.selectors import SESSION_KEY, SessionGrant, session_grants
from cases.services.mail import render_case_email
from notifications.services.outbox import link_placeholder, queue_email

MAX_GRANTS = 20
LINK_SCOPE = "case"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_access_link(*, case: Case, now: datetime | None = None) -> str:
    """A fresh absolute link to ``case`` (valid CASE_LINK_DAYS days).

    Only for a message leaving now (the outbox's minter, the demo's console): anything
    written to the database carries ``emailed_link(case)`` instead.
    """
    token = secrets.token_urlsafe(32)
    CaseAccessToken.objects.create(
        case=case,
        token_hash=_hash(token),
        expires_at=(now or timezone.now()) + timedelta(days=settings.CASE_LINK_DAYS),
    )
    with translation.override(case.language):
        return settings.SITE_URL + reverse("cases:access", kwargs={"token": token})


def emailed_link(case: Case) -> str:
    """What an email body holds where the case's link goes: the outbox mints the link when
    it sends the message (``mint_emailed_link``)."""
    return link_placeholder(LINK_SCOPE, case.pk)


def mint_emailed_link(case_id: int, *, recipient: str, now: datetime | None = None) -> str | None:
    """A fresh link for an email leaving now to ``recipient``; None when the case is gone or
    is not that address's (a placeholder typed into an echoed subject names any case)."""
    case = (
        Case.objects.filter(pk=case_id, customer_email__iexact=recipient.strip())
        .only("pk", "language")
        .first()
    )
    return issue_access_link(case=case, now=now) if case is not None else None


def _find_token(token: str) -> CaseAccessToken | None:
    if not token or len(token) > 100:
        return None
    return CaseAccessToken.objects.select_related("case").filter(token_hash=_hash(token)).first()


def redeem_token(*, token: str, now: datetime | None = None) -> tuple[Case | None, str]:
    """The case a link opens, and "ok", "expired" (or revoked) or "invalid"."""
    case, state, _access = redeem_token_for_session(token=token, now=now)
    return case, state


def redeem_token_for_session(
    *, token: str, now: datetime | None = None
) -> tuple[Case | None, str, CaseAccessToken | None]:
    """``redeem_token`` plus the token's row, to bind the session grant to it."""
    access = _find_token(token)
    if access is None:
        return None, "invalid", None
    now = now or timezone.now()
    if access.revoked_at is not None or access.expires_at <= now:
        return access.case, "expired", access
    CaseAccessToken.objects.filter(pk=access.pk).update(last_used_at=now)
    return access.case, "ok", access


def revoke_links(*, case: Case, now: datetime | None = None) -> int:
    return CaseAccessToken.objects.filter(case=case, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )


def grant_session_access(
    session, case: Case, *, token: CaseAccessToken | None = None, now: datetime | None = None
) -> None:
    """Let this session open ``case`` while ``token`` (the emailed link it was opened with)
    is live, for CASE_SESSION_HOURS at most: a *proven* grant, which shows everything. Without
    a token (benchmarks, tests) the grant is bound to a new token nobody holds, so revoking the
    case's links ends it all the same."""
    _grant(session, case, token=token, proven=True, now=now)


def grant_submission_access(session, case: Case, *, now: datetime | None = None) -> None:
    """The browser that has just submitted the contact form may see the case it wrote: an
    *unproven* grant (anyone can type someone else's address), which shows the case's status
    and what was written, never our replies; a proven grant this session holds stays."""
    if any(grant.case_id == case.pk and grant.proven for grant in session_grants(session)):
        return
    _grant(session, case, token=None, proven=False, now=now)


def _grant(
    session, case: Case, *, token: CaseAccessToken | None, proven: bool, now: datetime | None
) -> None:
    now = now or timezone.now()
    if token is None:
        token = CaseAccessToken.objects.create(
            case_id=case.pk,
            token_hash=_hash(secrets.token_urlsafe(32)),
            expires_at=now + timedelta(days=settings.CASE_LINK_DAYS),
        )
    grants = [grant for grant in session_grants(session) if grant.case_id != case.pk]
    grants.append(SessionGrant(case.pk, token.pk, now.timestamp(), proven))
    session[SESSION_KEY] = [
        [grant.case_id, grant.token_id, grant.opened_at, int(grant.proven)]
        for grant in grants[-MAX_GRANTS:]
    ]
    session.cycle_key()  # a new session id once it opens a case: no fixation


def forget_session_access(session) -> None:
    """ "Not you? Forget this device": the session no longer opens any case."""
    if SESSION_KEY in session:
        del session[SESSION_KEY]
        session.cycle_key()


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
    links = [(case, emailed_link(case)) for case in cases]
    context = {"links": links, "site_name": settings.SITE_NAME, "days": settings.CASE_LINK_DAYS}
    email_parts = render_case_email("links", context, language=language)
    minute = now.strftime("%Y%m%d%H%M")
    queue_email(
        dedupe_key=f"case-links:{_hash(email.lower() + reference.upper())[:32]}:{minute}",
        kind="case",
        recipient=cases[0].customer_email,
        language=language,
        subject=email_parts.subject,
        text=email_parts.text,
        html=email_parts.html,
    )
    return len(cases)
