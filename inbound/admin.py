"""Staff's view of the mail that came in: everything, with its original (the ``.eml``), and
what needs a person: held mail (a reply from another sender or with no new text, too many new
cases from one address, a sender who could not be authenticated) and mail that could not be
processed. Nothing is deleted here."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from inbound import selectors, services
from inbound.models import InboundMessage


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "status",
        "outcome",
        "sender",
        "subject",
        "case",
        "attachment_count",
        "source",
        "times_received",
    ]
    list_filter = ["status", "outcome", "sender_auth", "source"]
    search_fields = ["sender", "subject", "message_id", "case__reference"]
    list_select_related = ["case"]
    date_hierarchy = "received_at"
    actions = ["accept_selected", "dismiss_selected", "retry_selected"]
    fields = [
        "received_at",
        "status",
        "outcome",
        "detail",
        "sender",
        "sender_authentication",
        "subject",
        "body",
        "files",
        "case",
        "case_event",
        "original",
        "headers",
        "source",
        "source_reference",
        "message_id",
        "times_received",
        "attempts",
        "processed_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest):
        # The originals can be megabytes each: a list of 100 reads none of them.
        return super().get_queryset(request).defer("raw")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the original is kept: dismiss instead

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_review_permission(self, request: HttpRequest) -> bool:
        """Accepting, dismissing and retrying mail is desk work: it needs the desk's permission."""
        return self.has_view_permission(request) and request.user.has_perm("cases.change_case")

    def changelist_view(self, request: HttpRequest, extra_context=None):
        backlog = selectors.inbound_backlog()
        if backlog["for_staff"] and not request.GET:
            self.message_user(
                request,
                ngettext(
                    "%(count)d message needs a person (held or could not be processed).",
                    "%(count)d messages need a person (held or could not be processed).",
                    backlog["for_staff"],
                )
                % {"count": backlog["for_staff"]},
                messages.WARNING,
            )
        if backlog["late"]:
            self.message_user(
                request,
                ngettext(
                    "%(count)d message has waited more than five minutes for the worker.",
                    "%(count)d messages have waited more than five minutes for the worker.",
                    backlog["late"],
                )
                % {"count": backlog["late"]},
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:message_id>/original.eml",
                self.admin_site.admin_view(self.download_original),
                name="inbound_inboundmessage_original",
            ),
            *super().get_urls(),
        ]

    def download_original(self, request: HttpRequest, message_id: int) -> HttpResponse:
        """The message exactly as it arrived, as a file (never shown as a page)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        message = get_object_or_404(InboundMessage, pk=message_id)
        response = HttpResponse(bytes(message.raw), content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="message-{message.pk}.eml"'
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @admin.display(description=_("original message"))
    def original(self, obj: InboundMessage) -> str:
        url = reverse("admin:inbound_inboundmessage_original", args=[obj.pk])
        return format_html('<a href="{}">{}</a> ({} bytes)', url, _("Download (.eml)"), obj.size)

    @admin.display(description=_("headers"))
    def headers(self, obj: InboundMessage) -> str:
        raw = bytes(obj.raw).replace(b"\r\n", b"\n")
        head = raw.partition(b"\n\n")[0][:20000]
        return format_html("<pre>{}</pre>", head.decode("utf-8", errors="replace"))

    @admin.display(description=_("sender authentication"))
    def sender_authentication(self, obj: InboundMessage) -> str:
        if not obj.sender_auth:
            return obj.get_sender_auth_display()
        return format_html(
            "<strong>{}</strong>: {}",
            obj.get_sender_auth_display(),
            selectors.sender_auth_message(obj.sender_auth_reason),
        )

    @admin.display(description=_("attachments"))
    def files(self, obj: InboundMessage) -> str:
        rows = selectors.file_rows(obj)
        if not rows:
            return "-"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} ({}, {}): {}</li>",
                (
                    (
                        row.get("name") or "-",
                        row.get("content_type") or "?",
                        filesizeformat(row.get("size") or 0),
                        row["why"] or (_("attached") if row.get("attachment") else "-"),
                    )
                    for row in rows
                ),
            ),
        )

    @admin.display(description=_("files"))
    def attachment_count(self, obj: InboundMessage) -> int:
        return len(obj.attachments or [])

    @admin.action(
        permissions=["review"], description=_("Accept the selected held messages as the customer's")
    )
    def accept_selected(self, request: HttpRequest, queryset) -> None:
        accepted = 0
        for message in queryset.filter(status=InboundMessage.Status.HELD):
            try:
                services.accept_held_message(message_id=message.pk, actor=request.user)
                accepted += 1
            except ValidationError as error:
                self.message_user(request, f"{message}: {error.messages[0]}", messages.ERROR)
        self.message_user(
            request,
            ngettext("%d message accepted.", "%d messages accepted.", accepted) % accepted,
            messages.SUCCESS,
        )

    @admin.action(
        permissions=["review"],
        description=_("Dismiss the selected messages (the originals are kept)"),
    )
    def dismiss_selected(self, request: HttpRequest, queryset) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        count = services.dismiss_messages(message_ids=ids, actor=request.user)
        self.message_user(
            request,
            ngettext("%d message dismissed.", "%d messages dismissed.", count) % count,
            messages.SUCCESS,
        )

    @admin.action(
        permissions=["review"], description=_("Process the selected unprocessed messages again")
    )
    def retry_selected(self, request: HttpRequest, queryset) -> None:
        count = services.retry_messages(message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            ngettext("%d message queued again.", "%d messages queued again.", count) % count,
            messages.SUCCESS,
        )
