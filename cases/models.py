import re
import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from foundation.i18n import localized

# A live case link pasted into stored text (a saved reply, a draft, a reply, a note, a message)
# would hand the customer's case to whoever reads the row. Such text keeps the {case_link}
# placeholder instead, which becomes the customer's own fresh link only in the email.
_PASTED_CASE_LINK = re.compile(
    r"(?:https?://[^\s/<>\"']+)?(?:/[a-z]{2})?/cases/access/[^/\s?#\"'<>]+(?:/renew)?/?"
)


def without_case_links(text: str) -> str:
    """``text`` with every case link (absolute or not) replaced by ``{case_link}``."""
    if not text or "/cases/access/" not in text:
        return text
    return _PASTED_CASE_LINK.sub("{case_link}", text)


class Team(models.Model):
    slug = models.SlugField(_("slug"), unique=True)
    name_es = models.CharField(_("name (Spanish)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    # Who is told about a customer's reply on a case of the team nobody is assigned to.
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), blank=True, related_name="teams"
    )

    class Meta:
        ordering = ["name_es"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name_es

    @property
    def name(self) -> str:
        return localized(self, "name")


class ContactReason(models.Model):
    """Why a customer contacts us, named so that someone can act on it, with an owner."""

    code = models.SlugField(_("code"), max_length=80, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("group"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    name_es = models.CharField(_("name (Spanish)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150)
    description_es = models.CharField(_("public description (Spanish)"), max_length=300, blank=True)
    description_en = models.CharField(_("public description (English)"), max_length=300, blank=True)
    team = models.ForeignKey(
        Team, verbose_name=_("owner team"), null=True, blank=True, on_delete=models.PROTECT
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accountable person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_contact_reasons",
    )
    first_response_hours = models.PositiveIntegerField(
        _("first response target (business hours)"), default=8
    )
    resolution_days = models.PositiveIntegerField(_("resolution target (business days)"), default=3)
    article_keys = models.JSONField(
        _("knowledge base articles"),
        default=list,
        blank=True,
        help_text=_("Translation groups of the articles that answer this reason."),
    )
    is_status_inquiry = models.BooleanField(
        _("asks about an existing case"),
        default=False,
        help_text=_(
            "Customers choosing it are sent the link to their case instead of opening a new one."
        ),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "name_es"]
        verbose_name = _("contact reason")
        verbose_name_plural = _("contact reasons")

    def __str__(self) -> str:
        return f"{self.parent.name_es} / {self.name_es}" if self.parent_id else self.name_es

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def description(self) -> str:
        return localized(self, "description")

    @property
    def areas(self) -> list[str]:
        """The codes a notice may name to affect this reason (itself and its group)."""
        return [self.code, self.parent.code] if self.parent_id else [self.code]


class Case(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        IN_PROGRESS = "in_progress", _("In progress")
        WAITING_ON_CUSTOMER = "waiting", _("Waiting for you")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")
        REOPENED = "reopened", _("Reopened")

    OPEN_STATUSES = (
        Status.RECEIVED,
        Status.IN_PROGRESS,
        Status.WAITING_ON_CUSTOMER,
        Status.REOPENED,
    )

    reference = models.CharField(_("reference"), max_length=9, unique=True, editable=False)
    customer_email = models.EmailField(_("customer email"), db_index=True)
    customer_name = models.CharField(_("customer name"), max_length=120)
    language = models.CharField(_("language"), max_length=2, default="es")
    reason = models.ForeignKey(
        ContactReason, verbose_name=_("reason"), on_delete=models.PROTECT, related_name="cases"
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), max_length=5000)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
    )
    first_response_due = models.DateTimeField(_("first response due"))
    resolution_due = models.DateTimeField(_("resolution due"))
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    reopened_at = models.DateTimeField(_("reopened"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction"), null=True, blank=True)
    customer_updates = models.BooleanField(_("email updates to the customer"), default=True)
    # Set with the first change the customer should hear about; the update job sends one email
    # for everything that happened since, a few minutes later, and clears it.
    update_pending_since = models.DateTimeField(null=True, blank=True, editable=False)
    # The newest public event the customer has been emailed about (the opening email covers
    # the case itself): the next update email tells everything after it.
    customer_told_until = models.DateTimeField(default=timezone.now, editable=False)
    # What self-service had offered before this case was opened (for the insights): a notice
    # about the reason was live, and whether the customer had read one of its articles
    # (None: the reason has no articles).
    opened_during_notice = models.BooleanField(
        _("opened while a notice about it was live"), default=False, editable=False
    )
    saw_reason_article = models.BooleanField(
        _("customer had read an article for the reason"), null=True, editable=False
    )
    # What the customer had done just before writing, for the desk: the articles read that day
    # (translation keys) and the last search (its words), as this browser left them.
    seen_article_keys = models.JSONField(
        _("articles read before writing"), default=list, blank=True, editable=False
    )
    search_before = models.CharField(
        _("search just before writing"), max_length=200, blank=True, editable=False
    )
    # The live incident the contact form showed before the customer chose to write anyway:
    # the case hears the incident's updates (``tell_cases_about_incidents``).
    incident = models.ForeignKey(
        "notifications.Announcement",
        verbose_name=_("known incident"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("opened"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["resolution_due"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            models.Index(fields=["status", "resolution_due"]),
            models.Index(fields=["customer_email", "status"]),
            models.Index(fields=["update_pending_since"]),
            models.Index(fields=["created_at"]),
            models.Index(fields=["first_response_due"]),
            models.Index(fields=["resolution_due"]),
            # The desk's search finds a customer by address whatever its case.
            models.Index(Lower("customer_email"), name="cases_case_email_lower"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} · {self.subject}"

    def save(self, *args, **kwargs) -> None:
        self.description = without_case_links(self.description)
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class CaseEvent(models.Model):
    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        STATUS = "status", _("Status change")
        PUBLIC_REPLY = "reply", _("Reply to the customer")
        CUSTOMER_MESSAGE = "message", _("Message from the customer")
        INTERNAL_NOTE = "note", _("Internal note")
        ASSIGNMENT = "assignment", _("Assignment")
        SATISFACTION = "rating", _("Satisfaction rating")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    public = models.BooleanField(_("visible to the customer"), default=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_customer = models.BooleanField(default=False)
    body = models.TextField(_("text"), blank=True, max_length=5000)
    from_status = models.CharField(max_length=12, blank=True, choices=Case.Status.choices)
    to_status = models.CharField(max_length=12, blank=True, choices=Case.Status.choices)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        indexes = [
            models.Index(fields=["case", "public", "created_at"]),
            models.Index(fields=["kind", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.case.reference} · {self.get_kind_display()}"

    def save(self, *args, **kwargs) -> None:
        self.body = without_case_links(self.body)
        super().save(*args, **kwargs)


class CaseSearchText(models.Model):
    """The words the desk's search looks through for a case: its reference, the customer's
    address and name, the subject, the description and the text of its messages, replies and
    notes, each word once, lowercase, without accents (``foundation.words``).

    Written by ``cases.services.search_text`` whenever one of those changes, in the same
    transaction. A table of its own, so a case row stays small for every other page; migration
    0007 indexes it: an FTS5 table kept by triggers on SQLite, a stored ``tsvector`` column with
    a GIN index on PostgreSQL (``ALTER`` this column there only together with that one). It is
    deleted with its case.
    """

    case = models.OneToOneField(
        Case, on_delete=models.CASCADE, primary_key=True, related_name="search_text"
    )
    text = models.TextField()

    class Meta:
        verbose_name = _("case search text")
        verbose_name_plural = _("case search texts")

    def __str__(self) -> str:
        return str(self.case_id)


class CaseAccessToken(models.Model):
    """A link that opens one case. Only a hash of the secret is kept."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="access_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("case link")
        verbose_name_plural = _("case links")

    def __str__(self) -> str:
        return f"{self.case.reference} · {self.created_at:%Y-%m-%d}"


class CaseLinkRequest(models.Model):
    """Someone asked for the links to their cases ("Find my case", an expired link, a status
    question), recorded whether or not anything matches; the lookup happens in a task.

    Short-lived: the task deletes the row in the transaction that queues the email, and the
    sweeper deletes a row it gave up on a day after it was written, so no address is kept.
    """

    email = models.EmailField(max_length=254)
    reference = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When the sweeper queues the task again if the row is still here (lost task, broker down).
    next_attempt_at = models.DateTimeField(db_index=True)
    attempts = models.PositiveSmallIntegerField(default=1)  # times the task was queued

    class Meta:
        verbose_name = _("case link request")
        verbose_name_plural = _("case link requests")

    def __str__(self) -> str:
        return f"{self.pk} · {self.created_at:%Y-%m-%d %H:%M}"


class Deflection(models.Model):
    """A contact that did not have to happen: what self-service answered instead."""

    class Kind(models.TextChoices):
        ARTICLE = "article", _("An article solved it")
        STATUS_INQUIRY = "status", _("Status question answered with the case link")
        DUPLICATE = "duplicate", _("Added to an open case instead of a new one")
        INCIDENT = "incident", _("Asked to hear when a known incident is fixed")
        # "This solved it" on a suggestion the visitor never opened: kept apart, not counted
        # as a contact avoided (it may be a visitor giving up, or a stray click).
        ARTICLE_UNREAD = "unread", _("“This solved it” without opening the article")
        NOTICE = "notice", _("A notice sent to the customer before they asked answered it")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.ForeignKey(ContactReason, null=True, blank=True, on_delete=models.SET_NULL)
    article_key = models.CharField(max_length=80, blank=True)
    language = models.CharField(max_length=2, default="es")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("avoided contact")
        verbose_name_plural = _("avoided contacts")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.created_at:%Y-%m-%d}"


class CustomerNotice(models.Model):
    """A message to one customer before they have to ask ("your order P-123456 is delayed,
    new date Thursday"), sent by another system through the API: emailed in the customer's
    language, shown on their case page, and first on the contact form when they come to write
    about its reason (the link in the email says who they are)."""

    customer_email = models.EmailField(_("customer email"), db_index=True)
    language = models.CharField(_("language"), max_length=2)
    reason = models.ForeignKey(
        ContactReason, verbose_name=_("reason"), on_delete=models.PROTECT, related_name="+"
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"), max_length=5000)
    # What the notice is about in the sender's words ("P-123456"), for whoever reads it.
    external_reference = models.CharField(_("about"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    expires_at = models.DateTimeField(_("shown until"))
    # The customer said on the contact form that it answered them: one contact avoided.
    answered_at = models.DateTimeField(_("answered the customer"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("notice to a customer")
        verbose_name_plural = _("notices to customers")
        indexes = [models.Index(Lower("customer_email"), name="cases_notice_email_lower")]

    def __str__(self) -> str:
        return f"{self.customer_email}: {self.subject}"


class ContactSubmission(models.Model):
    """A contact form's one-time submission token, spent by what the submission did.

    The form carries a random token; the first submission that does something (opens a case,
    adds to one, sends the case links) records it in the same transaction, and every later
    submission of the same form (a reload, back and resubmit, a double click) finds it and is
    shown what the first one did: never a second case or email.
    """

    token = models.CharField(max_length=64, unique=True)
    outcome = models.CharField(max_length=20)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("contact form submission")
        verbose_name_plural = _("contact form submissions")

    def __str__(self) -> str:
        return f"{self.outcome} · {self.created_at:%Y-%m-%d %H:%M}"


class SavedReply(models.Model):
    """A reply staff insert in one click and edit before sending (a "macro"), in one language.

    Its text may hold placeholders, filled in when it is inserted: {customer_name},
    {reference}, {first_response_due}, {resolution_due}; {case_link} stays as it is and becomes
    the customer's own link in the email (minted when it is sent: no stored text holds one).
    """

    class Language(models.TextChoices):
        SPANISH = "es", _("Spanish")
        ENGLISH = "en", _("English")

    title = models.CharField(_("title"), max_length=120)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    body = models.TextField(
        _("text"),
        max_length=5000,
        help_text=_(
            "Placeholders: {customer_name}, {reference}, {first_response_due}, "
            "{resolution_due}, {case_link}."
        ),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["language", "position", "title"]
        verbose_name = _("saved reply")
        verbose_name_plural = _("saved replies")

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"

    def save(self, *args, **kwargs) -> None:
        self.body = without_case_links(self.body)
        super().save(*args, **kwargs)


class ReplyDraft(models.Model):
    """What a member of staff has typed in a case's reply box and not sent yet."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reply_drafts")
    body = models.TextField(max_length=5000, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "case"], name="cases_one_draft_per_user_case")
        ]

    def __str__(self) -> str:
        return f"{self.case_id} · {self.user_id}"

    def save(self, *args, **kwargs) -> None:
        self.body = without_case_links(self.body)
        super().save(*args, **kwargs)


class DeskPreferences(models.Model):
    """How a member of staff wants to be told about their cases."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="desk_preferences"
    )
    email_alerts = models.BooleanField(
        _("email me when a customer replies, reopens or rates 1-2 stars"), default=True
    )
    language = models.CharField(
        _("language of those emails"),
        max_length=2,
        choices=SavedReply.Language.choices,
        default="es",
    )

    class Meta:
        verbose_name = _("desk preferences")
        verbose_name_plural = _("desk preferences")

    def __str__(self) -> str:
        return str(self.user_id)


class DeskAlert(models.Model):
    """Something a customer did that a member of staff should look at; counted in the desk's
    header until they open the case."""

    class Kind(models.TextChoices):
        REPLIED = "replied", _("The customer replied")
        REOPENED = "reopened", _("The customer reopened the case")
        LOW_RATING = "low_rating", _("The customer rated the case 1 or 2 stars")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="desk_alerts")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "seen_at"])]

    def __str__(self) -> str:
        return f"{self.case_id} · {self.kind}"


class Attachment(models.Model):
    """A file a customer or staff sent with a message (or that came with an email).

    Written to the attachments storage in the request that received it (``upload_name``),
    then checked after commit by a task: scanned when a scanner is configured, an image
    decoded and written again without its metadata, with a thumbnail (``file_name``,
    ``thumbnail_name``). Only a READY file is ever served, and only through the case's pages.

    Staged (no case yet): a form that is shown again (another field needs fixing) keeps the
    files it received under its one-time token until it is sent (``staged_token``).
    """

    class Source(models.TextChoices):
        CONTACT_FORM = "contact", _("Contact form")
        CASE_PAGE = "case_page", _("Case page")
        DESK = "desk", _("Desk reply")
        EMAIL = "email", _("Email")
        API = "api", _("API")

    class Status(models.TextChoices):
        PENDING = "pending", _("Being checked")
        READY = "ready", _("Ready")
        QUARANTINED = "quarantined", _("Held back by the virus check")
        FAILED = "failed", _("Could not be read")

    class Kind(models.TextChoices):
        IMAGE = "image", _("Image")
        DOCUMENT = "document", _("Document")
        TEXT = "text", _("Text")

    # The id in URLs: unguessable, so one file's address tells nothing about the others.
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    # The message it came with; shown to the customer when that message is public.
    event = models.ForeignKey(
        CaseEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    staged_token = models.CharField(max_length=64, blank=True, editable=False)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # As shown and downloaded, its extension the one of the type read from the content.
    name = models.CharField(_("name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64, editable=False)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    upload_name = models.CharField(max_length=300, editable=False)
    file_name = models.CharField(max_length=300, blank=True, editable=False)
    thumbnail_name = models.CharField(max_length=300, blank=True, editable=False)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    thumbnail_width = models.PositiveIntegerField(null=True, blank=True)
    thumbnail_height = models.PositiveIntegerField(null=True, blank=True)
    scan_signature = models.CharField(_("virus found"), max_length=200, blank=True)
    # The processing task is queued again by the sweeper from then on (lost task, broker or
    # scanner down), waiting longer each time.
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("received"), default=timezone.now)
    processed_at = models.DateTimeField(_("checked"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["staged_token", "created_at"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

    @property
    def is_image(self) -> bool:
        return self.kind == self.Kind.IMAGE
