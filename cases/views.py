from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import selectors, services
from cases.forms import (
    ContactForm,
    FindCaseForm,
    MessageForm,
    RatingForm,
    ReopenForm,
    SolvedForm,
)
from cases.models import Case, ContactReason, Deflection
from cases.services.access import has_case_grants, session_case_ids, session_token_ids
from cases.services.contact import mentioned_reference, verified_open_duplicate
from cases.services.lifecycle import can_reopen, due_dates
from helpcenter import counters
from helpcenter.parsing import parse_id
from helpcenter.ratelimit import allow, client_address_key
from helpcenter.view_types import HtmxHttpRequest
from kb import selectors as kb
from kb.models import current_language
from kb.visitors import visitor_hash
from notifications import selectors as notices

CONTACT_LIMITS = {"ip": (5, 3600), "email": (5, 3600)}
FIND_LIMITS = {"ip": (10, 3600), "email": (3, 3600)}


def _within_limits(scope: str, limits: dict, request: HtmxHttpRequest, email: str) -> bool:
    ip_limit, ip_window = limits["ip"]
    email_limit, email_window = limits["email"]
    return allow(
        f"{scope}-ip", client_address_key(request), limit=ip_limit, window_seconds=ip_window
    ) and allow(f"{scope}-email", email.lower(), limit=email_limit, window_seconds=email_window)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- Contact form ---------------------------------------------------------------------------


def _known_case(request: HtmxHttpRequest) -> Case | None:
    """The case this browser opened most recently, whose name and email fill in the form:
    never ask twice. (Not the oldest grant: a link someone forwarded must not keep lending
    their identity; the page says whose case it is and offers to forget it.)"""
    if not has_case_grants(request.session):
        return None
    cases = selectors.customer_cases(session_case_ids(request.session)[:1])
    return cases[0] if cases else None


@require_http_methods(["GET", "POST"])
def contact(request: HtmxHttpRequest) -> HttpResponse:
    language = current_language()
    known = _known_case(request)
    initial = {"name": known.customer_name, "email": known.customer_email} if known else {}
    form = ContactForm(request.POST or None, initial=initial)
    context = {"form": form, "status": notices.service_status(), "known_case": known}
    if request.method != "POST" or not form.is_valid():
        if not form.is_bound:
            counters.increment(counters.Counter.CONTACT_FORM_OPENED)
        if form.is_bound and (reason_id := parse_id(form.data.get("reason"))):
            context["expectation"] = _expectation(reason_id)
        return render(request, "cases/contact.html", context)

    data = form.cleaned_data
    if not _within_limits("contact", CONTACT_LIMITS, request, data["email"]):
        form.add_error(
            None,
            _("We have had several messages from here in the last hour. Please try again later."),
        )
        return render(request, "cases/contact.html", context, status=429)
    reason: ContactReason = data["reason"]

    reference = mentioned_reference(data["subject"], data["description"])
    if reason.is_status_inquiry or (reference and len(data["description"]) < 400):
        # A question about an existing case: its page answers it better than a new case.
        services.request_case_links(email=data["email"], reference=reference)
        services.record_deflection(
            kind=Deflection.Kind.STATUS_INQUIRY, reason=reason, language=language
        )
        return render(request, "cases/contact_status_link.html", {"email": data["email"]})

    duplicate = verified_open_duplicate(
        reason=reason, email=data["email"], verified_case_ids=session_case_ids(request.session)
    )
    choice = request.POST.get("duplicate_choice", "")
    if duplicate is not None and choice != "new":
        if choice == "add":
            services.add_to_existing_case(
                case=duplicate,
                subject=data["subject"],
                description=data["description"],
                language=language,
            )
            return redirect("cases:status", reference=duplicate.reference)
        return render(request, "cases/contact_duplicate.html", {**context, "duplicate": duplicate})

    case = services.open_case(
        reason=reason,
        customer_email=data["email"],
        customer_name=data["name"],
        language=language,
        subject=data["subject"],
        description=data["description"],
        visitor_hash=visitor_hash(request),
    )
    return render(request, "cases/contact_done.html", {"case": case, "status": context["status"]})


def _expectation(reason_id: int) -> dict | None:
    reason = ContactReason.objects.filter(pk=reason_id, active=True).first()
    if reason is None:
        return None
    first, resolution = due_dates(reason, timezone.now())
    return {"reason": reason, "first_response": first, "resolution": resolution}


@require_GET
def contact_expectation(request: HtmxHttpRequest) -> HttpResponse:
    """The honest reply time for the chosen reason (htmx, as the reason is picked)."""
    reason_id = parse_id(request.GET.get("reason"))
    expectation = _expectation(reason_id) if reason_id else None
    return render(request, "cases/partials/expectation.html", {"expectation": expectation})


@require_GET
def contact_suggestions(request: HtmxHttpRequest) -> HttpResponse:
    """Articles that may answer the subject being typed (htmx)."""
    text = request.GET.get("subject", "")[:200]
    hits = (
        kb.suggest_articles(text=text, language=current_language())
        if len(text.strip()) >= 3
        else []
    )
    if hits:
        counters.increment(counters.Counter.SUGGESTIONS_SHOWN, once_per=visitor_hash(request))
    return render(
        request,
        "cases/partials/suggestions.html",
        {"hits": hits, "reason": request.GET.get("reason", "")},
    )


@require_POST
def contact_solved(request: HtmxHttpRequest) -> HttpResponse:
    """ "This solved it": an article answered the question; no case is opened."""
    counted = SolvedForm(request.POST).counted()
    reason_id = counted["reason_id"]
    reason = ContactReason.objects.filter(pk=reason_id).first() if reason_id else None
    services.record_article_deflection(
        reason=reason,
        article_key=counted["article_key"],
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
    case, _state = services.redeem_token(token=token)
    if case is not None and allow("renew-link", str(case.pk), limit=3, window_seconds=3600):
        services.request_case_links(email=case.customer_email, reference=case.reference)
    return _no_store(render(request, "cases/find_sent.html", {}))


@require_http_methods(["GET", "POST"])
def find_case(request: HtmxHttpRequest) -> HttpResponse:
    """Find my case (reference + email) or all my cases (email): always the same answer."""
    form = FindCaseForm(
        request.POST or None, initial={"reference": request.GET.get("reference", "")[:12]}
    )
    if request.method == "POST" and form.is_valid():
        email, reference = form.cleaned_data["email"], form.cleaned_data["reference"]
        if not _within_limits("find", FIND_LIMITS, request, email):
            form.add_error(
                None,
                _("Too many requests for this address or from here. Please try again in an hour."),
            )
            return render(request, "cases/find.html", {"form": form}, status=429)
        services.request_case_links(email=email, reference=reference)
        return render(request, "cases/find_sent.html", {})
    return render(
        request,
        "cases/find.html",
        {"form": form, "cases": selectors.customer_cases(session_case_ids(request.session))},
    )


# --- The status page ------------------------------------------------------------------------


def _allowed_case(request: HtmxHttpRequest, reference: str) -> Case | None:
    """The case if this session opened it from a link that still works, within the grant's
    lifetime (the check rides on the case's own query)."""
    token_ids = session_token_ids(request.session)
    if not token_ids:
        return None
    case = selectors.case_for_status_page(
        reference=reference.upper()[:12], access_token_ids=token_ids
    )
    if case is None or not case.opened_by_live_link:
        return None
    return case


def _locked(request: HtmxHttpRequest) -> HttpResponse:
    # The same page whether the case does not exist or is not this visitor's.
    return render(request, "cases/status_locked.html", {"form": FindCaseForm()}, status=403)


def _status_context(request: HtmxHttpRequest, case: Case) -> dict:
    language = current_language()
    return {
        "case": case,
        "next": selectors.next_step(case),
        "events": case.public_events,
        "message_form": MessageForm(),
        "rating_form": RatingForm(),
        "can_reopen": can_reopen(case),
        "articles": kb.articles_for_keys(keys=case.reason.article_keys, language=language),
        "notices": notices.notices_for_areas(case.reason.areas, request=request)[:3],
    }


@never_cache
@require_GET
def case_status(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    case = _allowed_case(request, reference)
    if case is None:
        return _locked(request)
    return _no_store(render(request, "cases/case_status.html", _status_context(request, case)))


def _case_action(request: HtmxHttpRequest, reference: str, act) -> HttpResponse:
    case = _allowed_case(request, reference)
    if case is None:
        return _locked(request)
    error = ""
    try:
        act(case)
    except ValidationError as exception:
        error = " ".join(exception.messages)
    case = selectors.case_for_status_page(reference=case.reference)
    context = {**_status_context(request, case), "action_error": error}
    if request.htmx:
        return render(request, "cases/case_status.html#case", context)
    if error:
        return render(request, "cases/case_status.html", context, status=400)
    return redirect("cases:status", reference=case.reference)


@require_POST
def case_message(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    form = MessageForm(request.POST)

    def act(case: Case) -> None:
        if not form.is_valid():
            raise ValidationError(_("Write your message (up to 5,000 characters)."))
        services.add_customer_message(case=case, body=form.cleaned_data["body"])

    return _case_action(request, reference, act)


@require_POST
def case_confirm(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    return _case_action(request, reference, lambda case: services.confirm_solved(case=case))


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
    enabled = request.POST.get("enabled") == "1"
    return _case_action(
        request, reference, lambda case: services.set_customer_updates(case=case, enabled=enabled)
    )
