"""Webhooks out: the endpoints staff register, and one delivery row per (event, endpoint).

A ``Delivery`` is written in the same transaction as the change it tells about (a case opened,
an article published), with its body frozen then; a worker claims it, posts it signed (Standard
Webhooks), and records the outcome: the email outbox's design (notifications.OutgoingMessage),
for HTTP.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from foundation.i18n import Language


class EventType(models.TextChoices):
    CASE_OPENED = "case.opened", _("A case was opened")
    CASE_CUSTOMER_REPLIED = "case.customer_replied", _("A customer wrote on their case")
    CASE_STATUS_CHANGED = "case.status_changed", _("A case changed status")
    CASE_RATED = "case.rated", _("A customer rated their case")
    ANNOUNCEMENT_PUBLISHED = "announcement.published", _("A notice was published")
    ANNOUNCEMENT_UPDATED = "announcement.updated", _("A notice got an update")
    ANNOUNCEMENT_RESOLVED = "announcement.resolved", _("An incident or maintenance was resolved")
    ARTICLE_PUBLISHED = "article.published", _("An article was published")


class DisabledReason(models.TextChoices):
    FAILING = "failing", _("Every delivery failed for a day")
    STAFF = "staff", _("Disabled by staff")


class DeliveryError(models.TextChoices):
    """What the site itself found wrong with a delivery, stored as this code in
    ``Delivery.last_error`` and ``Attempt.error`` and said in the reader's language
    (``selectors.delivery_error_message``); what the network or the receiver answered is
    stored as technical English ("HTTP 503", "ConnectionRefusedError: ...")."""

    ENDPOINT_DISABLED = "endpoint_disabled", _("endpoint disabled")
    SECRET_UNREADABLE = (
        "secret_unreadable",
        _("The signing secret cannot be decrypted: give it a new one."),
    )
    URL_SCHEME = "url_scheme", _("Enter an http:// or https:// address.")
    URL_UNRESOLVABLE = "url_unresolvable", _("That host cannot be found.")
    URL_PRIVATE = (
        "url_private",
        _("That address is in a private network; webhooks go to public addresses."),
    )


class Endpoint(models.Model):
    """A URL that receives the events it subscribed to, signed with its own secret.

    The secret signs every delivery, so it cannot be kept only as a hash: it is stored
    encrypted (``webhooks.services.secrets``) and shown once, when the endpoint is created.
    """

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    event_types = models.JSONField(_("event types"), default=list)
    secret_encrypted = models.TextField(_("encrypted secret"), editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_endpoints",
        help_text=_("Emailed if the endpoint is disabled for failing."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Set by the first failed attempt after a success; cleared by the next success.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    # While it does not answer at all (refused, unreachable, timing out), its deliveries wait
    # for this moment, when the one that failed tries again, instead of each waiting for a
    # timeout of its own (webhooks.services: the endpoint's back-off).
    resting_until = models.DateTimeField(_("not answering; next try"), null=True, blank=True)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    # Why, as a code and what it needs ({"hours": 24}), said in the reader's language by
    # webhooks.selectors.disabled_reason_message (staff in the admin, the owner in an email).
    disabled_reason_code = models.CharField(
        _("why disabled"), max_length=20, choices=DisabledReason.choices, blank=True
    )
    disabled_reason_params = models.JSONField(default=dict, blank=True, editable=False)
    language = models.CharField(
        _("language of its emails"),
        max_length=2,
        choices=Language.choices,
        default=Language.SPANISH,
        help_text=_("The owner is written to in this language."),
    )
    # The disabling the owner was emailed about (== disabled_at once told).
    owner_told_of = models.DateTimeField(_("owner told"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


class Delivery(models.Model):
    """One event for one endpoint: pending → sending → delivered (or failed).

    ``event_id`` is the Standard Webhooks message id (``webhook-id``): the same on every attempt
    and for every endpoint of the event, so receivers can drop what they already processed.
    """

    class Status(models.TextChoices):
        # Contexts: other catalogues translate these words for other nouns (an email).
        PENDING = "pending", pgettext_lazy("webhook delivery", "Pending")
        SENDING = "sending", pgettext_lazy("webhook delivery", "Sending")
        DELIVERED = "delivered", pgettext_lazy("webhook delivery", "Delivered")
        FAILED = "failed", pgettext_lazy("webhook delivery", "Failed")

    endpoint = models.ForeignKey(
        Endpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(_("event id"), max_length=40)
    event_type = models.CharField(_("event type"), max_length=40, choices=EventType.choices)
    body = models.TextField(_("body"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    sending_started_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    requeued_at = models.DateTimeField(_("queued again"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(
        _("last response code"), null=True, blank=True
    )
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "endpoint"], name="webhooks_one_delivery_per_event_endpoint"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class Attempt(models.Model):
    """One HTTP post of a delivery, with what the endpoint answered (the delivery log)."""

    delivery = models.ForeignKey(
        Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="attempt_log"
    )
    started_at = models.DateTimeField(_("started"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")

    def __str__(self) -> str:
        # The admin shows an attempt only as a row of the delivery's log, whose columns say
        # it all (a tabular inline prints this above each row).
        return ""
