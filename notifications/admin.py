from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications.desk import area_choices
from notifications.forms import areas_field, offer_areas
from notifications.models import (
    Alert,
    AlertRule,
    Announcement,
    AnnouncementUpdate,
    CalendarException,
    Dispatch,
    OpeningHours,
    OutgoingMessage,
    Subscriber,
    SuppressedAddress,
)
from notifications.services import announcements, outbox


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    list_display = ["weekday", "opens_at", "closes_at"]
    list_filter = ["weekday"]


@admin.register(CalendarException)
class CalendarExceptionAdmin(admin.ModelAdmin):
    list_display = [
        "date",
        "label_es",
        "label_en",
        "closed",
        "opens_at",
        "closes_at",
        "announcement",
    ]
    date_hierarchy = "date"
    readonly_fields = ["announcement"]


class AnnouncementUpdateInline(admin.StackedInline):
    model = AnnouncementUpdate
    extra = 0
    readonly_fields = ["created_at", "created_by"]


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    list_display = [
        "title_es",
        "kind",
        "severity",
        "publication",
        "phase",
        "publish_at",
        "expire_at",
    ]
    list_filter = ["kind", "publication", "severity"]
    search_fields = ["title_es", "title_en", "body_es", "body_en"]
    readonly_fields = ["publication", "published_at", "created_by", "created_at", "updated_at"]
    inlines = [AnnouncementUpdateInline]
    actions = ["publish_selected"]
    view_on_site = True

    def save_model(self, request, obj, form, change) -> None:
        announcements.save_announcement(announcement=obj, actor=request.user)

    @admin.action(description=_("Publish the selected announcements now"), permissions=["change"])
    def publish_selected(self, request, queryset) -> None:
        refused = []
        for announcement in queryset:
            try:
                announcements.publish_announcement(announcement=announcement, actor=request.user)
            except ValidationError as error:
                refused.append(f"{announcement}: {' '.join(error.messages)}")
        for problem in refused:
            self.message_user(request, problem, messages.ERROR)
        if len(refused) < len(queryset):
            self.message_user(request, _("Published."), messages.SUCCESS)


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "language", "confirmed_at", "unsubscribed_at", "created_at"]
    list_filter = ["language"]
    search_fields = ["email"]
    readonly_fields = ["created_at", "confirmed_at", "unsubscribed_at"]


@admin.register(OutgoingMessage)
class OutgoingMessageAdmin(admin.ModelAdmin):
    list_display = ["recipient", "subject", "kind", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "kind", "language"]
    search_fields = ["recipient", "subject", "dedupe_key"]
    # A subscriber's unsubscribe link opens their preferences: staff never need to see it.
    exclude = ["unsubscribe_url"]
    readonly_fields = [
        field.name for field in OutgoingMessage._meta.fields if field.name != "unsubscribe_url"
    ]
    actions = ["retry_selected"]

    def get_queryset(self, request):
        # Case mail names a customer and their case: only for those allowed to read it.
        messages = super().get_queryset(request)
        if not request.user.has_perm("notifications.view_case_mail"):
            messages = messages.exclude(kind=OutgoingMessage.Kind.CASE)
        return messages

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Send the selected failed emails again"), permissions=["change"])
    def retry_selected(self, request, queryset) -> None:
        ids = list(
            queryset.filter(
                status=OutgoingMessage.Status.FAILED, body_purged_at__isnull=True
            ).values_list("pk", flat=True)
        )
        queryset.filter(pk__in=ids).update(
            status=OutgoingMessage.Status.QUEUED, attempts=0, last_error=""
        )
        outbox.queue_sending(ids)
        self.message_user(request, _("Queued again."), messages.SUCCESS)


@admin.register(SuppressedAddress)
class SuppressedAddressAdmin(admin.ModelAdmin):
    """Why an address gets no mail, since when, and for which mail; staff can lift it."""

    list_display = ["email", "kind", "smtp_code", "created_at", "reason"]
    list_filter = ["kind"]
    search_fields = ["email"]
    readonly_fields = ["email", "kind", "smtp_code", "created_at", "reason"]
    actions = ["lift_selected"]

    def has_add_permission(self, request) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        outbox.lift_suppressions(suppression_ids=[obj.pk])

    @admin.action(
        description=_("Lift the selected suppressions (send mail to them again)"),
        permissions=["delete"],
    )
    def lift_selected(self, request, queryset) -> None:
        lifted = outbox.lift_suppressions(
            suppression_ids=list(queryset.values_list("pk", flat=True))
        )
        self.message_user(
            request,
            ngettext("%(count)d suppression lifted.", "%(count)d suppressions lifted.", lifted)
            % {"count": lifted},
            messages.SUCCESS,
        )


admin.site.register(Dispatch)


class AlertRuleForm(forms.ModelForm):
    """The affected areas are ticked from the contact reasons, as on the notices desk (codes
    saved before a reason was removed stay offered)."""

    areas = areas_field(_("The contact reasons it affects; none: the whole site."))

    class Meta:
        model = AlertRule
        fields = [
            "name",
            "enabled",
            "position",
            "matchers",
            "kind",
            "severity",
            "areas",
            "publish_at_once",
            "title_es",
            "title_en",
            "body_es",
            "body_en",
            "resolution_es",
            "resolution_en",
            "min_duration",
            "reopen_within",
            "resolve_after_silence",
        ]
        widgets = {
            "matchers": forms.Textarea(attrs={"rows": 3, "style": "font-family: monospace"}),
            "body_es": forms.Textarea(attrs={"rows": 4}),
            "body_en": forms.Textarea(attrs={"rows": 4}),
            "resolution_es": forms.Textarea(attrs={"rows": 2}),
            "resolution_en": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        offer_areas(self, area_choices())


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    """What monitoring's alerts open, and in which words (README, Incidents from monitoring)."""

    form = AlertRuleForm
    list_display = [
        "name",
        "position",
        "enabled",
        "matchers",
        "kind",
        "severity",
        "publish_at_once",
        "min_duration",
    ]
    list_editable = ["position", "enabled"]
    list_filter = ["enabled", "publish_at_once", "kind"]
    search_fields = ["name", "matchers"]
    fieldsets = [
        (None, {"fields": ["name", "enabled", "position", "matchers"]}),
        (_("The incident"), {"fields": ["kind", "severity", "areas", "publish_at_once"]}),
        (
            _("Words"),
            {
                "fields": ["title_es", "title_en", "body_es", "body_en"],
                "description": _(
                    "{labels.name} and {annotations.name} are replaced by the alert's values, "
                    "as plain words (never links or formatting)."
                ),
            },
        ),
        (_("Resolution"), {"fields": ["resolution_es", "resolution_en"]}),
        (
            _("Timing"),
            {"fields": ["min_duration", "reopen_within", "resolve_after_silence"]},
        ),
    ]


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """The log of alerts received: read only (monitoring writes it)."""

    list_display = [
        "fingerprint",
        "rule",
        "status",
        "starts_at",
        "ends_at",
        "resolution",
        "last_seen_at",
        "announcement",
    ]
    list_filter = ["status", "resolution", "source", "rule"]
    search_fields = ["fingerprint"]
    list_select_related = ["rule", "announcement"]
    date_hierarchy = "last_seen_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
