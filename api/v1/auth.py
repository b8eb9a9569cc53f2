"""Who is calling: an API key in ``Authorization: Bearer``, its scope, its rate limit."""

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from api import services
from api.models import ApiKey


class ApiProblem(Exception):
    """Answer with the problem ``code`` (api.problems.API_PROBLEMS)."""

    def __init__(self, code: str, *, detail: str = "", headers: dict | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.headers = headers or {}


class KeyAuth(HttpBearer):
    """A live key, within its rate limit, holding ``scope`` (any key when None)."""

    def __init__(self, scope: str | None = None) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey:
        try:
            key = services.authenticate_key(token[:200], now=timezone.now())
        except services.KeyRefused as refused:
            raise ApiProblem(refused.code) from None
        if not services.within_rate_limit(key):
            raise ApiProblem("rate_limited", headers={"Retry-After": "60"})
        if self.scope is not None and self.scope not in key.scopes:
            raise ApiProblem("scope_missing", detail=self.scope)
        return key
