"""Daily rollups of what the other apps record, so the insights page reads a few hundred rows
whatever the size of the search log or the case history."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from foundation.i18n import Language

RATING_FIELDS = [f"rating_{stars}" for stars in range(1, 6)]


class DailyReasonStats(models.Model):
    """One day's figures for one contact reason and owner team (either may be empty)."""

    day = models.DateField(_("day"))
    reason = models.ForeignKey(
        "cases.ContactReason", null=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey("cases.Team", null=True, on_delete=models.SET_NULL, related_name="+")
    opened = models.PositiveIntegerField(default=0)
    opened_during_notice = models.PositiveIntegerField(default=0)
    opened_without_article = models.PositiveIntegerField(default=0)
    first_response_due = models.PositiveIntegerField(default=0)
    first_response_kept = models.PositiveIntegerField(default=0)
    resolution_due = models.PositiveIntegerField(default=0)
    resolution_kept = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    rating_1 = models.PositiveIntegerField(default=0)
    rating_2 = models.PositiveIntegerField(default=0)
    rating_3 = models.PositiveIntegerField(default=0)
    rating_4 = models.PositiveIntegerField(default=0)
    rating_5 = models.PositiveIntegerField(default=0)
    deflected_article = models.PositiveIntegerField(default=0)
    deflected_status = models.PositiveIntegerField(default=0)
    deflected_duplicate = models.PositiveIntegerField(default=0)
    deflected_incident = models.PositiveIntegerField(default=0)
    deflected_notice = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("daily figures per reason")
        verbose_name_plural = _("daily figures per reason")
        indexes = [models.Index(fields=["day", "reason"])]
        permissions = [("view_insights", _("Can see the insights"))]

    def __str__(self) -> str:
        return f"{self.day} · {self.reason_id}"


class DailySiteStats(models.Model):
    """One day's self-service funnel for the whole help center."""

    day = models.DateField(_("day"), unique=True)
    visits = models.PositiveIntegerField(default=0)
    searches = models.PositiveIntegerField(default=0)
    zero_result_searches = models.PositiveIntegerField(default=0)
    searches_followed_by_case = models.PositiveIntegerField(default=0)
    article_views = models.PositiveIntegerField(default=0)
    helpful_votes = models.PositiveIntegerField(default=0)
    unhelpful_votes = models.PositiveIntegerField(default=0)
    contact_form_opened = models.PositiveIntegerField(default=0)
    suggestions_shown = models.PositiveIntegerField(default=0)
    rolled_up_at = models.DateTimeField(_("rolled up at"))

    class Meta:
        verbose_name = _("daily funnel")
        verbose_name_plural = _("daily funnel")

    def __str__(self) -> str:
        return str(self.day)


class DailySearchTerm(models.Model):
    """A search that did not answer, per day: no results, or a case opened right after it
    (``reason_code`` is the case's reason, empty otherwise)."""

    day = models.DateField(_("day"))
    language = models.CharField(max_length=2, choices=Language.choices)
    query = models.CharField(max_length=200)
    reason_code = models.CharField(max_length=80, blank=True)
    searches = models.PositiveIntegerField(default=0)
    zero_results = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("daily search term")
        verbose_name_plural = _("daily search terms")
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.day} · {self.query}"


class DigestPreference(models.Model):
    """How a reason owner wants the weekly digest (without a row: Spanish, sent)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_preference"
    )
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.SPANISH
    )
    weekly_digest = models.BooleanField(_("send me the weekly digest"), default=True)

    class Meta:
        verbose_name = _("digest preference")
        verbose_name_plural = _("digest preferences")

    def __str__(self) -> str:
        return str(self.user)
