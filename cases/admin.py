from django.contrib import admin

from cases.models import (
    Case,
    CaseAccessToken,
    CaseEvent,
    ContactReason,
    CustomerNotice,
    Deflection,
    SavedReply,
    Team,
)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name_es", "name_en", "slug"]
    filter_horizontal = ["members"]


@admin.register(SavedReply)
class SavedReplyAdmin(admin.ModelAdmin):
    """Saved replies ("macros") staff insert on the desk, one language each."""

    list_display = ["title", "language", "position", "active"]
    list_filter = ["language", "active"]
    list_editable = ["position", "active"]
    search_fields = ["title", "body"]


@admin.register(ContactReason)
class ContactReasonAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "code",
        "team",
        "owner",
        "first_response_hours",
        "resolution_days",
        "active",
    ]
    list_filter = ["active", "team", "parent"]
    search_fields = ["name_es", "name_en", "code"]
    list_select_related = ["parent", "team", "owner"]


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = [
        "created_at",
        "kind",
        "public",
        "by_customer",
        "author",
        "body",
        "to_status",
        "rating",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Read-mostly: cases change through the desk (/desk/), where every change is recorded."""

    list_display = [
        "reference",
        "subject",
        "reason",
        "status",
        "team",
        "assignee",
        "resolution_due",
        "created_at",
    ]
    list_filter = ["status", "team", "reason__parent"]
    search_fields = ["reference", "subject", "customer_email", "customer_name"]
    list_select_related = ["reason", "reason__parent", "team", "assignee"]
    readonly_fields = [field.name for field in Case._meta.fields]
    inlines = [CaseEventInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Deflection)
class DeflectionAdmin(admin.ModelAdmin):
    list_display = ["kind", "reason", "article_key", "language", "created_at"]
    list_filter = ["kind", "language"]


admin.site.register(CaseAccessToken)


@admin.register(CustomerNotice)
class CustomerNoticeAdmin(admin.ModelAdmin):
    """What other systems told customers through the API (issue 18, item 5): read only."""

    list_display = [
        "created_at",
        "customer_email",
        "reason",
        "subject",
        "expires_at",
        "answered_at",
    ]
    list_filter = ["reason", "language"]
    search_fields = ["customer_email", "subject", "external_reference"]
    list_select_related = ["reason"]
    readonly_fields = [field.name for field in CustomerNotice._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
