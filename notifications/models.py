import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from foundation.i18n import Language, localized
from notifications.alerting import validate_matchers, validate_template


def validate_single_line(value: str) -> None:
    """A title becomes an email subject: a line break or control character would break it."""
    if any(unicodedata.category(character) in ("Cc", "Zl", "Zp") for character in value):
        raise ValidationError(
            _("Write it on one line, without line breaks or control characters."),
            code="not_one_line",
        )


# --- Outbox -----------------------------------------------------------------------------------


class OutgoingMessage(models.Model):
    """One email the site must send, exactly once: the outbox.

    Written in the same transaction as the change that causes it. ``dedupe_key`` is unique, so
    asking twice for the same email (a task run twice, a publication repeated) writes one row.
    The send task locks the row and moves it queued → sending → sent (or failed); a sweeper
    re-queues rows left behind by a lost task or a broker that was down.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    class Kind(models.TextChoices):
        NOTICE = "notice", _("Notice to subscribers")
        SUBSCRIPTION = "subscription", _("Subscription")
        CASE = "case", _("Case update")
        DIGEST = "digest", _("Digest")
        TEST = "test", _("Test message")
        OTHER = "other", _("Other")

    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.OTHER)
    recipient = models.EmailField(_("recipient"))
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=300)
    # Empty when the body is shared by a whole dispatch (rendered once, not once per row).
    body_text = models.TextField(_("text body"), blank=True)
    body_html = models.TextField(_("HTML body"), blank=True)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    # Mail someone may stop: the one-click unsubscribe link (List-Unsubscribe, RFC 8058), or
    # a link placeholder (outbox.link_placeholder) that the outbox mints as the mail leaves.
    unsubscribe_url = models.URLField(_("unsubscribe link"), max_length=500, blank=True)
    dispatch = models.ForeignKey(
        "Dispatch",
        verbose_name=_("dispatch"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
    )
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    sending_started_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    requeued_at = models.DateTimeField(_("queued again"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # Bodies are blanked OUTBOX_BODY_RETENTION_DAYS after delivery (the row stays as a ledger).
    body_purged_at = models.DateTimeField(_("body purged"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")
        # view_outgoingmessage shows notice and subscription mail; case mail (the customer's
        # name, subject and case) needs this one as well.
        permissions = [("view_case_mail", _("Can view emails about cases"))]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["dispatch", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.subject}"


class SuppressedAddress(models.Model):
    """An address the receiving server refused for good (5.1.x, or 550-553 to RCPT).

    Bulk mail (notices, subscriptions, digests) is never sent to it; case mail only when the
    refusal was of case mail. Staff lift a suppression in the admin (the row is deleted).
    """

    email = models.EmailField(_("email"), unique=True)
    reason = models.CharField(_("reason"), max_length=500)
    kind = models.CharField(
        _("kind of mail refused"),
        max_length=16,
        choices=OutgoingMessage.Kind.choices,
        default=OutgoingMessage.Kind.OTHER,
    )
    smtp_code = models.PositiveSmallIntegerField(_("SMTP code"), null=True, blank=True)
    created_at = models.DateTimeField(_("since"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")

    def __str__(self) -> str:
        return self.email


# --- Opening hours ----------------------------------------------------------------------------


class OpeningHours(models.Model):
    """The weekly opening hours, in the service's time zone (settings.TIME_ZONE)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens_at = models.TimeField(_("opens at"))
    closes_at = models.TimeField(_("closes at"))

    class Meta:
        ordering = ["weekday", "opens_at"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")),
                name="notifications_hours_close_after_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class CalendarException(models.Model):
    """A day that differs from the weekly hours: a holiday (closed) or reduced hours."""

    date = models.DateField(_("date"), unique=True)
    label_es = models.CharField(_("label (Spanish)"), max_length=100)
    label_en = models.CharField(_("label (English)"), max_length=100)
    closed = models.BooleanField(_("closed all day"), default=True)
    opens_at = models.TimeField(_("opens at"), null=True, blank=True)
    closes_at = models.TimeField(_("closes at"), null=True, blank=True)
    announce_days_before = models.PositiveSmallIntegerField(
        _("announce days before"),
        default=7,
        help_text=_("Publish a holiday-hours notice this many days before (0: no notice)."),
    )
    announcement = models.OneToOneField(
        "Announcement",
        verbose_name=_("announcement"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calendar_exception",
    )

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday or special hours")
        verbose_name_plural = _("holidays and special hours")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closed=True)
                | models.Q(
                    opens_at__isnull=False,
                    closes_at__isnull=False,
                    closes_at__gt=models.F("opens_at"),
                ),
                name="notifications_exception_hours_when_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.date}: {self.label_es}"

    @property
    def label(self) -> str:
        return localized(self, "label")


# --- Announcements ----------------------------------------------------------------------------


class Announcement(models.Model):
    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday hours")
        INCIDENT = "incident", _("Outage or incident")
        MAINTENANCE = "maintenance", _("Planned maintenance")
        GENERAL = "general", _("General notice")

    class Severity(models.IntegerChoices):
        INFO = 1, _("Information")
        WARNING = 2, _("Warning")
        CRITICAL = 3, _("Critical")

    class Phase(models.TextChoices):
        # Incidents
        INVESTIGATING = "investigating", _("Investigating")
        IDENTIFIED = "identified", _("Identified")
        MONITORING = "monitoring", _("Monitoring")
        RESOLVED = "resolved", _("Resolved")
        # Planned maintenance (moves by time)
        SCHEDULED = "scheduled", _("Scheduled")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        # Holiday hours and general notices have no phases
        NONE = "", pgettext_lazy("phase", "None")  # admin's "None" would win: "Ninguno"

    class Publication(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        PUBLISHED = "published", _("Published")
        EXPIRED = "expired", _("Expired")

    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    severity = models.PositiveSmallIntegerField(
        _("severity"), choices=Severity.choices, default=Severity.INFO
    )
    title_es = models.CharField(
        _("title (Spanish)"), max_length=200, validators=[validate_single_line]
    )
    title_en = models.CharField(
        _("title (English)"), max_length=200, validators=[validate_single_line]
    )
    body_es = models.TextField(_("text (Spanish)"), help_text=_("Markdown."))
    body_en = models.TextField(_("text (English)"), help_text=_("Markdown."))
    areas = models.JSONField(
        _("affected areas"),
        default=list,
        blank=True,
        help_text=_("Codes of the affected contact reasons or areas; empty: everyone."),
    )
    starts_at = models.DateTimeField(_("event starts"), null=True, blank=True)
    ends_at = models.DateTimeField(_("event ends"), null=True, blank=True)
    publish_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    expire_at = models.DateTimeField(_("expire at"), null=True, blank=True)
    publication = models.CharField(
        _("publication"), max_length=10, choices=Publication.choices, default=Publication.DRAFT
    )
    phase = models.CharField(_("phase"), max_length=16, choices=Phase.choices, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    # When the incident was resolved or the maintenance completed: the banner then says so
    # calmly and leaves NOTICE_RESOLVED_VISIBLE_HOURS later (expire_at is set to that moment).
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Opened by an alert from monitoring: the rule that worded it (the desk says so).
    opened_by_rule = models.ForeignKey(
        "AlertRule",
        verbose_name=_("opened by monitoring rule"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incidents",
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-severity", "-published_at", "-created_at"]
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        indexes = [models.Index(fields=["publication", "publish_at"])]

    def __str__(self) -> str:
        return self.title_es

    def get_absolute_url(self) -> str:
        return reverse("notifications:notice_detail", kwargs={"slug": self.slug})

    @property
    def title(self) -> str:
        return localized(self, "title")

    @property
    def body(self) -> str:
        return localized(self, "body")

    @property
    def is_resolved(self) -> bool:
        """An incident resolved or a maintenance completed: no longer a problem to act on."""
        return self.phase in (self.Phase.RESOLVED, self.Phase.COMPLETED)

    @property
    def resolved_before_publishing(self) -> bool:
        """Over before anyone published it (its alerts resolved while it was a draft): closed,
        never shown on the site nor mailed, and never to be published as an ongoing problem."""
        return (
            self.publication == self.Publication.EXPIRED
            and self.published_at is None
            and self.resolved_at is not None
        )


class AnnouncementUpdate(models.Model):
    """A timestamped public update on an announcement (incident progress, changed times)."""

    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="updates")
    phase = models.CharField(
        _("phase"), max_length=16, choices=Announcement.Phase.choices, blank=True
    )
    body_es = models.TextField(_("text (Spanish)"))
    body_en = models.TextField(_("text (English)"))
    notify_subscribers = models.BooleanField(_("email subscribers"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("posted"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("update")
        verbose_name_plural = _("updates")

    def __str__(self) -> str:
        return f"{self.announcement} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def body(self) -> str:
        return localized(self, "body")


class IncidentFollower(models.Model):
    """ "Tell me when it is fixed": one address waiting for news of one incident.

    One step, no account and no subscription: anyone may follow an incident (rate limited),
    and hears only about that incident. Each of its updates (and its resolution) is mailed
    once per follower through the outbox, in the same transaction as the update (the outbox
    row's dedupe key is the ledger); the resolution ends the following, and so does the stop
    link in each of those emails (``stopped_at``).
    """

    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="followers"
    )
    email = models.EmailField(_("email"))
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    created_at = models.DateTimeField(_("since"), default=timezone.now)
    done_at = models.DateTimeField(_("told it is fixed"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("asked to stop"), null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("incident follower")
        verbose_name_plural = _("incident followers")
        constraints = [
            models.UniqueConstraint(
                fields=["announcement", "email"], name="notifications_one_follow_per_incident"
            )
        ]

    def __str__(self) -> str:
        return f"{self.announcement_id} · {self.email}"


# --- Subscribers and fan-out ------------------------------------------------------------------


class Subscriber(models.Model):
    email = models.EmailField(_("email"), unique=True)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    kinds = models.JSONField(
        _("kinds"), default=list, blank=True, help_text=_("Announcement kinds; empty: all.")
    )
    areas = models.JSONField(
        _("areas"), default=list, blank=True, help_text=_("Areas of interest; empty: all.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)

    class Meta:
        ordering = ["email"]
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")
        indexes = [models.Index(fields=["confirmed_at", "unsubscribed_at"])]

    def __str__(self) -> str:
        return self.email

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None


class Dispatch(models.Model):
    """One mailing of an announcement (its publication, or one of its updates) to subscribers.

    Planning writes one outbox row per matching subscriber (unique dedupe key: the delivery
    ledger) in batches, resuming from ``planned_through_id`` after a crash; sending goes in
    chunks. The text is rendered once per language and shared by every row.
    """

    class Status(models.TextChoices):
        PLANNING = "planning", _("Planning")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Done")

    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="dispatches"
    )
    update = models.OneToOneField(
        AnnouncementUpdate, null=True, blank=True, on_delete=models.CASCADE, related_name="dispatch"
    )
    dedupe_key = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNING)
    planned_through_id = models.BigIntegerField(default=0)
    subjects = models.JSONField(default=dict)  # {"es": "...", "en": "..."}
    bodies_text = models.JSONField(default=dict)
    bodies_html = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    planned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("dispatch")
        verbose_name_plural = _("dispatches")

    def __str__(self) -> str:
        return f"{self.announcement} · {self.dedupe_key}"


# --- Incidents from monitoring ----------------------------------------------------------------


# An alert not received for this long counts as resolved (a rule's resolve_after_silence):
# shorter would end incidents between two sendings of an alert still firing.
MIN_SILENCE_MINUTES, MAX_SILENCE_MINUTES = 5, 7 * 24 * 60


class AlertRule(models.Model):
    """Which alerts from monitoring open an incident, and in which words.

    The first enabled rule (lowest ``position``) whose matchers all hold takes an alert. The
    affected areas are contact reason codes, as an announcement's (``Announcement.areas``):
    notifications sits below cases, so it names them and never points at them.
    """

    class Kind(models.TextChoices):
        INCIDENT = Announcement.Kind.INCIDENT.value, Announcement.Kind.INCIDENT.label
        MAINTENANCE = Announcement.Kind.MAINTENANCE.value, Announcement.Kind.MAINTENANCE.label

    name = models.CharField(_("name"), max_length=100, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    position = models.PositiveSmallIntegerField(
        _("position"),
        default=100,
        help_text=_("Rules are tried in this order, lowest first; the first that matches wins."),
    )
    matchers = models.TextField(
        _("label matchers"),
        blank=True,
        validators=[validate_matchers],
        help_text=_(
            'One per line, as in Alertmanager: service="payments", severity=~"critical|page", '
            'env!="staging". All must hold; none: every alert.'
        ),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.INCIDENT)
    severity = models.PositiveSmallIntegerField(
        _("severity"), choices=Announcement.Severity.choices, default=Announcement.Severity.WARNING
    )
    areas = models.JSONField(
        _("affected areas"),
        default=list,
        blank=True,
        help_text=_("Codes of the affected contact reasons; empty: the whole site."),
    )
    title_es = models.CharField(
        _("title (Spanish)"),
        max_length=200,
        validators=[validate_single_line, validate_template],
        help_text=_("May use {labels.name} and {annotations.name}."),
    )
    title_en = models.CharField(
        _("title (English)"), max_length=200, validators=[validate_single_line, validate_template]
    )
    body_es = models.TextField(
        _("text (Spanish)"),
        validators=[validate_template],
        help_text=_("Markdown; may use {labels.name} and {annotations.name}."),
    )
    body_en = models.TextField(_("text (English)"), validators=[validate_template])
    resolution_es = models.TextField(
        _("resolution text (Spanish)"),
        blank=True,
        validators=[validate_template],
        help_text=_("The last update when the alerts resolve; empty: a standard sentence."),
    )
    resolution_en = models.TextField(
        _("resolution text (English)"), blank=True, validators=[validate_template]
    )
    publish_at_once = models.BooleanField(
        _("publish at once"),
        default=False,
        help_text=_(
            "Published and mailed to subscribers as soon as it opens; otherwise a draft on the "
            "notices desk for a person to check and publish."
        ),
    )
    min_duration = models.PositiveIntegerField(
        _("minimum duration (seconds)"),
        default=0,
        help_text=_("An alert must have been firing this long before it opens anything."),
    )
    reopen_within = models.PositiveIntegerField(
        _("reopen within (seconds)"),
        default=900,
        help_text=_(
            "An alert that fires again this soon after its incident was resolved reopens that "
            "incident instead of opening a new one."
        ),
    )
    resolve_after_silence = models.PositiveIntegerField(
        _("resolve when silent for (minutes)"),
        null=True,
        blank=True,
        validators=[
            MinValueValidator(
                MIN_SILENCE_MINUTES,
                message=_(
                    "At least %(limit_value)s minutes: shorter would resolve incidents between "
                    "two sendings of an alert still firing."
                ),
            ),
            MaxValueValidator(
                MAX_SILENCE_MINUTES,
                message=_("At most a week (%(limit_value)s minutes)."),
            ),
        ],
        help_text=_(
            "For monitoring that sends a firing alert again and again and simply stops when "
            "the problem is gone (Alertmanager with send_resolved: false, most other tools): "
            "an alert not received for this long counts as resolved. It must be longer than "
            "the time between two sendings of a firing alert (Alertmanager's repeat_interval), "
            "or incidents resolve while the problem lasts. At least 5 minutes; empty: only "
            "when monitoring says it resolved."
        ),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("monitoring rule")
        verbose_name_plural = _("monitoring rules")

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    """One alert from monitoring (a fingerprint) under the rule that took it: the log of what
    was received, and the incident it keeps open."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for its minimum duration")
        FIRING = "firing", _("Firing")
        RESOLVED = "resolved", _("Resolved")
        FLAPPED = "flapped", _("Resolved before its minimum duration")

    class Source(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Alertmanager"
        GENERIC = "generic", _("Generic JSON")

    class Resolution(models.TextChoices):
        SENT = "sent", _("Monitoring sent its resolution")
        SILENCE = "silence", _("Not received for the rule's silence")
        ENDS_AT = "ends_at", _("Its announced end passed without a new sending")

    rule = models.ForeignKey(
        AlertRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="alerts"
    )
    fingerprint = models.CharField(_("fingerprint"), max_length=100)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices)
    labels = models.JSONField(_("labels"), default=dict, blank=True)
    annotations = models.JSONField(_("annotations"), default=dict, blank=True)
    starts_at = models.DateTimeField(_("firing since"))
    ends_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    first_seen_at = models.DateTimeField(_("first received"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last received"), default=timezone.now)
    # The end a firing alert announced (Alertmanager's endsAt, when a real future time): it
    # counts as resolved then unless it is received again before.
    expected_end_at = models.DateTimeField(_("announced end"), null=True, blank=True)
    resolution = models.CharField(
        _("how it resolved"), max_length=8, choices=Resolution.choices, blank=True
    )
    # Who sent it (an API key's user): the incident it opens later is theirs too.
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    announcement = models.ForeignKey(
        Announcement,
        verbose_name=_("incident"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )

    class Meta:
        ordering = ["-last_seen_at"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "fingerprint"], name="notifications_one_alert_per_fingerprint"
            )
        ]
        indexes = [models.Index(fields=["fingerprint", "status"])]

    def __str__(self) -> str:
        return f"{self.rule} · {self.fingerprint}"
