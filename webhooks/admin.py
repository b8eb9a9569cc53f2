from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from foundation.i18n import current_language
from webhooks import selectors, services
from webhooks.models import Attempt, Delivery, Endpoint, EventType


class EndpointForm(forms.ModelForm):
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"class": "vURLField"}),
    )
    event_types = forms.MultipleChoiceField(
        label=_("Event types"),
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The events this endpoint receives."),
    )

    class Meta:
        model = Endpoint
        fields = ["name", "url", "event_types", "owner", "language"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        owner.queryset = owner.queryset.filter(is_staff=True, is_active=True)

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        services.check_url(url)
        return url


def _secret_page(request: HttpRequest, model_admin, endpoint: Endpoint, secret: str):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Endpoint._meta,
        "endpoint": endpoint,
        "secret": secret,
        "title": _("Copy the signing secret now"),
    }
    response = TemplateResponse(request, "admin/webhooks/endpoint/secret.html", context)
    response["Cache-Control"] = "no-store"  # the only copy of the secret
    return response


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    """Endpoints are registered here; the signing secret is shown once, when created (or
    replaced). Disabled endpoints (by staff, or after failing for a day) are enabled here."""

    form = EndpointForm
    list_display = ["name", "url", "subscribed", "state", "failing_since", "owner"]
    list_filter = [("disabled_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "url"]
    readonly_fields = [
        "created_at",
        "failing_since",
        "resting_until",
        "disabled_at",
        "why_disabled",
    ]
    actions = ["enable", "disable"]

    @admin.display(description=_("events"))
    def subscribed(self, endpoint: Endpoint) -> str:
        return ", ".join(endpoint.event_types)

    @admin.display(description=_("why disabled"))
    def why_disabled(self, endpoint: Endpoint) -> str:
        return selectors.disabled_reason_message(endpoint)

    @admin.display(description=_("state"))
    def state(self, endpoint: Endpoint) -> str:
        return _("Active") if endpoint.is_active else _("Disabled")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        # Whoever registers it, in the language they use the admin in (both can be changed).
        return {"owner": request.user.pk, "language": current_language()}

    def save_model(self, request: HttpRequest, obj: Endpoint, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        new = services.create_endpoint(
            name=form.cleaned_data["name"],
            url=form.cleaned_data["url"],
            event_types=form.cleaned_data["event_types"],
            owner=form.cleaned_data["owner"] or request.user,
            language=form.cleaned_data["language"],
            now=timezone.now(),
        )
        for field in Endpoint._meta.concrete_fields:
            setattr(obj, field.attname, getattr(new.endpoint, field.attname))
        obj._state.adding = False
        request._webhook_secret = new.secret  # only for response_add, on this request

    def response_add(self, request: HttpRequest, obj: Endpoint, post_url_continue=None):
        secret = getattr(request, "_webhook_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return _secret_page(request, self, obj, secret)

    def get_urls(self):
        rotate = self.admin_site.admin_view(require_POST(self.rotate_secret_view))
        return [
            path("<int:pk>/rotate-secret/", rotate, name="webhooks_endpoint_rotate_secret"),
            *super().get_urls(),
        ]

    def rotate_secret_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        endpoint = get_object_or_404(Endpoint, pk=pk)
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        return _secret_page(request, self, endpoint, services.rotate_secret(endpoint=endpoint))

    @admin.action(description=_("Enable the selected endpoints"), permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        count = services.enable_endpoints(endpoint_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            ngettext("%(count)d endpoint enabled.", "%(count)d endpoints enabled.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Disable the selected endpoints"), permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        count = services.disable_endpoints(
            endpoint_ids=list(queryset.values_list("pk", flat=True)), now=timezone.now()
        )
        self.message_user(
            request,
            ngettext("%(count)d endpoint disabled.", "%(count)d endpoints disabled.", count)
            % {"count": count},
            messages.SUCCESS,
        )


class AttemptInline(admin.TabularInline):
    model = Attempt
    fields = ["started_at", "response_code", "duration_ms", "error_said"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("error"))
    def error_said(self, attempt: Attempt) -> str:
        return selectors.delivery_error_message(attempt.error)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: one row per (event, endpoint), with its attempts. Read only, but for
    "redeliver"."""

    list_display = [
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_response_code",
        "last_error_said",
        "next_attempt_at",
    ]
    list_filter = ["status", "endpoint", "event_type"]
    search_fields = ["event_id"]
    list_select_related = ["endpoint"]
    fields = [
        "event_id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "delivered_at",
        "last_response_code",
        "last_error_said",
        "body",
    ]
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["redeliver"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("last error"))
    def last_error_said(self, delivery: Delivery) -> str:
        return selectors.delivery_error_message(delivery.last_error)

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        # Read only: the change permission is for "redeliver", not for editing a delivery.
        extra_context = {**(extra_context or {}), "show_save": False}
        extra_context |= {"show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Redeliver the selected deliveries"), permissions=["change"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        count = services.redeliver(delivery_ids=ids, now=timezone.now())
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery queued again.", "%(count)d deliveries queued again.", count
            )
            % {"count": count},
            messages.SUCCESS,
        )
        if count < len(ids):
            self.message_user(
                request,
                _(
                    "Deliveries still on their way, or of disabled endpoints, were left as they "
                    "are."
                ),
                messages.WARNING,
            )
