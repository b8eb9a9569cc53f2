"""The staff desk (/desk/): the queue, a case, replies, notes, status and assignment."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases import selectors, services
from cases.forms import AssignForm, BulkStatusForm, NoteForm, QueueFilterForm, ReplyForm, StatusForm
from cases.models import Case
from helpcenter.permissions import staff_permission_required
from helpcenter.view_types import HtmxHttpRequest

CHANGE = "cases.change_case"


@require_GET
@staff_permission_required(CHANGE)
def queue(request: HtmxHttpRequest) -> HttpResponse:
    filters = QueueFilterForm(request.GET).filters(user_id=request.user.pk)
    cases = list(selectors.desk_queue(filters)[:200])
    context = {
        "cases": cases,
        "filters": filters,
        "params": request.GET,
        "statuses": Case.Status.choices,
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
    messages.success(
        request,
        _("%(changed)d cases changed, %(refused)d could not move to that status.")
        % {"changed": changed, "refused": refused},
    )
    return redirect("cases:desk")


def _case_or_404(reference: str) -> Case:
    case = selectors.case_for_desk(reference)
    if case is None:
        raise Http404
    return case


def _detail_context(case: Case, **forms) -> dict:
    return {
        "case": case,
        "next": selectors.next_step(case),
        "reply_form": forms.get("reply_form") or ReplyForm(),
        "note_form": forms.get("note_form") or NoteForm(),
        "status_form": StatusForm(initial={"status": case.status}),
        "staff": selectors.desk_staff(),
        "teams": selectors.teams(),
    }


@require_GET
@staff_permission_required(CHANGE)
def case_detail(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    return render(request, "cases/desk/case_detail.html", _detail_context(_case_or_404(reference)))


def _after_change(request: HtmxHttpRequest, reference: str, **forms) -> HttpResponse:
    case = _case_or_404(reference)
    if request.htmx:
        return render(
            request, "cases/desk/case_detail.html#workspace", _detail_context(case, **forms)
        )
    return redirect("cases:desk_case", reference=reference)


@require_POST
@staff_permission_required(CHANGE)
def case_reply(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(reference)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            services.reply_to_customer(
                case=case,
                body=form.cleaned_data["body"],
                status=form.cleaned_data["status"],
                actor=request.user,
            )
            form = None
        except ValidationError as error:
            form.add_error(None, error)
    return _after_change(request, reference, reply_form=form)


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
    form = AssignForm(request.POST)
    form.is_valid()  # never invalid: a choice that is gone is no one
    services.assign_case(
        case=case,
        assignee=form.cleaned_data["assignee"],
        team=form.cleaned_data["team"],
        actor=request.user,
    )
    return _after_change(request, reference)
