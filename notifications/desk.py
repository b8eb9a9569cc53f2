"""Staff pages to compose, preview, test, publish and follow announcements (/desk/notices/)."""

import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import selectors as case_selectors
from foundation.permissions import staff_permission_required
from foundation.view_types import HtmxHttpRequest
from notifications import selectors
from notifications.forms import AnnouncementForm, EmailToMyselfForm, PublishForm, UpdateForm
from notifications.models import Announcement, Dispatch
from notifications.services import announcements as services
from notifications.services.outbox import retry_failed_messages
from notifications.templates_library import STARTING_POINTS

CHANGE = "notifications.change_announcement"


def _announcement_or_404(pk: int) -> Announcement:
    announcement = selectors.announcement_for_desk(pk)
    if announcement is None:
        raise Http404
    return announcement


def _dispatch_or_404(pk: int) -> Dispatch:
    dispatch = selectors.dispatch_for_desk(pk)
    if dispatch is None:
        raise Http404
    return dispatch


@require_GET
@staff_permission_required(CHANGE)
def announcement_list(request: HtmxHttpRequest) -> HttpResponse:
    announcements = selectors.desk_announcements()
    return render(
        request,
        "notifications/desk/announcement_list.html",
        {"announcements": announcements, "starting_points": STARTING_POINTS},
    )


LINK_TAG = re.compile(r"<a\b")


def _previews(announcement: Announcement) -> list[dict]:
    """The banner and the email, in both languages, exactly as customers will see them."""
    texts = services.render_mailing(announcement, None)
    previews = []
    for language, name in (("es", "Español"), ("en", "English")):
        with translation.override(language):
            banner = render_to_string(
                "notifications/partials/banner.html", {"banner": announcement, "preview": True}
            )
        previews.append(
            {
                "language": language,
                "name": name,
                "banner": banner,
                "subject": texts["subjects"][language],
                "text": texts["bodies_text"][language],
                # Its links open in a new tab: inside the sandboxed frame they would load our
                # own pages, which refuse to be framed, and leave a broken frame.
                "html": LINK_TAG.sub('<a target="_blank"', texts["bodies_html"][language]),
            }
        )
    return previews


def area_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The contact reasons a notice may affect, grouped under their parent: the whole group
    first (its code covers every reason in it), then each reason."""
    return [
        (
            parent.name,
            [
                (parent.code, _("All of “%(group)s”") % {"group": parent.name}),
                *[(reason.code, reason.name) for reason in reasons],
            ],
        )
        for parent, reasons in case_selectors.reason_groups()
    ]


@require_http_methods(["GET", "POST"])
@staff_permission_required(CHANGE)
def announcement_compose(request: HtmxHttpRequest, pk: int | None = None) -> HttpResponse:
    announcement = _announcement_or_404(pk) if pk else None
    initial = {}
    if announcement is None:
        initial = STARTING_POINTS.get(request.GET.get("template", ""), {}).get("fields", {})
    form = AnnouncementForm(
        request.POST or None, instance=announcement, initial=initial, area_choices=area_choices()
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_announcement(
                announcement=form.save(commit=False), actor=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Saved. Check the previews below, then publish."))
            return redirect("notifications:desk_edit", pk=saved.pk)
    context = {"form": form, "announcement": announcement}
    if announcement is not None:
        context.update(
            previews=_previews(announcement),
            reach=services.reach(announcement),
            unfilled=[
                capfirst(Announcement._meta.get_field(name).verbose_name)
                for name in services.unfilled_placeholders(announcement)
            ],
            publish_form=PublishForm(),
            update_form=UpdateForm(
                initial={"phase": services.next_phase(announcement)},
                kind=announcement.kind,
                prefix="update",
            ),
            progress=selectors.announcement_progress(announcement),
            alerts=selectors.alerts_of(announcement) if announcement.opened_by_rule_id else [],
            silent_ending=selectors.silent_ending(announcement)
            if announcement.opened_by_rule_id
            else None,
        )
    return render(request, "notifications/desk/announcement_compose.html", context)


def _problems(error: ValidationError) -> str:
    """A ValidationError keyed by field, one sentence per problem: "Text (Spanish), text
    (English): fill in …"."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    fields_by_problem: dict[str, list[str]] = {}
    for name, problems in error.message_dict.items():
        for problem in problems:
            label = str(Announcement._meta.get_field(name).verbose_name)
            fields_by_problem.setdefault(problem, []).append(label)
    return " ".join(
        f"{capfirst(', '.join(labels))}: {problem}" for problem, labels in fields_by_problem.items()
    )


@require_POST
@staff_permission_required(CHANGE)
def announcement_publish(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    announcement = _announcement_or_404(pk)
    form = PublishForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The publication date is not valid."))
        return redirect("notifications:desk_edit", pk=pk)
    try:
        announcement = services.publish_announcement(
            announcement=announcement, actor=request.user, at=form.cleaned_data["publish_at"]
        )
    except ValidationError as error:
        messages.error(request, _("Not published. %(problems)s") % {"problems": _problems(error)})
    else:
        if announcement.publication == Announcement.Publication.SCHEDULED:
            messages.success(request, _("Scheduled: it will be published at the chosen time."))
        else:
            messages.success(
                request, _("Published: it is on the site and the emails are on their way.")
            )
    return redirect("notifications:desk_edit", pk=pk)


@require_POST
@staff_permission_required(CHANGE)
def announcement_test(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    announcement = _announcement_or_404(pk)
    if not request.user.email:
        messages.error(request, _("Your account has no email address to send the test to."))
    else:
        services.send_test_email(
            announcement=announcement,
            recipient=request.user.email,
            language=EmailToMyselfForm(request.POST).chosen_language(),
        )
        messages.success(
            request, _("A test email is on its way to %(email)s.") % {"email": request.user.email}
        )
    return redirect("notifications:desk_edit", pk=pk)


@require_POST
@staff_permission_required(CHANGE)
def announcement_update(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    announcement = _announcement_or_404(pk)
    # Its own prefix: the compose form on the same page has body_es and body_en too.
    form = UpdateForm(request.POST, kind=announcement.kind, prefix="update")
    if form.is_valid():
        services.post_update(announcement=announcement, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Update posted."))
    else:
        messages.error(request, _("An update needs its text in both languages."))
    return redirect("notifications:desk_edit", pk=pk)


@require_POST
@staff_permission_required(CHANGE)
def announcement_withdraw(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    services.withdraw_announcement(announcement=_announcement_or_404(pk), actor=request.user)
    messages.success(request, _("Withdrawn: it is no longer shown as current."))
    return redirect("notifications:desk_edit", pk=pk)


@require_GET
@staff_permission_required(CHANGE)
def dispatch_progress(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    progress = selectors.dispatch_progress(_dispatch_or_404(pk))
    return render(request, "notifications/desk/partials/progress.html", {"item": progress})


@require_POST
@staff_permission_required(CHANGE)
def dispatch_retry(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    dispatch = _dispatch_or_404(pk)
    count = retry_failed_messages(dispatch_id=dispatch.pk)
    messages.success(
        request,
        ngettext(
            "%(count)d failed email queued again.", "%(count)d failed emails queued again.", count
        )
        % {"count": count},
    )
    return redirect("notifications:desk_edit", pk=dispatch.announcement_id)
