"""Version 1 of the API: the routers, and every error answered as a problem (RFC 9457)."""

import logging

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as ServiceRefusal
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as RequestInvalid

from api.problems import problem_response, service_refusal
from api.v1 import alerts, cases, kb, notices, service
from api.v1.auth import ApiProblem

logger = logging.getLogger(__name__)

DESCRIPTION = """The help center for other systems: the order system opens and follows cases,
monitoring announces incidents, and every system reads the knowledge base and the opening
hours.

* **Keys**: created in the admin (API keys), sent as `Authorization: Bearer hc_…`. Each key
  has scopes; a request its key has no scope for is answered 403 `scope_missing`.
* **Errors**: RFC 9457 problem details (`application/problem+json`) with a stable `code`; a
  refused write carries the code the help center's own rule gave (`invalid_transition`, …).
* **Writes**: every POST needs an `Idempotency-Key` header; a retry with the same key and
  request does nothing again and gets the first answer (`Idempotent-Replayed: true`). The
  alert endpoints are the exception: Alertmanager cannot send the header, and an alert is
  deduplicated by its fingerprint instead.
* **Lists**: `next_cursor` in the answer, `?cursor=` for the next page.
* **Times**: ISO 8601 with their zone; times sent without a zone are refused.
"""

api = NinjaAPI(
    title="Help center API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    docs_url=None,  # served by api.views.docs, from our own static files
    openapi_url="/openapi.json",
)
for router in (cases.router, kb.router, notices.router, alerts.router, service.router):
    api.add_router("", router)


@api.exception_handler(ApiProblem)
def _api_problem(request: HttpRequest, problem: ApiProblem) -> HttpResponse:
    return problem_response(request, problem.code, detail=problem.detail, headers=problem.headers)


@api.exception_handler(ServiceRefusal)
def _service_refusal(request: HttpRequest, error: ServiceRefusal) -> HttpResponse:
    return service_refusal(request, error)


@api.exception_handler(RequestInvalid)
def _request_invalid(request: HttpRequest, error: RequestInvalid) -> HttpResponse:
    errors = [
        {
            "field": ".".join(str(part) for part in item.get("loc", ())),
            "code": str(item.get("type", "invalid")),
            "detail": str(item.get("msg", "")),
        }
        for item in error.errors
    ]
    return problem_response(request, "invalid_request", errors=errors)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return problem_response(request, "unauthenticated", headers={"WWW-Authenticate": "Bearer"})


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    # ninja raises it for a body it cannot parse (400), and for nothing else we use.
    code = "malformed_body" if error.status_code == 400 else "invalid_request"
    return problem_response(request, code, status=error.status_code)


@api.exception_handler(RequestDataTooBig)
def _body_too_large(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
    # Past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): a big Alertmanager group, say. The caller's
    # doing, not ours: answered 413, not as an error on our side.
    return problem_response(request, "body_too_large")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return problem_response(request, "not_found")


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, error: Exception) -> HttpResponse:
    # A bug, not the caller's doing: logged with its traceback, answered as a problem too.
    logger.exception("API error on %s %s", request.method, request.path)
    return problem_response(request, "internal_error")
