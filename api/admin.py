from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from api import services
from api.models import ApiKey, ApiWrite, Scope


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=Scope.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Contact reasons, opening hours and closures can be read with any key."),
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "expires_at", "rate_limit_per_minute"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created here and shown once; afterwards only their prefix is known. A key is
    revoked, never deleted: the writes it made stay attributed to it."""

    form = ApiKeyForm
    list_display = [
        "name",
        "shown_prefix",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = [
        "shown_prefix",
        "user",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    @admin.display(description=_("prefix"))
    def shown_prefix(self, key: ApiKey) -> str:
        return f"{services.KEY_START}{key.prefix}_…"

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        return [] if obj is None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        new = services.create_api_key(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data["expires_at"],
            rate_limit_per_minute=form.cleaned_data["rate_limit_per_minute"],
            actor=request.user,
            now=timezone.now(),
        )
        # The admin goes on with the object it built (its log entry, the next page).
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(new.key, field.attname))
        obj._state.adding = False
        request._api_key_secret = new.secret  # only for response_add, on this request

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue=None
    ) -> HttpResponse:
        secret = getattr(request, "_api_key_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "key": obj,
            "secret": secret,
            "title": _("Copy the key now"),
        }
        response = TemplateResponse(request, "admin/api/apikey/created.html", context)
        response["Cache-Control"] = "no-store"  # the only copy of the secret
        return response

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = services.revoke_api_keys(keys=queryset, now=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)d key revoked.", "%(count)d keys revoked.", count) % {"count": count},
            messages.SUCCESS,
        )


@admin.register(ApiWrite)
class ApiWriteAdmin(admin.ModelAdmin):
    """Every write made through the API, by key: read only."""

    list_display = ["created_at", "key", "method", "path", "status_code", "resource"]
    list_filter = ["key", "method"]
    search_fields = ["resource", "path", "idempotency_key"]
    list_select_related = ["key"]
    readonly_fields = [field.name for field in ApiWrite._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
