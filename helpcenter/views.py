from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import override
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language

from foundation.i18n import Language, language_switch
from helpcenter.health import run_checks


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, checks = run_checks()
    degraded = any(check["state"] != "ok" for check in checks.values())
    status = "down" if not healthy else ("degraded" if degraded else "ok")
    return JsonResponse({"status": status, "checks": checks}, status=200 if healthy else 503)


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """Django's ``set_language`` (the cookie, the safety of ``next``), leading to the same
    content in the new language (``foundation.i18n.language_switch``) instead of the same path,
    which for an article is a 404."""
    response = set_language(request)
    language = request.POST.get("language", "")
    next_url = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    if response.status_code == 302 and language in Language.values and safe:
        switch = language_switch(next_url, language)
        response["Location"] = switch.url
        if switch.note:
            with override(language):
                messages.info(request, str(switch.note))
    return response
