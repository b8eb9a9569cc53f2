"""The staff desk (/desk/): the queue, a case, replies, notes, status and assignment."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases import selectors, services
from cases.forms import BulkStatusForm, NoteForm, ReplyForm, StatusForm
from cases.models import Case, ContactReason, Team
from helpcenter.parsing import parse_id
from helpcenter.permissions import staff_permission_required
from helpcenter.view_types import HtmxHttpRequest

CHANGE = "cases.change_case"


@require_GET
@staff_permission_required(CHANGE)
def queue(request: HtmxHttpRequest) -> HttpResponse:
    params = request.GET
    status = params.get("status", "")
    filters = selectors.QueueFilters(
        status=status if status in Case.Status.values else "",
        reason=parse_id(params.get("reason", "")),
        team=parse_id(params.get("team", "")),
        assignee=request.user.pk
        if params.get("assignee") == "me"
        else parse_id(params.get("assignee", "")),
        overdue=params.get("overdue") == "1",
        waiting=params.get("waiting") == "1",
    )
    cases = list(selectors.desk_queue(filters)[:200])
    context = {
        "cases": cases,
        "filters": filters,
        "params": params,
        "statuses": Case.Status.choices,
        "reasons": ContactReason.objects.filter(parent__isnull=True).order_by("position"),
        "teams": Team.objects.all(),
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
    changed, refused = 0, 0
    for case in form.cleaned_data["cases"]:
        try:
            services.change_case_status(
                case=case, status=form.cleaned_data["status"], actor=request.user
            )
            changed += 1
        except ValidationError:
            refused += 1
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
        "staff": get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .order_by("username"),
        "teams": Team.objects.all(),
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
    assignee = (
        get_user_model()
        .objects.filter(pk=parse_id(request.POST.get("assignee", "")), is_staff=True)
        .first()
    )
    team = Team.objects.filter(pk=parse_id(request.POST.get("team", ""))).first()
    services.assign_case(case=case, assignee=assignee, team=team, actor=request.user)
    return _after_change(request, reference)
