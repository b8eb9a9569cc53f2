"""Errors as RFC 9457 problem details, each with a stable ``code``.

A service's ``ValidationError`` keeps the code the service gave it (``invalid_transition``,
``empty``, ``placeholder`` ...): the API adds no vocabulary of its own for what a service
refuses. The codes below are the API's own (keys, scopes, limits, the request itself).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

PROBLEM_CONTENT_TYPE = "application/problem+json"

# code: (HTTP status, title). The title is the same for every occurrence of the code.
API_PROBLEMS = {
    "unauthenticated": (401, _("Send an API key: Authorization: Bearer <key>.")),
    "key_unknown": (401, _("This API key does not exist.")),
    "key_expired": (401, _("This API key has expired.")),
    "key_revoked": (401, _("This API key has been revoked.")),
    "scope_missing": (403, _("This API key does not have the scope this request needs.")),
    "not_found": (404, _("There is nothing here.")),
    "malformed_body": (400, _("The request body is not valid JSON.")),
    "body_too_large": (413, _("The request body is too large.")),
    "invalid_request": (422, _("Some fields of the request are missing or not valid.")),
    "idempotency_key_reused": (
        422,
        _("This Idempotency-Key was already used for a different request."),
    ),
    "idempotency_key_expired": (
        422,
        _(
            "This Idempotency-Key was used too long ago to replay its answer: check whether "
            "that write was made before sending it again with a new key."
        ),
    ),
    "unknown_reason": (422, _("There is no contact reason with this code.")),
    "attachment_pending": (
        409,
        _("This file is still being checked; try again in a minute."),
    ),
    "attachment_quarantined": (
        410,
        _("The virus check held this file back: it is never served."),
    ),
    "attachment_unreadable": (410, _("This file could not be read: it is not served.")),
    "rate_limited": (429, _("Too many requests with this API key; wait a minute.")),
    "internal_error": (500, _("Something went wrong on our side; try again later.")),
}
# A service refused the request: its ValidationError code comes as ``code``.
SERVICE_REFUSAL = (422, _("The request was refused."))


def problem_type(code: str) -> str:
    return settings.SITE_URL + reverse("api-problem", kwargs={"code": code})


def problem_response(
    request: HttpRequest,
    code: str,
    *,
    status: int | None = None,
    title: str | None = None,
    detail: str = "",
    errors: list[dict] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    known_status, known_title = API_PROBLEMS.get(code, SERVICE_REFUSAL)
    body: dict = {
        "type": problem_type(code),
        "title": str(title or known_title),
        "status": status or known_status,
        "code": code,
        "instance": request.path[:500],
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = JsonResponse(body, status=body["status"], content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def service_errors(error: ValidationError) -> list[dict]:
    """Each message of a service's ``ValidationError`` with its code and, when the service
    keyed it by field, the field."""
    if hasattr(error, "error_dict"):
        pairs = [(field, item) for field, items in error.error_dict.items() for item in items]
    else:
        pairs = [("", item) for item in error.error_list]
    errors = []
    for field, item in pairs:
        message = item.message % item.params if item.params else item.message
        entry = {"code": item.code or "invalid", "detail": str(message)}
        if field and field != "__all__":
            entry["field"] = field
        errors.append(entry)
    return errors


def service_refusal(request: HttpRequest, error: ValidationError) -> JsonResponse:
    """422 with the service's own code (the first error's, when there are several: every one
    is in ``errors``)."""
    errors = service_errors(error)
    first = errors[0] if errors else {"code": "invalid", "detail": ""}
    status, title = SERVICE_REFUSAL
    return problem_response(
        request, first["code"], status=status, title=title, detail=first["detail"], errors=errors
    )
