from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from foundation.markdown import render_markdown
from foundation.ratelimit import allow, client_address_key
from foundation.view_types import HtmxHttpRequest
from notifications import selectors
from notifications.forms import PreferencesForm, SubscribeForm
from notifications.ical import build_calendar
from notifications.services import incidents, subscribers

DISMISSED_SESSION_KEY = "dismissed_notices"
SUBSCRIBE_LIMIT_PER_IP = (10, 60 * 60)


@require_GET
def notice_list(request: HtmxHttpRequest) -> HttpResponse:
    return render(
        request,
        "notifications/notice_list.html",
        {**selectors.notice_lists(), "status": selectors.service_status()},
    )


@require_GET
def notice_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    announcement = selectors.published_announcement(slug=slug)
    if announcement is None:
        raise Http404
    updates = [(update, render_markdown(update.body).html) for update in announcement.updates.all()]
    return render(
        request,
        "notifications/notice_detail.html",
        {
            "announcement": announcement,
            "body_html": render_markdown(announcement.body).html,
            "updates": updates,
            # A live problem offers "tell me when it is fixed" right here, in one step.
            "followable": selectors.is_live_problem(announcement),
        },
    )


@require_POST
def dismiss_notice(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Hide a banner for this visitor (remembered in the session); works without JavaScript.

    Only a live notice not yet dismissed is written: any other slug leaves the session as it
    was (no new session row, no extended expiry for a stolen cookie).
    """
    dismissed = set(request.session.get(DISMISSED_SESSION_KEY, []))
    if slug not in dismissed and selectors.is_active_notice(slug=slug):
        dismissed.add(slug)
        request.session[DISMISSED_SESSION_KEY] = sorted(dismissed)[-50:]
    if request.htmx:
        # The whole banner region again: the count and the most severe notice change.
        return render(request, "notifications/partials/banners.html")
    next_url = request.POST.get("next", "")
    # A path on this site only: redirect() would take "0" or "home" for a URL name and fail.
    if not next_url.startswith("/") or not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    return HttpResponseRedirect(next_url)


@require_GET
@cache_control(max_age=60, public=True)
def notices_embed(request: HtmxHttpRequest) -> JsonResponse:
    """The current notices for another site to show (CORS open, no personal data)."""
    language = (get_language() or settings.LANGUAGE_CODE)[:2]
    notices = [
        {
            "title": announcement.title,
            "kind": announcement.kind,
            "severity": announcement.get_severity_display(),
            "phase": announcement.phase,
            "starts_at": announcement.starts_at.isoformat() if announcement.starts_at else None,
            "ends_at": announcement.ends_at.isoformat() if announcement.ends_at else None,
            "url": request.build_absolute_uri(announcement.get_absolute_url()),
        }
        for announcement in selectors.active_announcements()
    ]
    response = JsonResponse({"language": language, "notices": notices})
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
@cache_control(max_age=300, public=True)
def notices_calendar(request: HtmxHttpRequest) -> HttpResponse:
    body = build_calendar(
        selectors.calendar_events(),
        closures=selectors.calendar_days(),
        base_url=request.build_absolute_uri("/"),
        now=timezone.now(),
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="notices.ics"'
    return response


@require_http_methods(["GET", "POST"])
def subscribe(request: HtmxHttpRequest) -> HttpResponse:
    language = (get_language() or settings.LANGUAGE_CODE)[:2]
    form = SubscribeForm(request.POST or None, initial={"language": language})
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        within_limits = allow(
            "subscribe-ip",
            client_address_key(request),
            limit=SUBSCRIBE_LIMIT_PER_IP[0],
            window_seconds=SUBSCRIBE_LIMIT_PER_IP[1],
        )
        if within_limits:
            try:  # the per-address limit is the service's: the API is held to it too
                subscribers.request_subscription(
                    email=email,
                    language=form.cleaned_data["language"],
                    kinds=form.cleaned_data["kinds"],
                    areas=[],
                )
            except ValidationError:
                within_limits = False
        if not within_limits:
            form.add_error(None, _("Too many requests from here. Please try again in an hour."))
            return render(request, "notifications/subscribe.html", {"form": form}, status=429)
        # The same answer whether or not the address was already subscribed.
        return render(request, "notifications/subscribe_sent.html", {"email": email})
    return render(request, "notifications/subscribe.html", {"form": form})


@require_http_methods(["GET", "POST"])
def confirm_subscription(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """GET asks (mail scanners open links, and must not subscribe anyone); POST confirms."""
    if request.method == "POST":
        subscriber = subscribers.confirm_subscription(token=token)
        template = "notifications/subscribe_confirmed.html"
    else:
        subscriber = subscribers.subscriber_to_confirm(token=token)
        template = "notifications/subscribe_confirm.html"
    context = {"subscriber": subscriber, "token": token}
    return render(request, template, context, status=200 if subscriber else 400)


# RFC 8058 one-click unsubscribe: mail clients POST to the List-Unsubscribe URL without a CSRF
# token. The signed token in the URL is the proof of ownership, so CSRF protection adds nothing
# here; GET only shows a confirmation page, so link scanners never unsubscribe anyone.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HtmxHttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        subscriber = subscribers.unsubscribe(token=token)
        template = "notifications/unsubscribed.html"
    else:
        subscriber = subscribers.subscriber_for_unsubscribe(token=token)
        template = "notifications/unsubscribe_confirm.html"
    return render(
        request,
        template,
        {"subscriber": subscriber, "token": token},
        status=200 if subscriber else 400,
    )


# The stop link of the mail to an incident's followers, and its List-Unsubscribe header: like
# ``unsubscribe`` (the signed token is the proof; GET only asks). One page: it asks while the
# follower still gets the news, and says they are stopped once they are (a second POST too).
@csrf_exempt
@require_http_methods(["GET", "POST"])
def stop_following(request: HtmxHttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        follower = incidents.stop_following(token=token)
    else:
        follower = incidents.follower_for_stop(token=token)
    context = {"follower": follower, "token": token}
    status = 200 if follower else 400
    return render(request, "notifications/stop_following.html", context, status=status)


@require_http_methods(["GET", "POST"])
def preferences(request: HtmxHttpRequest, token: str) -> HttpResponse:
    subscriber = subscribers.subscriber_for_unsubscribe(token=token)
    if subscriber is None:
        return render(
            request, "notifications/unsubscribe_confirm.html", {"subscriber": None}, status=400
        )
    form = PreferencesForm(
        request.POST or None, initial={"language": subscriber.language, "kinds": subscriber.kinds}
    )
    if request.method == "POST" and form.is_valid():
        subscribers.update_preferences(
            token=token,
            language=form.cleaned_data["language"],
            kinds=form.cleaned_data["kinds"],
            areas=subscriber.areas,
        )
        messages.success(request, _("Your preferences are saved."))
        return redirect(request.path)
    return render(
        request,
        "notifications/preferences.html",
        {"form": form, "subscriber": subscriber, "token": token},
    )
