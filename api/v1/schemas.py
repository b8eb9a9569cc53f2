"""What the API reads and answers. Its vocabularies (statuses, kinds, phases) are the API's
own contract, version 1: tests/api/test_schema.py checks they are the models' choices."""

from datetime import UTC, date, datetime, time
from typing import Annotated, Literal
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, Discriminator, Field, StringConstraints, Tag

Language = Literal["es", "en"]
CaseStatus = Literal["received", "in_progress", "waiting", "resolved", "closed", "reopened"]
EventKind = Literal["opened", "status", "reply", "message", "note", "assignment", "rating"]
AnnouncementKind = Literal["holiday", "incident", "maintenance", "general"]
ProblemKind = Literal["incident", "maintenance"]
Phase = Literal[
    "",
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "scheduled",
    "in_progress",
    "completed",
]
Publication = Literal["draft", "scheduled", "published", "expired"]
AttachmentStatus = Literal["pending", "ready", "quarantined", "failed"]
AttachmentKind = Literal["image", "document", "text"]
AttachmentSource = Literal["contact", "case_page", "desk", "email", "api"]
Visibility = Literal["public", "internal"]
ContactOutcomeKind = Literal[
    "limited",
    "status_link_sent",
    "duplicate_found",
    "added_to_case",
    "opened",
    "incident_known",
    "already_submitted",
]


def _storable(value: str) -> str:
    # JSON can carry what no form can: a NUL (PostgreSQL refuses it in text) or a lone
    # surrogate ("\ud800", which cannot be encoded as UTF-8). Refused as the forms refuse NUL.
    if "\x00" in value or any("\ud800" <= character <= "\udfff" for character in value):
        raise ValueError("contains a NUL or a lone surrogate")
    return value


def _email(value: str) -> str:
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError("not a valid email address") from None
    return value


def Text(max_length: int, *, min_length: int = 1):
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_storable),
    ]


Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254),
    AfterValidator(_storable),
    AfterValidator(_email),
]
Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
    AfterValidator(_storable),
]
Slug = Annotated[str, StringConstraints(pattern=r"^[-a-zA-Z0-9_]{1,200}$")]
Query = Annotated[str, StringConstraints(max_length=500), AfterValidator(_storable)]


class Problem(Schema):
    """RFC 9457 problem details; ``code`` is stable, ``title`` and ``detail`` are for people."""

    type: str
    title: str
    status: int
    code: str
    instance: str = ""
    detail: str = ""
    errors: list[dict] = Field(default_factory=list)


PROBLEMS = {401: Problem, 403: Problem, 422: Problem, 429: Problem}
PROBLEMS_404 = {**PROBLEMS, 404: Problem}


# --- Contact reasons ----------------------------------------------------------------------------


class ReasonGroupOut(Schema):
    code: str
    name_es: str
    name_en: str


class ContactReasonOut(Schema):
    code: str
    group: ReasonGroupOut | None
    name_es: str
    name_en: str
    description_es: str
    description_en: str
    is_status_inquiry: bool
    first_response_hours: int
    resolution_days: int

    @staticmethod
    def resolve_group(reason) -> dict | None:
        parent = reason.parent
        if parent is None:
            return None
        return {"code": parent.code, "name_es": parent.name_es, "name_en": parent.name_en}


class ContactReasonList(Schema):
    items: list[ContactReasonOut]


# --- Cases --------------------------------------------------------------------------------------


class CaseOut(Schema):
    reference: str
    status: CaseStatus
    reason: str
    subject: str
    description: str
    customer_email: str
    customer_name: str
    language: Language
    created_at: datetime
    updated_at: datetime
    first_response_due: datetime
    resolution_due: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    satisfaction: int | None

    @staticmethod
    def resolve_reason(case) -> str:
        return case.reason.code


class AttachmentOut(Schema):
    id: UUID = Field(description="The file's key: GET …/attachments/{id} downloads it.")
    name: str = Field(description="As downloaded: its extension is the type read from the content.")
    content_type: str
    kind: AttachmentKind
    size: int = Field(description="Bytes (an image's after it was written again).")
    status: AttachmentStatus = Field(
        description="pending: being checked (not served yet); ready: served; quarantined: "
        "held back by the virus check; failed: could not be read. Only ready files are served."
    )
    visibility: Visibility = Field(description="public: the customer sees it; internal: staff.")
    source: AttachmentSource
    created_at: datetime
    processed_at: datetime | None

    @staticmethod
    def resolve_id(attachment) -> UUID:
        return attachment.key

    @staticmethod
    def resolve_visibility(attachment) -> str:
        return "public" if attachment.event.public else "internal"


class AttachmentList(Schema):
    items: list[AttachmentOut]


class AttachmentIn(Schema):
    visibility: Visibility = Field(
        default="public",
        description="public: on the customer's case page, and they are emailed a link to it; "
        "internal: for staff only.",
    )
    message: Text(5000, min_length=0) = Field(
        default="", description="Text shown with the file (plain text, the customer's language)."
    )


class CaseEventOut(Schema):
    kind: EventKind
    public: bool
    by_customer: bool
    author: str
    body: str
    from_status: CaseStatus | Literal[""]
    to_status: CaseStatus | Literal[""]
    created_at: datetime
    files: list[AttachmentOut] = Field(description="The files that came with this message.")

    @staticmethod
    def resolve_files(event) -> list:
        files = getattr(event, "files", None)
        if files is None:
            attached = getattr(event, "attached", None)
            files = attached.attached if attached is not None else []
        return files

    @staticmethod
    def resolve_author(event) -> str:
        author = event.author
        if author is None:
            return ""
        return author.get_full_name() or author.get_username()


class CaseDetailOut(CaseOut):
    events: list[CaseEventOut]

    @staticmethod
    def resolve_events(case) -> list:
        return list(getattr(case, "all_events", None) or case.events.all())


class CasePage(Schema):
    items: list[CaseOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null: no more."
    )


class CaseOpenIn(Schema):
    reason: Code = Field(description="A contact reason's code (GET /contact-reasons).")
    customer_email: Email
    customer_name: Text(120)
    language: Language
    subject: Text(200)
    description: Text(5000)
    incident_seen: int | None = Field(
        default=None,
        description=(
            "The id of the live incident an earlier answer named (outcome incident_known): "
            "the case is opened anyway and hears that incident's updates."
        ),
    )


class IncidentRef(Schema):
    id: int
    slug: str
    title_es: str
    title_en: str


class ContactOutcomeOut(Schema):
    outcome: ContactOutcomeKind
    case: CaseOut | None = None
    incident: IncidentRef | None = None


class ReplyIn(Schema):
    body: Text(5000)
    status: CaseStatus | None = Field(
        default=None, description="Move the case to this status with the reply."
    )


class NoteIn(Schema):
    body: Text(5000)


class StatusIn(Schema):
    status: CaseStatus


class CustomerNoticeIn(Schema):
    customer_email: Email
    language: Language = Field(description="The customer's: the email is written in it.")
    reason: Code = Field(
        description="The contact reason it answers: the contact form leads with the notice "
        "when the customer comes to write about it."
    )
    subject: Text(200)
    body: Text(5000) = Field(description="Plain text, in the customer's language.")
    external_reference: Text(100, min_length=0) = Field(
        default="", description="What it is about in your words (an order number)."
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="Shown until then (14 days unless told)."
    )


class CustomerNoticeOut(Schema):
    id: int
    customer_email: str
    language: Language
    reason: str
    subject: str
    body: str
    external_reference: str
    created_at: datetime
    expires_at: datetime

    @staticmethod
    def resolve_reason(notice) -> str:
        return notice.reason.code


# --- Knowledge base -----------------------------------------------------------------------------


class ArticleOut(Schema):
    id: int
    slug: str
    language: Language
    translation_key: str
    title: str
    summary: str
    body: str = Field(description="Markdown.")
    category: str
    url: str
    published_at: datetime | None
    updated_at: datetime

    @staticmethod
    def resolve_category(article) -> str:
        return article.category.slug

    @staticmethod
    def resolve_url(article) -> str:
        return settings.SITE_URL + article.get_absolute_url()


class ArticleHitOut(Schema):
    id: int
    title: str
    summary: str
    language: Language
    category_name: str
    url: str
    snippet_html: str = Field(description="Escaped text with <mark> around the matched words.")
    translation_key: str

    @staticmethod
    def resolve_url(hit) -> str:
        return settings.SITE_URL + hit.url


class SearchPage(Schema):
    query: str
    total: int
    suggestion: str | None
    degraded: bool = Field(description="The index was unavailable; the database answered.")
    items: list[ArticleHitOut]
    next_cursor: str | None


# --- Announcements ------------------------------------------------------------------------------


class AnnouncementIn(Schema):
    kind: ProblemKind
    severity: Literal[1, 2, 3] = Field(
        default=2, description="1 information, 2 warning, 3 critical."
    )
    title_es: Text(200)
    title_en: Text(200)
    body_es: Text(20000) = Field(description="Markdown.")
    body_en: Text(20000) = Field(description="Markdown.")
    areas: list[Code] = Field(
        default_factory=list,
        max_length=100,
        description="Codes of the contact reasons (or groups) it affects; empty: everyone.",
    )
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    expire_at: AwareDatetime | None = None
    publish: bool = Field(default=False, description="false: a draft for a person to publish.")
    publish_at: AwareDatetime | None = Field(
        default=None, description="With publish: publish then (scheduled) instead of now."
    )


class AnnouncementOut(Schema):
    id: int
    slug: str
    kind: AnnouncementKind
    severity: int
    title_es: str
    title_en: str
    body_es: str
    body_en: str
    areas: list[str]
    publication: Publication
    phase: Phase
    starts_at: datetime | None
    ends_at: datetime | None
    publish_at: datetime | None
    published_at: datetime | None
    expire_at: datetime | None
    resolved_at: datetime | None
    created_at: datetime


class UpdateIn(Schema):
    phase: Phase = Field(default="", description="Move the incident to this phase (its kind's).")
    body_es: Text(5000)
    body_en: Text(5000)
    notify_subscribers: bool = True


class ResolveIn(Schema):
    body_es: Text(5000)
    body_en: Text(5000)
    notify_subscribers: bool = True


class PublishIn(Schema):
    at: AwareDatetime | None = Field(default=None, description="Schedule for then; null: now.")


class UpdateOut(Schema):
    id: int
    announcement: int
    phase: Phase
    body_es: str
    body_en: str
    notify_subscribers: bool
    created_at: datetime

    @staticmethod
    def resolve_announcement(update) -> int:
        return update.announcement_id


# --- Alerts from monitoring ---------------------------------------------------------------------


def _moment_or_none(value: datetime) -> datetime | None:
    # Alertmanager sends a firing alert's endsAt as 0001-01-01T00:00:00Z ("not yet"); a time
    # outside these years is no time at all (and might not even convert to UTC).
    try:
        if 1971 <= value.astimezone(UTC).year <= 2999:
            return value
    except OverflowError:
        pass
    return None


Moment = Annotated[AwareDatetime, AfterValidator(_moment_or_none)]
LabelName = Annotated[
    str, StringConstraints(min_length=1, max_length=100), AfterValidator(_storable)
]
Labels = Annotated[
    dict[LabelName, Annotated[str, StringConstraints(max_length=1000), AfterValidator(_storable)]],
    Field(max_length=64),
]
Annotations = Annotated[
    dict[LabelName, Annotated[str, StringConstraints(max_length=5000), AfterValidator(_storable)]],
    Field(max_length=64),
]
AlertStatus = Literal["firing", "resolved"]
AlertOutcome = Literal[
    "opened", "reopened", "updated", "pending", "resolved", "flapped", "ignored", "unmatched"
]
Fingerprint = Annotated[str, StringConstraints(pattern=r"^[-A-Za-z0-9_.:]{1,100}$")]


class AlertmanagerAlert(Schema):
    status: AlertStatus
    labels: Labels = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=dict)
    startsAt: Moment | None = None  # Alertmanager's own names
    endsAt: Moment | None = None
    fingerprint: Fingerprint | None = None


class AlertmanagerIn(Schema):
    """Alertmanager's webhook payload (version 4); its other fields are read and ignored."""

    version: str = "4"
    status: AlertStatus | None = None
    alerts: list[AlertmanagerAlert] = Field(max_length=1000)


class AlertIn(Schema):
    """One alert, from any monitoring system."""

    status: AlertStatus
    labels: Labels = Field(
        default_factory=dict, description="Matched by the rules; e.g. service, severity."
    )
    annotations: Annotations = Field(
        default_factory=dict, description="Words the rules' templates may use; e.g. summary."
    )
    fingerprint: Fingerprint | None = Field(
        default=None,
        description="The same for every report of one alert; empty: made from the labels.",
    )
    starts_at: Moment | None = Field(default=None, description="Firing since; empty: now.")
    ends_at: Moment | None = Field(
        default=None,
        description="Resolved: when it resolved; empty: now. Firing: when it will be over "
        "unless sent again before (a future time), as Alertmanager's endsAt; empty: not known.",
    )


class AlertsIn(Schema):
    """Several alerts at once, each as one alert is sent (and answered in the same order)."""

    alerts: list[AlertIn] = Field(min_length=1, max_length=1000)


def _one_or_several(body: object) -> str:
    return "several" if isinstance(body, dict) and "alerts" in body else "one"


# The generic endpoint's body: one alert, or {"alerts": [...]}.
GenericAlertsIn = Annotated[
    Annotated[AlertIn, Tag("one")] | Annotated[AlertsIn, Tag("several")],
    Discriminator(_one_or_several),
]


class AlertResultOut(Schema):
    fingerprint: str
    outcome: AlertOutcome = Field(
        description="opened, reopened (fired again soon after its incident was resolved), "
        "updated (joined or repeated an open incident), pending (not firing for the rule's "
        "minimum duration yet), resolved, flapped (resolved before that minimum: nothing "
        "opened), ignored (resolved, never seen firing), unmatched (no rule takes it)."
    )
    rule: str | None
    incident: AnnouncementOut | None


class AlertResultsOut(Schema):
    alerts: list[AlertResultOut]


# --- Subscribers --------------------------------------------------------------------------------


class SubscriptionIn(Schema):
    email: Email
    language: Language
    kinds: list[AnnouncementKind] = Field(
        default_factory=list, max_length=4, description="None: every kind."
    )
    areas: list[Code] = Field(default_factory=list, max_length=100, description="None: all.")


class SubscriptionOut(Schema):
    status: Literal["confirmation_requested"] = Field(
        description="An email asks the person to confirm (or, if already subscribed, links "
        "to their preferences). The answer is the same either way."
    )


# --- Opening hours and closures -----------------------------------------------------------------


class HoursOut(Schema):
    weekday: int = Field(description="0 Monday … 6 Sunday.")
    opens_at: time
    closes_at: time


class OpeningHoursOut(Schema):
    time_zone: str
    weekly: list[HoursOut]


class ClosureOut(Schema):
    date: date
    label_es: str
    label_en: str
    closed: bool
    opens_at: time | None
    closes_at: time | None
    reopens_at: datetime | None


class ClosureList(Schema):
    items: list[ClosureOut]
