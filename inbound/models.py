from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InboundMessage(models.Model):
    """One email that reached us, kept as it arrived (its raw bytes, the ``.eml``) before
    anything reads it, then processed once by a task.

    ``dedupe_key`` (the Message-ID and a hash of the message's own headers and body) is unique:
    the same message fetched twice, or delivered by two routes, is one row (``times_received``
    counts the others). A row stays ``received`` until a task has handled it in one
    transaction with its effect (a case message, a case, a suppression), so a worker killed
    half-way leaves it to the sweeper, and nothing is done twice.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("Waiting to be processed")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored (sent by a machine)")
        HELD = "held", _("Held for review")
        UNPROCESSED = "unprocessed", _("Could not be processed")
        DISMISSED = "dismissed", _("Dismissed by staff")

    class SenderAuth(models.TextChoices):
        NOT_CHECKED = "", _("Not checked")
        PASS = "pass", _("Authenticated")
        FAIL = "fail", _("Not authenticated")
        NONE = "none", _("No verdict")

    class Outcome(models.TextChoices):
        NONE = "", _("Nothing yet")
        REPLY_ADDED = "reply_added", _("Added to its case as the customer's message")
        CASE_OPENED = "case_opened", _("Opened a case")
        FOLLOW_UP_OPENED = "follow_up", _("Opened a case (its case was closed)")
        LINKS_SENT = "links_sent", _("A status question: the case links were sent")
        AUTOMATIC = "automatic", _("An auto-reply or bulk mail")
        BOUNCE = "bounce", _("A bounce")
        LOOP = "loop", _("Our own mail coming back")
        OTHER_SENDER = "other_sender", _("A reply from someone other than the case's customer")
        EMPTY = "empty", _("No new text")
        TOO_MANY = "too_many", _("Too many new cases from this address")
        UNAUTHENTICATED = "unauthenticated", _("Its sender could not be authenticated")
        UNREADABLE = "unreadable", _("Could not be read")
        FAILED = "failed", _("Failed while processing")

    source = models.CharField(_("source"), max_length=40)
    source_reference = models.CharField(_("where in the source"), max_length=200, blank=True)
    raw = models.BinaryField(_("original message"))
    size = models.PositiveIntegerField(_("size in bytes"), default=0)
    message_id = models.CharField(_("Message-ID"), max_length=250, blank=True, db_index=True)
    dedupe_key = models.CharField(max_length=64, unique=True, editable=False)
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    times_received = models.PositiveIntegerField(_("times received"), default=1)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED
    )
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=Outcome.choices, blank=True, default=Outcome.NONE
    )
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Read from the message once processed (empty while it waits).
    sender = models.EmailField(_("from"), blank=True)
    # Whether its From is authenticated (SPF/DKIM/DMARC, inbound.services.authentication),
    # and why: {"code": ..., "params": {...}}, said in the reader's language by
    # inbound.selectors.sender_auth_message.
    sender_auth = models.CharField(
        _("sender authentication"),
        max_length=4,
        choices=SenderAuth.choices,
        blank=True,
        default=SenderAuth.NOT_CHECKED,
    )
    sender_auth_reason = models.JSONField(default=dict, blank=True, editable=False)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("new text"), blank=True)
    # Names, types and sizes of the files it carried, and what became of each (the key of its
    # case attachment, or why it was refused); the original files also stay in ``raw``.
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    case_event = models.ForeignKey(
        "cases.CaseEvent",
        verbose_name=_("case event"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    requeued_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("inbound email")
        verbose_name_plural = _("inbound emails")
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self) -> str:
        return f"{self.sender or self.message_id or self.pk} · {self.subject}"[:120]


class MailboxCursor(models.Model):
    """How far a polled mailbox has been read: an IMAP folder's UIDVALIDITY and the highest
    UID stored. A message is stored before the cursor moves past it, so a crash re-reads at
    most what was already stored (which the dedupe key makes one row)."""

    mailbox = models.CharField(max_length=300, unique=True)
    uid_validity = models.BigIntegerField(default=0)
    last_uid = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("mailbox position")
        verbose_name_plural = _("mailbox positions")

    def __str__(self) -> str:
        return f"{self.mailbox} · {self.last_uid}"
