from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    """What a key may do. Reading contact reasons, opening hours and closures needs none."""

    CASES_READ = "cases:read", _("Read cases")
    CASES_WRITE = "cases:write", _("Open cases, reply, add notes and change their status")
    NOTICES_WRITE = "notices:write", _("Create, update and resolve announcements")
    KB_READ = "kb:read", _("Read and search knowledge base articles")
    SUBSCRIBERS_WRITE = "subscribers:write", _("Ask for subscriptions (confirmed by email)")


class ApiKey(models.Model):
    """A key another system calls the API with. Only a hash of the secret is kept: the whole
    key is shown once, when it is created; the prefix stays visible to tell keys apart.

    Each key acts as its own user (``user``: inactive, so it can never sign in), so what it
    writes carries its name wherever the site records an author (a reply, a note, a notice).
    """

    name = models.CharField(_("name"), max_length=100, help_text=_("Which system uses it."))
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        _("requests per minute"), default=120, help_text=_("Past this, the key is answered 429.")
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acts as"),
        on_delete=models.PROTECT,
        related_name="api_key",
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ApiWrite(models.Model):
    """A write made through the API (every POST): which key made it, under which
    ``Idempotency-Key``, and what it answered. A retry with the same key and the same request
    is answered from here and does nothing again; the row is written in the transaction of
    the write itself, so there is never a write without its row, nor a row without its write.
    """

    key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="writes")
    idempotency_key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    # SHA-256 of the method, the path and the body: the same Idempotency-Key with another
    # request is refused rather than answered with the first one's response.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(default=dict)
    # What the write made or changed, as "case:K7M2-Q9XA" or "announcement:12".
    resource = models.CharField(_("resource"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API write")
        verbose_name_plural = _("API writes")
        constraints = [
            models.UniqueConstraint(
                fields=["key", "idempotency_key"], name="api_one_write_per_idempotency_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} · {self.created_at:%Y-%m-%d %H:%M}"
