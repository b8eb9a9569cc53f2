"""The staff desk (/desk/): the queue, a case, replies, notes, status and assignment."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import selectors, services
from cases.forms import (
    ArticleSearchForm,
    AssignForm,
    BulkStatusForm,
    DeskPreferencesForm,
    DraftForm,
    InsertForm,
    NoteForm,
    QueueFilterForm,
    ReplyForm,
    StatusForm,
)
from cases.models import Attachment, Case
from cases.services import desk as desk_services
from cases.uploads import file_response, keep_uploads, with_kept_files_token
from foundation.permissions import staff_permission_required
from foundation.view_types import HtmxHttpRequest

CHANGE = "cases.change_case"


@require_GET
@staff_permission_required(CHANGE)
def queue(request: HtmxHttpRequest) -> HttpResponse:
    filters = QueueFilterForm(request.GET).filters(user_id=request.user.pk)
    if filters.query:
        cases = selectors.desk_search(filters.query)
    else:
        cases = list(selectors.desk_queue(filters)[:200])
    context = {
        "cases": selectors.with_desk_flags(cases),
        "filters": filters,
        "query": filters.query,
        "params": request.GET,
        "statuses": selectors.desk_status_choices(),
        "alerts": selectors.unseen_alerts(request.user.pk),
        "reasons": selectors.top_level_reasons(),
        "teams": selectors.teams(),
        "bulk_form": BulkStatusForm(),
    }
    template = "cases/desk/queue.html#rows" if request.htmx else "cases/desk/queue.html"
    return render(request, template, context)


@require_POST
@staff_permission_required(CHANGE)
def bulk_status(request: HtmxHttpRequest) -> HttpResponse:
    form = BulkStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose some cases and a status."))
        return redirect("cases:desk")
    changed, refused = services.change_case_statuses(
        cases=form.cleaned_data["cases"], status=form.cleaned_data["status"], actor=request.user
    )
    said = ngettext("%(count)d case changed.", "%(count)d cases changed.", changed) % {
        "count": changed
    }
    if refused:
        said += " " + ngettext(
            "%(count)d could not move to that status.",
            "%(count)d could not move to that status.",
            refused,
        ) % {"count": refused}
    messages.success(request, said)
    return redirect("cases:desk")


def _case_or_404(reference: str) -> Case:
    case = selectors.case_for_desk(reference)
    if case is None:
        raise Http404
    return case


def _detail_context(
    request: HtmxHttpRequest, case: Case, article_query: str | None = None, **forms
) -> dict:
    if article_query is None:
        article_query = ArticleSearchForm(request.GET).query()
    reply_form = forms.get("reply_form")
    if reply_form is None:
        text = selectors.reply_draft(user_id=request.user.pk, case_id=case.pk)
        reply_form = ReplyForm(initial={"body": text})
    return {
        "case": case,
        "next": selectors.next_step(case),
        "customer": selectors.customer_context(case),
        "told": selectors.desk_customer_notices(case),
        "saved_replies": selectors.saved_replies_for(case),
        "article_query": article_query,
        "articles": selectors.desk_article_search(article_query, case.language),
        "reply_form": reply_form,
        "draft_version": selectors.draft_version(
            user_id=request.user.pk, case_id=case.pk, events=case.all_events
        ),
        "note_form": forms.get("note_form") or NoteForm(),
        "status_form": StatusForm(initial={"status": case.status}),
        "statuses": selectors.desk_status_choices(),
        "staff": selectors.assignable_staff(case),
        "teams": selectors.teams(),
    }


@require_GET
@staff_permission_required(CHANGE)
def case_detail(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """The case; with htmx and ``articles``, only the articles found to link (the reply box
    the person may be typing in is left alone)."""
    case = _case_or_404(reference)
    if request.htmx and "articles" in request.GET:
        query = ArticleSearchForm(request.GET).query()
        context = {
            "case": case,
            "article_query": query,
            "articles": selectors.desk_article_search(query, case.language),
        }
        return render(request, "cases/desk/case_detail.html#article_results", context)
    desk_services.mark_alerts_seen(user=request.user, case=case)
    return render(request, "cases/desk/case_detail.html", _detail_context(request, case))


def _case_url(reference: str, article_query: str = "") -> str:
    url = reverse("cases:desk_case", kwargs={"reference": reference})
    return url + (f"?{urlencode({'articles': article_query})}" if article_query else "")


def _after_change(request: HtmxHttpRequest, reference: str, **forms) -> HttpResponse:
    case = _case_or_404(reference)
    if request.htmx:
        return render(
            request,
            "cases/desk/case_detail.html#workspace",
            _detail_context(request, case, **forms),
        )
    if any(form is not None and form.errors for form in forms.values()):
        # Without JavaScript a form refused is shown again with its reasons and what it held
        # (a redirect would drop both).
        context = _detail_context(request, case, **forms)
        context["page_url"] = _case_url(reference)
        return render(request, "cases/desk/case_detail.html", context)
    return redirect("cases:desk_case", reference=reference)


@require_POST
@staff_permission_required(CHANGE)
def case_reply(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """A public reply, with files: a refused file stops the reply with the reason, and the
    text and the other files stay in the form."""
    case = _case_or_404(reference)
    data = with_kept_files_token(request.POST, "upload_token")
    token = data["upload_token"][:64]
    refused = keep_uploads(
        request, token, source=Attachment.Source.DESK, case=case, actor=request.user
    )
    form = ReplyForm(data, refused_files=refused)
    if form.is_valid():
        try:
            services.reply_to_customer(
                case=case,
                body=form.cleaned_data["body"],
                status=form.cleaned_data["status"],
                actor=request.user,
                attachments_token=token,
            )
            form = None
            messages.success(request, _("Reply sent."))
        except ValidationError as error:
            form.add_error(None, error)
    response = _after_change(request, reference, reply_form=form)
    if request.htmx and form is None:
        # Sent from the bottom of a long page: back to its top, where the message says so and
        # the status shows what the reply made of it (a refusal stays by the reply box).
        response["HX-Reswap"] = "innerHTML show:#workspace:top"
    return response


@require_POST
@staff_permission_required(CHANGE)
def case_note(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(reference)
    form = NoteForm(request.POST)
    if form.is_valid():
        services.add_internal_note(case=case, body=form.cleaned_data["body"], actor=request.user)
        form = None
    return _after_change(request, reference, note_form=form)


@require_POST
@staff_permission_required(CHANGE)
def case_status(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(reference)
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            services.change_case_status(
                case=case, status=form.cleaned_data["status"], actor=request.user
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    return _after_change(request, reference)


@require_POST
@staff_permission_required(CHANGE)
def case_assign(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(reference)
    form = AssignForm(request.POST, case=case)
    form.is_valid()  # never invalid: a choice that is gone is no one
    services.assign_case(
        case=case,
        assignee=form.cleaned_data["assignee"],
        team=form.cleaned_data["team"],
        actor=request.user,
    )
    return _after_change(request, reference)


@require_POST
@staff_permission_required(CHANGE)
def case_draft(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """Keep the reply box's text (htmx on input, or the "Save draft" button without it; with
    ``quiet``, desk.js's beacon as the page closes, which wants no answer and no message)."""
    case = _case_or_404(reference)
    form = DraftForm(request.POST)
    try:
        draft = desk_services.save_reply_draft(
            user=request.user, case=case, body=form.text(), based_on=form.version()
        )
    except ValidationError as error:
        if request.POST.get("quiet"):
            return HttpResponse(status=204)
        if request.htmx:
            context = {"refused": " ".join(error.messages)}
            return render(request, "cases/desk/partials/draft_saved.html", context)
        # Without JavaScript: the page again, the text (and any files) still in its box.
        token = _keep_box_files(request, case)
        return _page_keeping_the_box(request, case, error, body=form.text(), token=token)
    if request.POST.get("quiet"):
        return HttpResponse(status=204)
    if request.htmx:
        return render(request, "cases/desk/partials/draft_saved.html", {"draft": draft})
    messages.success(request, _("Draft saved."))
    # Without JavaScript the button posts the whole box: files picked stay with it.
    token = _keep_box_files(request, case)
    if selectors.staged_files(token):
        return _page_keeping_the_box(request, case, None, body=form.text(), token=token)
    return redirect("cases:desk_case", reference=reference)


def _keep_box_files(request: HtmxHttpRequest, case: Case) -> str:
    """Keep the files the reply box brought under its one-time token; the token."""
    token = with_kept_files_token(request.POST, "upload_token")["upload_token"][:64]
    keep_uploads(request, token, source=Attachment.Source.DESK, case=case, actor=request.user)
    return token


def _page_keeping_the_box(
    request: HtmxHttpRequest,
    case: Case,
    error: ValidationError | None,
    *,
    body: str,
    token: str = "",
    article_query: str = "",
) -> HttpResponse:
    """The case page drawn as the answer to a post of its reply box, holding what the box had:
    its text, the files it had kept and the status chosen."""
    if error is not None:
        messages.error(request, " ".join(error.messages))
    initial = {"body": body, "status": request.POST.get("status", "")}
    if token:
        initial["upload_token"] = token
    context = _detail_context(
        request, case, article_query=article_query, reply_form=ReplyForm(initial=initial)
    )
    # Where the language switch goes back to: this page's own address, not the POST's.
    context["page_url"] = _case_url(case.reference, article_query)
    return render(request, "cases/desk/case_detail.html", context)


@require_POST
@staff_permission_required(CHANGE)
def case_insert(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """Add a saved reply or a link to an article at the end of the reply box, kept as a draft;
    or, with ``find``, look for articles to link, the box kept as a draft meanwhile.

    What the insert buttons and "Find articles" do without JavaScript (desk.js puts the text
    in where the cursor is, in the page, and htmx finds articles without touching the box).
    The page follows by a redirect; drawn in answer instead when that would lose something:
    files the box had kept (their one-time token is no query string's business) or a text
    that could not be kept as a draft.
    """
    case = _case_or_404(reference)
    form = InsertForm(request.POST)
    body = form.text()
    addition = selectors.saved_reply_for(
        form.cleaned_data.get("saved_reply"), case
    ) or selectors.article_link_text(form.cleaned_data.get("article"))
    if addition:
        body = selectors.with_text_added(body, addition)
    refused = None
    if addition or "find" in request.POST:
        try:
            desk_services.save_reply_draft(
                user=request.user, case=case, body=body, based_on=form.version()
            )
        except ValidationError as error:
            refused = error
    # The reply box is drawn again: the files it had picked or kept stay with it.
    token = _keep_box_files(request, case)
    query = form.article_query()
    if request.htmx:
        reply_form = ReplyForm(initial={"body": body, "upload_token": token})
        return _after_change(request, reference, reply_form=reply_form)
    if refused is not None or selectors.staged_files(token):
        return _page_keeping_the_box(
            request, case, refused, body=body, token=token, article_query=query
        )
    return redirect(_case_url(reference, query) + "#reply")


@require_http_methods(["GET", "POST"])
@staff_permission_required(CHANGE)
def preferences(request: HtmxHttpRequest) -> HttpResponse:
    """How this person is told about their customers' replies."""
    current = selectors.desk_preferences(request.user)
    if request.method == "POST":
        form = DeskPreferencesForm(request.POST)
        if form.is_valid():
            desk_services.save_desk_preferences(user=request.user, **form.cleaned_data)
            messages.success(request, _("Preferences saved."))
            return redirect("cases:desk_preferences")
    else:
        form = DeskPreferencesForm(
            initial={"email_alerts": current.email_alerts, "language": current.language}
        )
    return render(request, "cases/desk/preferences.html", {"form": form})


@require_GET
@staff_permission_required(CHANGE)
def attachment(request: HtmxHttpRequest, reference: str, key) -> HttpResponse:
    """A file of the case, for staff who may handle cases."""
    return file_response(selectors.attachment_for_desk(reference, key))


@require_GET
@staff_permission_required(CHANGE)
def attachment_thumbnail(request: HtmxHttpRequest, reference: str, key) -> HttpResponse:
    return file_response(selectors.attachment_for_desk(reference, key), thumbnail=True)
