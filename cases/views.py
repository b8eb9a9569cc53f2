from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import selectors, services
from cases.forms import (
    CaseAnswerForm,
    ContactForm,
    DuplicateChoiceForm,
    FindCaseForm,
    FollowIncidentForm,
    MessageForm,
    RatingForm,
    ReopenForm,
    SolvedForm,
    UpdatesForm,
)
from cases.models import Attachment, Case
from cases.services import ContactOutcome
from cases.uploads import file_response, keep_uploads, with_kept_files_token
from foundation import counters
from foundation.i18n import current_language
from foundation.markdown import markdown_to_text
from foundation.parsing import parse_id
from foundation.ratelimit import client_address_key
from foundation.view_types import HtmxHttpRequest
from foundation.visitors import visitor_hash
from kb import selectors as kb
from notifications import selectors as notices


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- Contact form ---------------------------------------------------------------------------


def _contact_context(form: ContactForm, request: HtmxHttpRequest, known) -> dict:
    """What the contact page shows around the form: the hours, whose case this browser knows,
    the reply time for the chosen reason and, first of all, a live problem that affects it."""
    context = {
        "form": form,
        "status": notices.service_status(),
        "known_case": known,
        "in_form": True,
    }
    reason = form.chosen_reason()
    if reason is not None:
        context["expectation"] = selectors.contact_expectation(reason.pk)
        context["problem"] = _problem_for(reason, request)
        context.update(_told(reason, request, known))
    return context


def _told(reason, request: HtmxHttpRequest, known=None) -> dict:
    """A notice we already sent this customer about ``reason`` (issue 18, item 5): the link
    in its email names it (``?notice=``), or this browser opened the customer's case link.
    With the open case about it this browser knows, to write on rather than open another."""
    told = selectors.notice_for_contact(
        reason=reason, token=request.GET.get("notice", ""), session=request.session
    )
    if told is None:
        return {}
    same = (
        known is not None
        and known.reason_id == told.reason_id
        and known.customer_email.lower() == told.customer_email.lower()
    )
    return {
        "told": told,
        "told_token": selectors.notice_token(told),
        "told_case": known if same and known.status in known.OPEN_STATUSES else None,
    }


def _problem_for(reason, request: HtmxHttpRequest) -> dict | None:
    problems = notices.live_problems_for_areas(reason.areas, request=request)
    if not problems:
        return None
    return {
        "incident": problems[0],
        "summary": markdown_to_text(problems[0].body),
        "next_update": notices.next_incident_update(problems[0]),
        "form": FollowIncidentForm(initial={"incident": problems[0].pk, "reason": reason.pk}),
    }


@require_http_methods(["GET", "POST"])
def contact(request: HtmxHttpRequest) -> HttpResponse:
    """The contact form, Post/Redirect/Get: a submission that did something redirects to a
    page that can be reloaded; its one-time token makes a repeated submission do nothing."""
    known = selectors.known_customer_case(request.session)
    initial = {"name": known.customer_name, "email": known.customer_email} if known else {}
    if reason_id := parse_id(request.GET.get("reason", "")):
        initial["reason"] = reason_id
    refused: list[str] = []
    data = None
    if request.method == "POST":
        data = with_kept_files_token(request.POST, "submission")
        # The files are kept under the form's token before anything else is checked: a form
        # shown again (another field to fix, a known incident first) still has them.
        refused = keep_uploads(
            request, data["submission"][:64], source=Attachment.Source.CONTACT_FORM
        )
    form = ContactForm(data, initial=initial, refused_files=refused)
    if request.method != "POST" or not form.is_valid():
        if not form.is_bound:
            counters.increment(counters.Counter.CONTACT_FORM_OPENED)
        return render(request, "cases/contact.html", _contact_context(form, request, known))

    data = form.cleaned_data
    outcome = services.submit_contact(
        reason=data["reason"],
        subject=data["subject"] or data["reference"],
        description=data["description"],
        name=data["name"],
        email=data["email"],
        duplicate_choice=DuplicateChoiceForm(request.POST).choice(),
        submission_token=data["submission"],
        incident_seen=data["incident"],
        language=current_language(),
        visitor_hash=visitor_hash(request),
        address_key=client_address_key(request),
        verified_case_ids=selectors.session_case_ids(request.session, proven_only=True),
    )
    context = _contact_context(form, request, known)
    kind = outcome.kind
    if kind == ContactOutcome.Kind.ALREADY_SUBMITTED:
        kind = outcome.previous
    match kind:
        case ContactOutcome.Kind.LIMITED:
            form.add_error(
                None,
                _(
                    "We have had several messages from here in the last hour. "
                    "Please try again later."
                ),
            )
            return render(request, "cases/contact.html", context, status=429)
        case ContactOutcome.Kind.INCIDENT_KNOWN:
            return render(request, "cases/contact.html", {**context, "stopped": True})
        case ContactOutcome.Kind.STATUS_LINK_SENT:
            return redirect("cases:contact_links_sent")
        case ContactOutcome.Kind.ADDED_TO_CASE:
            return redirect("cases:status", reference=outcome.case.reference)
        case ContactOutcome.Kind.DUPLICATE_FOUND:
            return render(
                request, "cases/contact_duplicate.html", {**context, "duplicate": outcome.case}
            )
    # Opened: this browser may see the case it has just written, but not our replies: anyone
    # can type someone else's address, and only the emailed link proves it (an unproven grant).
    services.grant_submission_access(request.session, outcome.case)
    return redirect("cases:contact_received", reference=outcome.case.reference)


@never_cache
@require_GET
def contact_received(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """ "We have your case": the page a new case redirects to (reloading it does nothing)."""
    case = selectors.case_for_session(request.session, reference)
    if case is None:
        return _locked(request)
    return _no_store(
        render(
            request,
            "cases/contact_done.html",
            {"case": case, "status": notices.service_status()},
        )
    )


@require_GET
def contact_links_sent(request: HtmxHttpRequest) -> HttpResponse:
    """A question about a case was answered with its links (the page a reload may repeat)."""
    return render(request, "cases/contact_status_link.html", {})


@require_http_methods(["GET", "POST"])
def follow_incident(request: HtmxHttpRequest) -> HttpResponse:
    """ "Tell me when it is fixed": follow the live incident instead of writing (GET shows the
    one-field form, for a visitor coming from search or a notice)."""
    if request.method == "GET":
        incident = notices.live_problem(parse_id(request.GET.get("incident", "")))
        problem = incident and {
            "incident": incident,
            "summary": markdown_to_text(incident.body),
            "next_update": notices.next_incident_update(incident),
            "form": FollowIncidentForm(initial={"incident": incident.pk}),
        }
        return render(request, "cases/follow_incident.html", {"problem": problem})
    form = FollowIncidentForm(request.POST)
    incident = notices.live_problem(
        form.data.get("incident") and parse_id(form.data.get("incident"))
    )
    if not form.is_valid() or incident is None:
        if request.htmx:
            error = (
                " ".join(m for errors in form.errors.values() for m in errors)
                if incident
                else _("This problem is already fixed, or the notice is gone.")
            )
            return render(request, "cases/partials/followed.html", {"error": error}, status=400)
        context = {"problem": {"incident": incident, "form": form}} if incident else {}
        return render(request, "cases/follow_incident.html", context, status=400)
    followed = services.follow_incident_instead(
        incident=incident,
        email=form.cleaned_data["email"],
        language=current_language(),
        address_key=client_address_key(request),
        reason=selectors.contact_reason(form.cleaned_data.get("reason")),
    )
    context = {"incident": incident, "followed": followed}
    template = "cases/partials/followed.html" if request.htmx else "cases/follow_incident.html"
    return render(request, template, context, status=200 if followed else 429)


@require_GET
def contact_expectation(request: HtmxHttpRequest) -> HttpResponse:
    """The honest reply time for the chosen reason (htmx, as the reason is picked)."""
    expectation = selectors.contact_expectation(parse_id(request.GET.get("reason")))
    context = {"expectation": expectation, "in_form": True}
    if expectation is not None:
        context["problem"] = _problem_for(expectation.reason, request)
        told = _told(expectation.reason, request)
        # Not twice: the page may already lead with this notice (above the form).
        if told and str(told["told"].pk) != request.GET.get("told_shown"):
            context.update(told)
    return render(request, "cases/partials/expectation.html", context)


@require_POST
def notice_answered(request: HtmxHttpRequest) -> HttpResponse:
    """ "That answers it": a notice we had sent spared the customer writing to us."""
    notice = selectors.notice_from_token(request.POST.get("notice", ""))
    if notice is None:  # expired, or not a notice's token: the form, as if nothing happened
        return redirect("cases:contact")
    services.answered_by_notice(notice=notice)
    return render(request, "cases/contact_told.html", {})


@require_GET
def contact_suggestions(request: HtmxHttpRequest) -> HttpResponse:
    """Articles that may answer the subject being typed (htmx)."""
    text = request.GET.get("subject", "")[:200]
    reason = selectors.contact_reason(parse_id(request.GET.get("reason", "")))
    hits = (
        kb.suggest_articles(
            text=text,
            language=current_language(),
            article_keys=reason.article_keys if reason is not None else (),
        )
        if len(text.strip()) >= 3
        else []
    )
    if hits:
        counters.increment(counters.Counter.SUGGESTIONS_SHOWN, once_per=visitor_hash(request))
    problems = _problems_about(text, reason, request) if len(text.strip()) >= 3 else []
    return render(
        request,
        "cases/partials/suggestions.html",
        {
            "hits": hits,
            "problems": problems,
            "reason": reason.pk if reason else "",
            "subject": text,
        },
    )


def _problems_about(text: str, reason, request: HtmxHttpRequest) -> list:
    """Live problems the subject is about, or that affect the chosen reason: shown first."""
    found = notices.live_problems_about(text, request=request)
    if reason is not None:
        found += notices.live_problems_for_areas(reason.areas, request=request)
    return list(dict.fromkeys(found))[:2]


@require_POST
def contact_solved(request: HtmxHttpRequest) -> HttpResponse:
    """ "This solved it": an article answered the question; no case is opened."""
    counted = SolvedForm(request.POST).counted()
    services.record_article_deflection(
        reason=counted["reason"],
        article_key=counted["article_key"],
        subject=counted["subject"],
        language=current_language(),
        visitor_hash=visitor_hash(request),
        address_key=client_address_key(request),
    )
    template = "cases/partials/solved.html" if request.htmx else "cases/contact_solved.html"
    return render(request, template, {})


# --- Getting in -----------------------------------------------------------------------------


@require_POST
def forget_device(request: HtmxHttpRequest) -> HttpResponse:
    """ "Not you? Forget this device": this browser no longer opens any case."""
    services.forget_session_access(request.session)
    return redirect("cases:contact")


@never_cache
@require_http_methods(["GET", "HEAD"])
def access(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """Exchange an emailed link for a session scoped to its case, then a clean URL."""
    if request.method == "HEAD":
        # Link scanners (mail filters, chat previews) ask with HEAD: answer without looking
        # the link up, marking it used or starting a session (and without a 405 in the log).
        return _no_store(HttpResponse(content_type="text/html; charset=utf-8"))
    case, state, link = services.redeem_token_for_session(token=token)
    if state == "ok":
        services.grant_session_access(request.session, case, token=link)
        return _no_store(redirect("cases:status", reference=case.reference))
    # 200, not 404: an expired link is a normal event, and 4xx responses are logged with
    # their path, which here contains the token.
    context = {
        "expired": state == "expired",
        "token": token if state == "expired" else "",
        "form": FindCaseForm(),
    }
    return _no_store(render(request, "cases/link_expired.html", context))


@require_http_methods(["GET", "HEAD", "POST"])
def renew_link(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """An expired link asks for a fresh one, sent to the email on the case (never shown)."""
    if request.method != "POST":
        # Only the button posts here; a scanner or a reload is sent back to the link's page,
        # with no side effect.
        return _no_store(redirect("cases:access", token=token))
    services.renew_case_link(token=token)
    return _no_store(render(request, "cases/find_sent.html", {}))


@require_http_methods(["GET", "POST"])
def find_case(request: HtmxHttpRequest) -> HttpResponse:
    """Find my case (reference + email) or all my cases (email): always the same answer."""
    form = FindCaseForm(
        request.POST or None, initial={"reference": request.GET.get("reference", "")[:12]}
    )
    if request.method == "POST" and form.is_valid():
        asked = services.ask_for_case_links(
            email=form.cleaned_data["email"],
            reference=form.cleaned_data["reference"],
            address_key=client_address_key(request),
        )
        if asked:
            return render(request, "cases/find_sent.html", {})
        form.add_error(
            None,
            _("Too many requests for this address or from here. Please try again in an hour."),
        )
        return render(request, "cases/find.html", {"form": form}, status=429)
    return render(
        request,
        "cases/find.html",
        {"form": form, "cases": selectors.session_cases(request.session)},
    )


# --- The status page ------------------------------------------------------------------------


def _locked(request: HtmxHttpRequest) -> HttpResponse:
    # The same page whether the case does not exist or is not this visitor's.
    return render(request, "cases/status_locked.html", {"form": FindCaseForm()}, status=403)


def _status_context(request: HtmxHttpRequest, case: Case, message_form=None) -> dict:
    language = current_language()
    return {
        "case": case,
        "next": selectors.next_step(case),
        "events": case.public_events,
        "message_form": message_form or MessageForm(),
        "rating_form": RatingForm(),
        "can_reopen": selectors.can_reopen(case),
        "reopen_until": selectors.reopen_until(case),
        "resolution": selectors.resolution_message(case),
        "answer_form": CaseAnswerForm(),
        "articles": kb.articles_for_keys(keys=case.reason.article_keys, language=language),
        "notices": notices.notices_for_areas(case.reason.areas, request=request)[:3],
        "told": selectors.customer_notices(case),
    }


@never_cache
@require_GET
def case_status(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    case = selectors.case_for_session(request.session, reference)
    if case is None:
        return _locked(request)
    if not case.address_proven:
        return _no_store(_unproven(request, case))
    return _no_store(render(request, "cases/case_status.html", _status_context(request, case)))


def _unproven(request: HtmxHttpRequest, case: Case, *, status: int = 200) -> HttpResponse:
    """The case as the browser that wrote it sees it until it opens the emailed link: the
    status and what it wrote; our replies and everything later only behind the link."""
    context = {
        "case": case,
        "headline": selectors.next_step(case).headline,
        "opening_files": selectors.opening_files(case),
    }
    template = "cases/case_unproven.html#case" if request.htmx else "cases/case_unproven.html"
    return render(request, template, context, status=status)


def _case_action(request: HtmxHttpRequest, reference: str, act, *, kept_form=None) -> HttpResponse:
    """Do ``act(case)`` on a case this session proved is its own, then show the page. On a
    refusal the page says why, and shows ``kept_form()`` (what the visitor typed and the
    files it kept) instead of an empty form."""
    case = selectors.case_for_session(request.session, reference)
    if case is None:
        return _locked(request)
    if not case.address_proven:  # acting on the case needs the emailed link
        return _no_store(_unproven(request, case, status=403))
    error = ""
    try:
        act(case)
    except ValidationError as exception:
        error = " ".join(exception.messages)
    case = selectors.case_for_status_page(reference=case.reference)
    message_form = kept_form() if error and kept_form is not None else None
    context = {**_status_context(request, case, message_form), "action_error": error}
    if request.htmx:
        return render(request, "cases/case_status.html#case", context)
    if error:
        return render(request, "cases/case_status.html", context, status=400)
    return redirect("cases:status", reference=case.reference)


@require_POST
def case_message(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """A message on the case page: text, files, or both. A refused file stops the message
    with the reason; the text and the other files stay in the form."""
    data = with_kept_files_token(request.POST, "upload_token")
    form = MessageForm(data)

    def act(case: Case) -> None:
        nonlocal form
        token = data["upload_token"][:64]
        refused = keep_uploads(request, token, source=Attachment.Source.CASE_PAGE, case=case)
        form = MessageForm(data, refused_files=refused)
        if not form.is_valid():
            raise ValidationError(
                [message for errors in form.errors.values() for message in errors]
                or _("Write your message (up to 5,000 characters).")
            )
        services.add_customer_message(
            case=case, body=form.cleaned_data["body"], attachments_token=token
        )

    return _case_action(request, reference, act, kept_form=lambda: form)


def _customer_file(request: HtmxHttpRequest, reference: str, key, *, thumbnail: bool):
    attachment = selectors.attachment_for_session(request.session, reference, key)
    return file_response(attachment, thumbnail=thumbnail)


@require_GET
def attachment(request: HtmxHttpRequest, reference: str, key) -> HttpResponse:
    """A file of the case, to a session that may see it (never at a public address)."""
    return _customer_file(request, reference, key, thumbnail=False)


@require_GET
def attachment_thumbnail(request: HtmxHttpRequest, reference: str, key) -> HttpResponse:
    return _customer_file(request, reference, key, thumbnail=True)


@require_POST
def case_confirm(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    return _case_action(request, reference, lambda case: services.confirm_solved(case=case))


@require_POST
def case_answer(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """The one question of a resolved case: solved (it closes) or not (it reopens, with what
    is still wrong)."""
    form = CaseAnswerForm(request.POST)

    def act(case: Case) -> None:
        if not form.is_valid():
            raise ValidationError(" ".join(m for errors in form.errors.values() for m in errors))
        if form.cleaned_data["solved"]:
            services.confirm_solved(case=case)
        else:
            services.reopen_case(case=case, body=form.cleaned_data["body"])

    return _case_action(request, reference, act)


@require_POST
def case_reopen(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    form = ReopenForm(request.POST)

    def act(case: Case) -> None:
        if not form.is_valid():
            raise ValidationError(_("Write your message (up to 5,000 characters)."))
        services.reopen_case(case=case, body=form.cleaned_data["body"])

    return _case_action(request, reference, act)


@require_POST
def case_rate(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    form = RatingForm(request.POST)

    def act(case: Case) -> None:
        if not form.is_valid():
            raise ValidationError(_("Choose a rating from 1 to 5."))
        services.rate_case(
            case=case, rating=form.cleaned_data["rating"], comment=form.cleaned_data["comment"]
        )

    return _case_action(request, reference, act)


@require_POST
def case_updates(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    enabled = UpdatesForm(request.POST).wants_updates()
    return _case_action(
        request, reference, lambda case: services.set_customer_updates(case=case, enabled=enabled)
    )
