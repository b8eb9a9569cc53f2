"""The API's pages that are not endpoints: its documentation and its problem types."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from api.problems import API_PROBLEMS, SERVICE_REFUSAL, problem_response


@require_GET
def docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI over the OpenAPI schema, from our own static files (the CSP allows no
    other host, and no inline script: static/api/docs.js starts it)."""
    return render(request, "api/docs.html", {"schema_url": reverse("api-v1:openapi-json")})


@require_GET
def problem(request: HttpRequest, code: str) -> JsonResponse:
    """What a problem ``type`` URI names: its code, status and title."""
    status, title = API_PROBLEMS.get(code, SERVICE_REFUSAL)
    return JsonResponse({"code": code, "status": status, "title": str(title)})


def not_found(request: HttpRequest) -> HttpResponse:
    return problem_response(request, "not_found")
