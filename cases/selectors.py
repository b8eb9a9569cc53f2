"""Reads for cases, and the rules that only read: the status page, the contact form, the
session's grants to cases and the staff desk."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.files.storage import storages
from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import reply_addresses
from cases.models import (
    Attachment,
    Case,
    CaseAccessToken,
    CaseEvent,
    CaseSearchText,
    ContactReason,
    CustomerNotice,
    DeskAlert,
    DeskPreferences,
    ReplyDraft,
    SavedReply,
    Team,
)
from foundation import process_memo
from foundation.times import format_moment, service_zone
from foundation.words import folded_words
from kb import selectors as kb_selectors
from notifications.selectors import email_statuses, load_calendar

Status = Case.Status


def reason_groups() -> list[tuple[ContactReason, list[ContactReason]]]:
    """Active reasons grouped under their parent, for the contact form (one query)."""
    reasons = list(
        ContactReason.objects.filter(active=True)
        .select_related("parent")
        .order_by("position", "name_es")
    )
    groups: dict[int, list[ContactReason]] = {}
    parents = {reason.pk: reason for reason in reasons if reason.parent_id is None}
    for reason in reasons:
        if reason.parent_id is not None and reason.parent_id in parents:
            groups.setdefault(reason.parent_id, []).append(reason)
    return [
        (parent, groups.get(parent.pk, [])) for parent in parents.values() if groups.get(parent.pk)
    ]


def selectable_reasons() -> QuerySet[ContactReason]:
    return ContactReason.objects.filter(active=True, parent__isnull=False).select_related(
        "parent", "team"
    )


def selectable_reason(code: str) -> ContactReason | None:
    """The active reason a customer could choose on the contact form, by its code."""
    return selectable_reasons().filter(code=code).first()


# --- Notices to one customer ------------------------------------------------------------------

NOTICE_LINK_SALT = "cases.customer-notice"


def notice_token(notice: CustomerNotice) -> str:
    """What the notice's email link carries to the contact form: the notice's id, signed (it
    shows the notice's text and nothing else, and only until the notice expires)."""
    return signing.dumps(notice.pk, salt=NOTICE_LINK_SALT)


def _notice_from_token(token: str) -> int | None:
    try:
        value = signing.loads(token[:200], salt=NOTICE_LINK_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def customer_notices(case: Case, *, now: datetime | None = None) -> list[CustomerNotice]:
    """The notices sent to the case's customer that still show, newest first (no query when
    ``case_for_status_page`` found none)."""
    if not getattr(case, "has_notices", True):
        return []
    email = case.customer_email
    return list(
        CustomerNotice.objects.annotate(email_lower=Lower("customer_email"))
        .filter(email_lower=email.strip().lower(), expires_at__gt=now or timezone.now())
        .order_by("-created_at")[:5]
    )


def notice_email_key(notice_id: int) -> str:
    """The outbox key of a notice's email (one email per notice)."""
    return f"customer-notice:{notice_id}"


# What the desk's case page lists of the notices sent to the case's customer.
DESK_NOTICE_DAYS = 90
DESK_NOTICES_SHOWN = 5


class NoticeEmail:
    """Where a notice's email is, in the desk's words (the outbox's statuses, grouped)."""

    SENT = "sent"
    PENDING = "pending"  # queued, or being sent (the outbox tries again by itself)
    FAILED = "failed"
    NONE = "none"  # the outbox holds no email for it


@dataclass(frozen=True)
class DeskNotices:
    """The notices sent to a case's customer lately, newest first (each with ``email_state``,
    a ``NoticeEmail`` value), and how many more the page leaves out."""

    notices: list[CustomerNotice]
    more: int
    days: int


def _notices_lately(email, *, now: datetime | None = None) -> QuerySet[CustomerNotice]:
    """The notices sent to ``email`` (a string or an ``OuterRef``) in the last
    ``DESK_NOTICE_DAYS`` days, expired ones too: the customer was told."""
    now = now or timezone.now()
    email_lower = Lower(email) if isinstance(email, OuterRef) else email.strip().lower()
    return CustomerNotice.objects.annotate(email_lower=Lower("customer_email")).filter(
        email_lower=email_lower,
        created_at__gt=now - timedelta(days=DESK_NOTICE_DAYS),
        created_at__lte=now,
    )


def desk_customer_notices(case: Case, *, now: datetime | None = None) -> DeskNotices:
    """What staff see beside a case of the notices its customer was sent lately, so nobody
    asks or tells them again: none without a query when ``case_for_desk`` found none, else two
    queries (three with more than ``DESK_NOTICES_SHOWN``), however many."""
    if not getattr(case, "told_lately", True):
        return DeskNotices(notices=[], more=0, days=DESK_NOTICE_DAYS)
    sent = _notices_lately(case.customer_email, now=now).order_by("-created_at", "-pk")
    notices = list(sent.select_related("reason", "reason__parent")[: DESK_NOTICES_SHOWN + 1])
    more = 0
    if len(notices) > DESK_NOTICES_SHOWN:
        notices = notices[:DESK_NOTICES_SHOWN]
        more = sent.count() - DESK_NOTICES_SHOWN
    statuses = email_statuses([notice_email_key(notice.pk) for notice in notices])
    grouped = {"sent": NoticeEmail.SENT, "failed": NoticeEmail.FAILED}
    for notice in notices:
        status = statuses.get(notice_email_key(notice.pk))
        notice.email_state = (
            NoticeEmail.NONE if status is None else grouped.get(status, NoticeEmail.PENDING)
        )
    return DeskNotices(notices=notices, more=more, days=DESK_NOTICE_DAYS)


def notice_for_contact(
    *, reason: ContactReason, token: str = "", session=None, now: datetime | None = None
) -> CustomerNotice | None:
    """The notice the contact form leads with for ``reason``: the one the visitor's email link
    names (``token``), or the newest one sent to a customer whose case link this browser has
    opened (a proven address). None when neither has one about this reason that still shows."""
    now = now or timezone.now()
    live = CustomerNotice.objects.filter(reason=reason, expires_at__gt=now)
    notice_id = _notice_from_token(token) if token else None
    if notice_id is not None and (notice := live.filter(pk=notice_id).first()) is not None:
        return notice
    if session is None:
        return None
    proven = session_case_ids(session, proven_only=True, now=now)
    if not proven:
        return None
    emails = Case.objects.filter(pk__in=proven).annotate(email_lower=Lower("customer_email"))
    return (
        live.annotate(email_lower=Lower("customer_email"))
        .filter(email_lower__in=emails.values("email_lower"))
        .order_by("-created_at")
        .first()
    )


def notice_from_token(token: str, *, now: datetime | None = None) -> CustomerNotice | None:
    """The notice a token names, while it still shows."""
    notice_id = _notice_from_token(token)
    if notice_id is None:
        return None
    return (
        CustomerNotice.objects.filter(pk=notice_id, expires_at__gt=now or timezone.now())
        .select_related("reason")
        .first()
    )


def contact_reason(reason_id: int | None) -> ContactReason | None:
    """Any reason by id, active or not ("this solved it" counts against what was chosen)."""
    return ContactReason.objects.filter(pk=reason_id).first() if reason_id else None


# --- Email ------------------------------------------------------------------------------------

# Where a case's customer replies by email, and the Message-ID of each case email: both carry a
# token only this site can make (cases/reply_addresses.py).
reply_address = reply_addresses.reply_address
support_address = reply_addresses.support_address
case_message_id = reply_addresses.message_id


def cases_named_in(*values: str) -> list[Case]:
    """The cases whose valid reply tokens appear in ``values`` (the addresses a message was
    sent to, its In-Reply-To and References), in the order named."""
    references = reply_addresses.references_in(*values)
    if not references:
        return []
    cases = Case.objects.select_related("reason").in_bulk(references, field_name="reference")
    return [cases[reference] for reference in references if reference in cases]


# The weight of the first, second and third article the search finds; a reason is guessed
# only when its articles weigh at least REASON_GUESS_MINIMUM and more than any other's.
REASON_GUESS_WEIGHTS = (3, 2, 1)
REASON_GUESS_MINIMUM = 3


def guess_reason(*, subject: str, body: str, language: str) -> ContactReason | None:
    """The contact reason a message is about, by the engine that suggests articles on the
    contact form: the articles found for its subject (unless it is only "Hola" or "Consulta")
    and for the start of its text vote for the reasons they are linked to. None when unsure
    (no clear winner)."""
    reasons = [reason for reason in selectable_reasons() if reason.article_keys]
    by_key: dict[str, list[ContactReason]] = {}
    for reason in reasons:
        for key in reason.article_keys:
            by_key.setdefault(key, []).append(reason)
    if not by_key:
        return None
    scores: dict[int, int] = {}
    for text in (subject, " ".join(body.split()[:40])):
        if not _says_something(text):
            continue
        hits = kb_selectors.suggest_articles(text=text, language=language, limit=3)
        for weight, hit in zip(REASON_GUESS_WEIGHTS, hits, strict=False):
            for reason in by_key.get(hit.translation_key, []):
                scores[reason.pk] = scores.get(reason.pk, 0) + weight
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    if not ranked or ranked[0][1] < REASON_GUESS_MINIMUM:
        return None
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        return None
    return next(reason for reason in reasons if reason.pk == ranked[0][0])


# Words a subject is often made of alone ("Hola", "Consulta", "Question"): the search would
# find something for them, which says nothing about what the message is about.
_EMPTY_SUBJECT = (
    "hola buenas buenos días tardes consulta pregunta duda dudas ayuda información info "
    "urgente importante re rv fw fwd hello hi question query help information urgent"
)
_EMPTY_SUBJECT_WORDS = frozenset(_EMPTY_SUBJECT.split())


def _says_something(text: str) -> bool:
    words = [word.lower() for word in re.findall(r"\w+", text) if len(word) > 1]
    return any(word not in _EMPTY_SUBJECT_WORDS for word in words)


def has_cases(email: str) -> bool:
    """Whether any case was opened from ``email`` (through an index on the lowered address)."""
    return (
        Case.objects.annotate(lowered=Lower("customer_email"))
        .filter(lowered=email.strip().lower())
        .exists()
    )


def fallback_reason() -> ContactReason | None:
    """ "Other / none of these" (``INBOUND_FALLBACK_REASON``), else the last reason offered
    on the contact form: what a message nobody could place is filed under."""
    code = settings.INBOUND_FALLBACK_REASON
    reason = selectable_reasons().filter(code=code).first() if code else None
    return reason or selectable_reasons().order_by("parent__position", "position").last()


def due_dates(reason: ContactReason, start: datetime) -> tuple[datetime, datetime]:
    """First response and resolution due, counted in opening hours from ``start``."""
    calendar = load_calendar()
    try:
        first = calendar.add_business_hours(start, reason.first_response_hours)
        resolution = calendar.add_business_days(start, reason.resolution_days)
    except ValueError:  # no opening hours configured: plain time, so nothing breaks
        first = start + timedelta(hours=reason.first_response_hours)
        resolution = start + timedelta(days=reason.resolution_days)
    return first, max(first, resolution)


@dataclass(frozen=True)
class Expectation:
    """The honest reply time the contact form promises for a reason, before it is sent."""

    reason: ContactReason
    first_response: datetime
    resolution: datetime


def contact_expectation(
    reason_id: int | None, *, now: datetime | None = None
) -> Expectation | None:
    """When a case opened now for this (active) reason would be answered and solved."""
    reason = ContactReason.objects.filter(pk=reason_id, active=True).first() if reason_id else None
    if reason is None:
        return None
    first, resolution = due_dates(reason, now or timezone.now())
    return Expectation(reason=reason, first_response=first, resolution=resolution)


def verified_open_duplicate(
    *, reason: ContactReason, email: str, verified_case_ids: list[int]
) -> Case | None:
    """An open case about the same reason that this visitor has already proved is theirs.

    Only cases opened from the visitor's own link count: telling anyone who types an address
    that it has an open case would reveal it.
    """
    if not verified_case_ids:
        return None
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


def _could_be_reference(reference: str) -> bool:
    # References are short printable ASCII ("K7M2-Q9XA"). Anything else matches no case, and
    # a NUL from a URL would make PostgreSQL raise instead of finding nothing.
    return 0 < len(reference) <= 12 and reference.isascii() and reference.isprintable()


def _reasons_and_teams() -> tuple[dict[int, ContactReason], dict[int, Team]]:
    reasons = ContactReason.objects.select_related("parent", "team")
    return {reason.pk: reason for reason in reasons}, {team.pk: team for team in Team.objects.all()}


def case_for_status_page(
    *, reference: str, access_token_ids: list[int] | None = None, now: datetime | None = None
) -> Case | None:
    """The case with everything its page shows, in two queries whatever its timeline.

    Its reason (with the reason's group) and team come from the copy each process keeps of
    these few rows (``foundation.process_memo``), not from joins: the page is CPU-bound (see
    bench/status_page.py --cpu) and building the joined query costs more than running it. The
    timeline is a plain second query rather than ``prefetch_related`` for the same reason.

    With ``access_token_ids`` (the tokens behind a visitor's session grants) the same first
    query says, as ``case.opened_by_live_link``, whether one of them opens this case and is
    neither revoked nor expired.
    """
    if not _could_be_reference(reference):
        return None
    now = now or timezone.now()
    # Whether notices were sent to the customer rides on the same query: the page asks for
    # them only when there are some (most customers have none: no fourth query for them).
    told = CustomerNotice.objects.annotate(email_lower=Lower("customer_email")).filter(
        email_lower=Lower(OuterRef("customer_email")), expires_at__gt=now
    )
    cases = Case.objects.annotate(has_notices=Exists(told))
    if access_token_ids is not None:
        live_link = CaseAccessToken.objects.filter(
            pk__in=access_token_ids,
            case_id=OuterRef("pk"),
            revoked_at__isnull=True,
            expires_at__gt=now,
        )
        cases = cases.annotate(opened_by_live_link=Exists(live_link))
    try:
        case = cases.get(reference=reference)
    except Case.DoesNotExist:
        return None
    reasons, teams = process_memo.remember("cases.reasons_and_teams", _reasons_and_teams)
    if case.reason_id in reasons and (case.team_id is None or case.team_id in teams):
        case.reason = reasons[case.reason_id]
        case.team = teams[case.team_id] if case.team_id is not None else None
    else:  # created after this process read them, and the change has not reached the cache yet
        live, has_notices = getattr(case, "opened_by_live_link", None), case.has_notices
        case = Case.objects.select_related("reason", "reason__parent", "team").get(pk=case.pk)
        case.opened_by_live_link, case.has_notices = live, has_notices
    case.public_events = with_attachments(
        list(
            CaseEvent.objects.filter(case_id=case.pk, public=True)
            .annotate(has_files=Exists(Attachment.objects.filter(event_id=OuterRef("pk"))))
            .order_by("created_at", "id")
        )
    )
    return case


@dataclass(frozen=True)
class NextStep:
    headline: str
    detail: str
    due: datetime | None
    overdue: bool
    new_estimate: datetime | None


def next_step(case: Case, *, now: datetime | None = None) -> NextStep:
    """Plain words for where the case stands, what happens next and by when (honestly)."""
    now = now or timezone.now()
    team = case.team.name if case.team_id else _("our support team")
    if case.status in (Status.RECEIVED, Status.REOPENED) and case.first_responded_at is None:
        due = case.first_response_due
        headline = _("We have your case and will reply soon.")
        detail = _("%(team)s will read it and write to you.") % {"team": team}
    elif case.status == Status.WAITING_ON_CUSTOMER:
        return NextStep(
            headline=_("We are waiting for your answer."),
            detail=_("Read our last message below and reply here; we continue as soon as you do."),
            due=None,
            overdue=False,
            new_estimate=None,
        )
    elif case.status in (Status.RECEIVED, Status.IN_PROGRESS, Status.REOPENED):
        due = case.resolution_due
        headline = _("We are working on your case.")
        detail = _("%(team)s is handling it.") % {"team": team}
    elif case.status == Status.RESOLVED:
        return NextStep(
            headline=_("We think your case is solved."),
            detail=_("If it is, confirm it below. If not, tell us and we will keep working on it."),
            due=None,
            overdue=False,
            new_estimate=None,
        )
    else:
        return NextStep(
            headline=_("This case is closed."),
            detail="",
            due=None,
            overdue=False,
            new_estimate=None,
        )
    overdue = due is not None and due < now
    new_estimate = None
    if overdue:  # the calendar is read only when we are late and owe a new estimate
        try:
            new_estimate = load_calendar().add_business_days(now, 1)
        except ValueError:
            new_estimate = None
    return NextStep(
        headline=headline, detail=detail, due=due, overdue=overdue, new_estimate=new_estimate
    )


def can_reopen(case: Case, now: datetime | None = None) -> bool:
    """Whether the customer may still reopen the case (CASE_REOPEN_DAYS after it was solved)."""
    now = now or timezone.now()
    solved_at = case.resolved_at or case.closed_at
    return (
        case.status in (Status.RESOLVED, Status.CLOSED)
        and solved_at is not None
        and now - solved_at <= timedelta(days=settings.CASE_REOPEN_DAYS)
    )


def reopen_until(case: Case) -> datetime | None:
    """Until when the customer may reopen a solved case (None while it is not solved)."""
    solved_at = case.resolved_at or case.closed_at
    if case.status not in (Status.RESOLVED, Status.CLOSED) or solved_at is None:
        return None
    return solved_at + timedelta(days=settings.CASE_REOPEN_DAYS)


def resolution_message(case: Case) -> CaseEvent | None:
    """The reply that resolved the case: our last public reply up to its resolution (from
    the timeline the status page already read)."""
    if case.status not in (Status.RESOLVED, Status.CLOSED) or case.resolved_at is None:
        return None
    replies = [
        event
        for event in getattr(case, "public_events", [])
        if event.kind == CaseEvent.Kind.PUBLIC_REPLY and event.created_at <= case.resolved_at
    ]
    return replies[-1] if replies else None


def customer_cases(case_ids: list[int]) -> list[Case]:
    return list(
        Case.objects.filter(pk__in=case_ids).select_related("reason").order_by("-created_at")
    )


# --- The session's grants -------------------------------------------------------------------
# Opening a case link puts a grant for that case in the visitor's session, bound to the token
# that opened it (``services.grant_session_access`` writes them). A grant is a list of
# [case id, token id, opened at (POSIX seconds), proven (1 or 0)], most recently opened last.
#
# Only a grant from the emailed link is *proven*: whoever opened it reads that address's mail.
# The browser that submits the contact form gets an unproven grant (``services.
# grant_submission_access``): anyone can type someone else's address, so it shows the case's
# status and what that browser wrote, never our replies or anything that came later. A grant
# of the older three-part form (before this distinction) counts as unproven.

SESSION_KEY = "case_grants"


@dataclass(frozen=True)
class SessionGrant:
    case_id: int
    token_id: int
    opened_at: float
    proven: bool


def session_grants(session) -> list[SessionGrant]:
    """The session's grants, oldest first; anything malformed is dropped."""
    grants = []
    for grant in session.get(SESSION_KEY, []):
        if (
            isinstance(grant, list | tuple)
            and len(grant) in (3, 4)
            and all(isinstance(part, int | float) for part in grant)
        ):
            proven = len(grant) == 4 and grant[3] == 1
            grants.append(SessionGrant(int(grant[0]), int(grant[1]), float(grant[2]), proven))
    return grants


def _fresh_grants(session, now: datetime) -> list[SessionGrant]:
    oldest = (now - timedelta(hours=settings.CASE_SESSION_HOURS)).timestamp()
    return [grant for grant in session_grants(session) if grant.opened_at > oldest]


def has_case_grants(session) -> bool:
    return bool(session.get(SESSION_KEY))


def session_token_ids(session, *, now: datetime | None = None) -> list[int]:
    """The tokens behind the session's grants still within their absolute lifetime (the
    status page checks them in its own query: ``case_for_status_page``)."""
    return [grant.token_id for grant in _fresh_grants(session, now or timezone.now())]


def session_case_ids(
    session, *, proven_only: bool = False, now: datetime | None = None
) -> list[int]:
    """The cases this session may open now, most recently opened first: each grant within
    its lifetime and its link neither revoked nor expired (one query). With ``proven_only``,
    only the cases opened from their emailed link."""
    now = now or timezone.now()
    grants = [grant for grant in _fresh_grants(session, now) if grant.proven or not proven_only]
    if not grants:
        return []
    live = set(
        CaseAccessToken.objects.filter(
            pk__in=[grant.token_id for grant in grants],
            revoked_at__isnull=True,
            expires_at__gt=now,
        ).values_list("case_id", "pk")
    )
    return [grant.case_id for grant in reversed(grants) if (grant.case_id, grant.token_id) in live]


def session_cases(session, *, now: datetime | None = None) -> list[Case]:
    """The cases this session may open now, most recent first ("find my case")."""
    return customer_cases(session_case_ids(session, now=now))


def known_customer_case(session, *, now: datetime | None = None) -> Case | None:
    """The case this browser opened most recently, whose name and email fill in the contact
    form: never ask twice. (Not the oldest grant: a link someone forwarded must not keep
    lending their identity; the page says whose case it is and offers to forget it.)"""
    if not has_case_grants(session):
        return None
    cases = customer_cases(session_case_ids(session, now=now)[:1])
    return cases[0] if cases else None


def case_for_session(session, reference: str, *, now: datetime | None = None) -> Case | None:
    """The case for its status page if this session opened it from a link that still works,
    within the grant's lifetime (the check rides on the case's own query); else None.

    ``case.address_proven`` says whether the grant came from the emailed link (everything
    may be shown) or from submitting the form (only the status and what was written)."""
    now = now or timezone.now()
    grants = _fresh_grants(session, now)
    if not grants:
        return None
    case = case_for_status_page(
        reference=reference.upper()[:12],
        access_token_ids=[grant.token_id for grant in grants],
        now=now,
    )
    if case is None or not case.opened_by_live_link:
        return None
    case.address_proven = any(grant.proven for grant in grants if grant.case_id == case.pk)
    return case


@dataclass(frozen=True)
class QueueFilters:
    query: str = ""
    status: str = ""
    reason: int | None = None
    team: int | None = None
    assignee: int | None = None
    overdue: bool = False
    waiting: bool = False
    mine_user_id: int | None = None


def desk_queue(filters: QueueFilters, *, now: datetime | None = None) -> QuerySet[Case]:
    """Open cases (or the chosen status), most urgent due date first."""
    now = now or timezone.now()
    cases = Case.objects.select_related("reason", "team", "assignee")
    cases = (
        cases.filter(status=filters.status)
        if filters.status
        else cases.filter(status__in=Case.OPEN_STATUSES)
    )
    if filters.reason:
        cases = cases.filter(Q(reason_id=filters.reason) | Q(reason__parent_id=filters.reason))
    if filters.team:
        cases = cases.filter(team_id=filters.team)
    if filters.assignee:
        cases = cases.filter(assignee_id=filters.assignee)
    if filters.overdue:
        cases = cases.filter(
            Q(first_responded_at__isnull=True, first_response_due__lt=now)
            | Q(resolution_due__lt=now)
        )
    if filters.waiting:
        cases = cases.filter(status=Status.WAITING_ON_CUSTOMER)
    return cases.order_by("resolution_due", "created_at")


def case_for_desk(reference: str, *, now: datetime | None = None) -> Case | None:
    """The case with its whole timeline; ``case.told_lately`` says, on the same query, whether
    its customer was sent notices lately (``desk_customer_notices`` reads them only then)."""
    if not _could_be_reference(reference):
        return None
    events = (
        CaseEvent.objects.select_related("author")
        .annotate(has_files=Exists(Attachment.objects.filter(event_id=OuterRef("pk"))))
        .order_by("created_at", "id")
    )
    case = (
        Case.objects.filter(reference=reference)
        .annotate(told_lately=Exists(_notices_lately(OuterRef("customer_email"), now=now)))
        .select_related("reason", "reason__parent", "team", "assignee")
        .prefetch_related(Prefetch("events", queryset=events, to_attr="all_events"))
        .first()
    )
    if case is not None:
        with_attachments(case.all_events)
    return case


def cases_of_customer(email: str) -> QuerySet[Case]:
    """Every case of the customer writing from ``email`` (any case of the address), newest
    first, with its reason (the email's lower-case index answers it)."""
    return (
        Case.objects.annotate(email_lower=Lower("customer_email"))
        .filter(email_lower=email.strip().lower())
        .select_related("reason")
        .order_by("-created_at", "-pk")
    )


def top_level_reasons() -> QuerySet[ContactReason]:
    """The reason groups the desk queue filters by."""
    return ContactReason.objects.filter(parent__isnull=True).order_by("position")


def teams() -> QuerySet[Team]:
    return Team.objects.all()


def desk_staff() -> QuerySet[AbstractBaseUser]:
    """Who may handle cases (be assigned one, be alerted about one): active staff with the
    desk's permission (``cases.change_case``, directly or through a group), by username.
    Being staff is not enough: an announcer must not be handed a customer's case."""
    direct = {"codename": "change_case", "content_type__app_label": "cases"}
    can_handle = (
        Q(is_superuser=True)
        | Q(**{f"user_permissions__{key}": value for key, value in direct.items()})
        | Q(**{f"groups__permissions__{key}": value for key, value in direct.items()})
    )
    handlers = get_user_model().objects.filter(can_handle, is_staff=True, is_active=True)
    return get_user_model().objects.filter(pk__in=handlers.values("pk")).order_by("username")


def assignable_staff(case: Case) -> QuerySet[AbstractBaseUser]:
    """Whom the case may be assigned to: the desk's staff, and whoever has it now even without
    the desk (a reason's owner gets its new cases), so that saving the team keeps them."""
    current = Q(pk=case.assignee_id) if case.assignee_id else Q(pk__in=[])
    return (
        get_user_model()
        .objects.filter(Q(pk__in=desk_staff().values("pk")) | current)
        .order_by("username")
    )


# --- The desk: search, the customer, replies and alerts ----------------------------------------

# Staff read the status the customer reads as "Waiting for you" as what it means for them.
DESK_STATUS_LABELS = {
    Status.RECEIVED: gettext_lazy("Received"),
    Status.IN_PROGRESS: gettext_lazy("In progress"),
    Status.WAITING_ON_CUSTOMER: gettext_lazy("Waiting on customer"),
    Status.RESOLVED: gettext_lazy("Resolved"),
    Status.CLOSED: gettext_lazy("Closed"),
    Status.REOPENED: gettext_lazy("Reopened"),
}


def desk_status_choices() -> list[tuple[str, str]]:
    return [(value, DESK_STATUS_LABELS[value]) for value in Status.values]


DESK_SEARCH_RESULTS = 50
DESK_SEARCH_MAX_WORDS = 8
# The events whose text the desk's search finds (cases.services.search_text writes it).
DESK_SEARCH_TEXT_KINDS = (
    CaseEvent.Kind.OPENED,
    CaseEvent.Kind.CUSTOMER_MESSAGE,
    CaseEvent.Kind.PUBLIC_REPLY,
    CaseEvent.Kind.INTERNAL_NOTE,
)
_REFERENCE_LIKE = re.compile(r"^[A-Z0-9]{4}-?[A-Z0-9]{4}$")


def clean_desk_query(query: str) -> str:
    """The words of a desk search, on one line, without control characters, 100 at most."""
    text = "".join(char if char.isprintable() else " " for char in query or "")
    return " ".join(text.split())[:100]


def desk_search(query: str, *, limit: int = DESK_SEARCH_RESULTS) -> list[Case]:
    """Cases that match ``query``, the surest matches first: a reference or an email address
    names its cases (each looked up on an index); otherwise the cases holding every word of
    the query, as a word or the beginning of one ("garc" finds García), accents and capitals
    aside, in the reference, the customer's address and name, the subject, the description or
    any message, reply or note. At most ``limit`` cases, newest first.

    The words are looked up in the database's full-text index (``CaseSearchText``), so a word
    nobody wrote costs as little as a common one, whatever the number of cases.
    """
    query = clean_desk_query(query)
    if len(query) < 2:
        return []
    upper = query.upper().replace(" ", "")
    if _REFERENCE_LIKE.match(upper):
        reference = upper if "-" in upper else f"{upper[:4]}-{upper[4:]}"
        by_reference = list(Case.objects.filter(reference=reference).values_list("pk", flat=True))
        if by_reference:
            return _cases_in_order(by_reference)
    if "@" in query:
        by_email = list(
            Case.objects.annotate(email_lower=Lower("customer_email"))
            .filter(email_lower=query.lower())
            .order_by("-created_at")
            .values_list("pk", flat=True)[:limit]
        )
        if by_email:
            return _cases_in_order(by_email)
    # One letter is the beginning of too many words to say anything.
    words = [word for word in folded_words(query) if len(word) > 1][:DESK_SEARCH_MAX_WORDS]
    return _cases_in_order(_cases_with_words(words, limit)) if words else []


# PostgreSQL's planner cannot tell a common word from a rare one in a prefix query: it walks
# the cases newest first testing each (fast for "pedido", 400 ms on 100,000 cases for a word
# nobody wrote) or reads the index for every match (fast for an order number, 120 ms for
# "pedido"). So the newest cases are tried first, a bounded walk; only when they hold fewer
# than ``limit`` matches is the index read, and then the matches are few.
DESK_SEARCH_NEWEST_FIRST = 2_000
_TSVECTOR_NEWEST = (
    "SELECT case_id FROM (SELECT case_id, search_vector FROM cases_casesearchtext "
    "ORDER BY case_id DESC LIMIT %s) AS newest "
    "WHERE search_vector @@ to_tsquery('simple'::regconfig, %s) ORDER BY case_id DESC LIMIT %s"
)
_TSVECTOR_ALL = (
    "WITH found AS MATERIALIZED (SELECT case_id FROM cases_casesearchtext "
    "WHERE search_vector @@ to_tsquery('simple'::regconfig, %s)) "
    "SELECT case_id FROM found ORDER BY case_id DESC LIMIT %s"
)
_FTS5 = (
    "SELECT rowid FROM cases_casesearchtext_fts WHERE cases_casesearchtext_fts MATCH %s "
    "ORDER BY rowid DESC LIMIT %s"
)


def _cases_with_words(words: list[str], limit: int) -> list[int]:
    """Ids of the newest cases (highest id first) whose search text has every one of
    ``words`` (folded) as a word or a word's beginning."""
    index = _word_index()
    if not index:  # no full-text index (SQLite without FTS5): the same answer, slower
        condition = Q()
        for word in words:
            condition &= Q(text__startswith=word) | Q(text__contains=f" {word}")
        found = CaseSearchText.objects.filter(condition).order_by("-case_id")
        return list(found.values_list("case_id", flat=True)[:limit])
    with connection.cursor() as cursor:
        if index == "fts5":  # FTS5 walks its index newest first and stops at the limit
            cursor.execute(_FTS5, [" ".join(f'"{word}"*' for word in words), limit])
            return [row[0] for row in cursor.fetchall()]
        query = " & ".join(f"{word}:*" for word in words)  # letters and digits only
        cursor.execute(_TSVECTOR_NEWEST, [DESK_SEARCH_NEWEST_FIRST, query, limit])
        found = [row[0] for row in cursor.fetchall()]
        if len(found) < limit:
            cursor.execute(_TSVECTOR_ALL, [query, limit])
            found = [row[0] for row in cursor.fetchall()]
        return found


_WORD_INDEXES: dict[str, str] = {}


def _word_index() -> str:
    """The full-text index migration 0007 gave this database: "fts5" (SQLite), "tsvector"
    (PostgreSQL) or "" (none); asked once per process."""
    if connection.alias not in _WORD_INDEXES:
        kind = ""
        if connection.vendor == "postgresql":
            kind = "tsvector"
        elif connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'cases_casesearchtext_fts'"
                )
                kind = "fts5" if cursor.fetchone() else ""
        _WORD_INDEXES[connection.alias] = kind
    return _WORD_INDEXES[connection.alias]


def _cases_in_order(ids: list[int]) -> list[Case]:
    cases = Case.objects.filter(pk__in=ids).select_related("reason", "team", "assignee")
    by_id = {case.pk: case for case in cases}
    return [by_id[pk] for pk in ids if pk in by_id]


@dataclass(frozen=True)
class CustomerContext:
    """What the desk shows about the customer beside their case."""

    open_cases: list[Case]
    recent_cases: list[Case]
    articles_read: list  # kb articles (the case's language first), or keys no longer published
    search_before: str
    language_name: str


OTHER_CASES_SHOWN = 10


def customer_context(case: Case) -> CustomerContext:
    """The customer's other cases (open ones, and the most recent others), the articles they
    read before writing and the search just before, and their language in words."""
    others = list(
        Case.objects.annotate(email_lower=Lower("customer_email"))
        .filter(email_lower=case.customer_email.lower())
        .exclude(pk=case.pk)
        .select_related("reason")
        .order_by("-created_at")[: OTHER_CASES_SHOWN * 2]
    )
    open_cases = [other for other in others if other.is_open][:OTHER_CASES_SHOWN]
    recent = [other for other in others if not other.is_open][:OTHER_CASES_SHOWN]
    articles = (
        kb_selectors.articles_for_keys(keys=list(case.seen_article_keys), language=case.language)
        if case.seen_article_keys
        else []
    )
    return CustomerContext(
        open_cases=open_cases,
        recent_cases=recent,
        articles_read=articles,
        search_before=case.search_before,
        language_name=language_name(case.language),
    )


def language_name(code: str) -> str:
    """The language's name in the page's language, as a sentence shows it ("español" in
    Spanish, where names of languages take no capital; "Spanish" in English)."""
    names = dict(settings.LANGUAGES)
    name = str(names[code]) if code in names else code
    return name.lower() if translation.get_language() == "es" else name


@dataclass(frozen=True)
class Insertable:
    """What the reply box offers to add: a saved reply, filled in for the case, or a link to
    a knowledge-base article."""

    id: int
    title: str
    text: str
    language: str = ""


def saved_replies_for(case: Case) -> list[Insertable]:
    """The active saved replies in the case's language, filled in for it."""
    replies = SavedReply.objects.filter(active=True, language=case.language)
    return [
        Insertable(reply.pk, reply.title, filled_saved_reply(reply, case), reply.language)
        for reply in replies
    ]


def with_text_added(body: str, text: str) -> str:
    """``body`` with ``text`` after it, a blank line between (what the reply box's insert
    buttons do without JavaScript; with it, the text goes in where the cursor is)."""
    return f"{body.rstrip()}\n\n{text}".lstrip() if text else body


CASE_LINK_PLACEHOLDER = "{case_link}"


def filled_saved_reply(reply: SavedReply, case: Case) -> str:
    """The saved reply's text for ``case``: its placeholders filled in, in the case's language
    and the service's time zone, except {case_link}, which stays until the email is sent."""
    with translation.override(case.language):
        values = {
            "{customer_name}": case.customer_name,
            "{reference}": case.reference,
            "{first_response_due}": format_moment(
                case.first_response_due, "day_time", zone=service_zone(), label=True
            ),
            "{resolution_due}": format_moment(case.resolution_due, "day", zone=service_zone()),
        }
    text = reply.body
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def saved_reply_for(reply_id: int | None, case: Case) -> str:
    """The filled text of an active saved reply, or "" when there is none by that id."""
    reply = SavedReply.objects.filter(pk=reply_id, active=True).first() if reply_id else None
    return filled_saved_reply(reply, case) if reply is not None else ""


def draft_version(*, user_id: int, case_id: int, events: list[CaseEvent] | None = None) -> int:
    """The version of this person's reply box on this case: how many public replies they have
    sent on it. A page carries the version it was drawn at, and its autosaves with it; one made
    before a later reply was sent is refused (``services.desk.save_reply_draft``). ``events``:
    the case's timeline as the page has it (``case_for_desk``), counted instead of a query."""
    if events is not None:
        return sum(
            1
            for event in events
            if event.kind == CaseEvent.Kind.PUBLIC_REPLY and event.author_id == user_id
        )
    return CaseEvent.objects.filter(
        case_id=case_id, kind=CaseEvent.Kind.PUBLIC_REPLY, author_id=user_id
    ).count()


def reply_draft(*, user_id: int, case_id: int) -> str:
    return (
        ReplyDraft.objects.filter(user_id=user_id, case_id=case_id)
        .values_list("body", flat=True)
        .first()
        or ""
    )


def unseen_alert_count(user_id: int) -> int:
    """How many cases have something new from their customer for this person (desk header)."""
    return (
        DeskAlert.objects.filter(user_id=user_id, seen_at__isnull=True)
        .values("case_id")
        .distinct()
        .count()
    )


def unseen_alerts(user_id: int, *, limit: int = 20) -> list[DeskAlert]:
    return list(
        DeskAlert.objects.filter(user_id=user_id, seen_at__isnull=True)
        .select_related("case")
        .order_by("-created_at")[:limit]
    )


def desk_preferences(user) -> DeskPreferences:
    """The person's preferences, or the defaults (unsaved) when they never chose."""
    found = DeskPreferences.objects.filter(user_id=user.pk).first()
    return found or DeskPreferences(user=user)


def desk_article_search(query: str, language: str) -> list[Insertable]:
    """Knowledge-base articles staff may link in a reply (the case's language first), each
    with the text its "insert a link" adds."""
    if not query:
        return []
    hits = kb_selectors.search_articles(query=query, language=language).hits[:8]
    return [
        Insertable(hit.id, hit.title, _link_text(hit.title, hit.url), hit.language) for hit in hits
    ]


def _link_text(title: str, url: str) -> str:
    # "¿Dónde está mi pedido? https://…", not "…pedido?: https://…".
    separator = " " if title.rstrip().endswith(("?", "!", ".", ":", "…")) else ": "
    return f"{title.rstrip()}{separator}{settings.SITE_URL}{url}"


def article_link_text(article_id: int | None) -> str:
    """What "insert a link" adds to a reply: the article's title and its public address."""
    article = (
        kb_selectors.published_articles().filter(pk=article_id).first() if article_id else None
    )
    return _link_text(article.title, article.get_absolute_url()) if article is not None else ""


def with_desk_flags(cases: list[Case], *, now: datetime | None = None) -> list[Case]:
    """Each case with ``desk_overdue``: an open case past the due date it still has to meet
    (the first reply until it went out, then the resolution)."""
    now = now or timezone.now()
    for case in cases:
        waiting_first = case.first_responded_at is None and case.first_response_due < now
        case.desk_overdue = case.is_open and (waiting_first or case.resolution_due < now)
    return cases


# --- Attachments ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentLimits:
    max_file: int
    max_message: int
    max_case: int
    max_files: int


def attachment_limits() -> AttachmentLimits:
    return AttachmentLimits(
        max_file=settings.ATTACHMENT_MAX_FILE_BYTES,
        max_message=settings.ATTACHMENT_MAX_MESSAGE_BYTES,
        max_case=settings.ATTACHMENT_MAX_CASE_BYTES,
        max_files=settings.ATTACHMENT_MAX_FILES,
    )


def human_size(size: int) -> str:
    """ "850 KB", "2,5 MB" (Spanish) or "2.5 MB" (English)."""
    if size < 1024 * 1024:
        return _("%(size)s KB") % {"size": formats.number_format(max(1, round(size / 1024)))}
    megabytes = round(size / (1024 * 1024), 0 if size >= 10 * 1024 * 1024 else 1)
    decimals = 0 if megabytes == int(megabytes) else 1
    return _("%(size)s MB") % {"size": formats.number_format(megabytes, decimal_pos=decimals)}


def attachment_limits_text() -> str:
    """The limits in words, stated next to every field that takes files."""
    limits = attachment_limits()
    return _(
        "Up to %(count)s files, %(file)s each and %(message)s in all (a case can hold "
        "%(case)s): photos or screenshots (JPEG, PNG, GIF, WebP), PDF, office documents or "
        "plain text."
    ) % {
        "count": limits.max_files,
        "file": human_size(limits.max_file),
        "message": human_size(limits.max_message),
        "case": human_size(limits.max_case),
    }


def refusal_message(code: str, params: dict) -> str:
    """Why a file was refused (``RefusedFile.code``), in the active language, from what the
    check recorded (``params``: the file's ``name``; sizes in bytes: its ``size``, the
    ``limit``, what the case holds, ``used``; the ``count`` of files a message can carry).
    Kept as code and params, a refusal is said in the language of whoever reads it."""
    name = params.get("name") or _("(no name)")
    sizes = {key: human_size(params[key]) for key in ("size", "limit", "used") if key in params}
    values = {"name": name, "count": params.get("count", 0), **sizes}
    if code == "empty":
        return _("“%(name)s” is empty.") % values
    if code == "too_large":
        if "size" not in values:
            return _("“%(name)s” is larger than %(limit)s, the most one file can be.") % values
        return _("“%(name)s” is %(size)s; one file can be up to %(limit)s.") % values
    if code == "type":
        return (
            _(
                "“%(name)s” is not a kind of file we accept. Send photos or screenshots "
                "(JPEG, PNG, GIF, WebP), PDF, office documents or plain text."
            )
            % values
        )
    if code == "unreadable":
        return _("“%(name)s” does not open as an image: it may be damaged, or too big.") % values
    if code == "too_many":
        return _("“%(name)s” was not added: one message can carry up to %(count)s files.") % values
    if code == "message_full":
        return (
            _("“%(name)s” was not added: the files of one message can add up to %(limit)s.")
            % values
        )
    if code == "case_full":
        return (
            _(
                "“%(name)s” was not added: the files of one case can add up to %(limit)s, "
                "and this case already holds %(used)s."
            )
            % values
        )
    return name


_UPLOAD_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def upload_token(value: object) -> str:
    """A form's one-time token as the forms write it (URL-safe, 16 to 64 characters), or ""
    for anything else (a forged value never reaches a query: a NUL would make PostgreSQL
    raise)."""
    return value if isinstance(value, str) and _UPLOAD_TOKEN.fullmatch(value) else ""


def staged_files(token: str) -> list[Attachment]:
    """What a form has kept under its one-time ``token`` (not sent yet)."""
    token = upload_token(token)
    if not token:
        return []
    return list(
        Attachment.objects.filter(staged_token=token, case__isnull=True).order_by(
            "created_at", "pk"
        )
    )


def with_attachments(events: list[CaseEvent]) -> list[CaseEvent]:
    """Each event with ``files``, its attachments, in one query (none when no event of an
    annotated queryset ``has_files``)."""
    ids = [event.pk for event in events if getattr(event, "has_files", True)]
    by_event: dict[int, list[Attachment]] = {}
    if ids:
        for attachment in Attachment.objects.filter(event_id__in=ids).order_by("created_at", "pk"):
            by_event.setdefault(attachment.event_id, []).append(attachment)
    for event in events:
        event.files = by_event.get(event.pk, [])
        for attachment in event.files:
            attachment.event = event  # its message, known: no query to read it again
    return events


def opening_files(case: Case) -> list[Attachment]:
    """The files sent with the case itself (from the timeline the status page read)."""
    for event in getattr(case, "public_events", []):
        if event.kind == CaseEvent.Kind.OPENED:
            return getattr(event, "files", [])
    return []


def attachment_for_session(
    session, reference: str, key, *, now: datetime | None = None
) -> Attachment | None:
    """A READY file of a public message of the case, if this session may see the case now
    (its grant's link neither revoked nor expired, within the grant's lifetime, checked in the
    same query). A browser that only wrote the case (an unproven grant) sees only the files it
    sent with it."""
    now = now or timezone.now()
    reference = reference.upper()[:12]
    grants = _fresh_grants(session, now)
    if not grants or not _could_be_reference(reference):
        return None
    live_link = CaseAccessToken.objects.filter(
        pk__in=[grant.token_id for grant in grants],
        case_id=OuterRef("case_id"),
        revoked_at__isnull=True,
        expires_at__gt=now,
    )
    attachment = (
        Attachment.objects.filter(
            key=key,
            case__reference=reference,
            status=Attachment.Status.READY,
            event__public=True,
        )
        .annotate(opened_by_live_link=Exists(live_link))
        .select_related("event")
        .first()
    )
    if attachment is None or not attachment.opened_by_live_link:
        return None
    proven = any(grant.proven for grant in grants if grant.case_id == attachment.case_id)
    if not proven and attachment.event.kind != CaseEvent.Kind.OPENED:
        return None
    return attachment


def attachment_for_desk(reference: str, key) -> Attachment | None:
    """A READY file of the case, for staff (internal messages' files too)."""
    if not _could_be_reference(reference):
        return None
    return Attachment.objects.filter(
        key=key, case__reference=reference, status=Attachment.Status.READY
    ).first()


def case_attachments(case: Case) -> QuerySet[Attachment]:
    """Every file of the case's messages (internal ones too), in any state, oldest first,
    with the message each came with (for whether the customer sees it)."""
    return (
        Attachment.objects.filter(case=case, event__isnull=False)
        .select_related("event")
        .order_by("created_at", "pk")
    )


def case_attachment(case: Case, key) -> Attachment | None:
    """One file of the case's messages by its key, in any state (the caller says why one
    that is not READY cannot be had)."""
    return case_attachments(case).filter(key=key).first()


def open_attachment(attachment: Attachment, *, thumbnail: bool = False):
    """The stored file to send (the thumbnail of an image), opened for reading; None when
    there is no such file."""
    name = attachment.thumbnail_name if thumbnail else attachment.file_name
    if not name:
        return None
    try:
        return storages["attachments"].open(name, "rb")
    except FileNotFoundError:
        return None
