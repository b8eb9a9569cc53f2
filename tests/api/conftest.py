import json
import uuid
from collections.abc import Callable

import pytest
from django.test import Client

from api import services
from api.models import Scope
from tests.factories import ContactReasonFactory, ReasonGroupFactory, weekday_hours

ALL_SCOPES = list(Scope.values)


@pytest.fixture
def make_key(db) -> Callable[..., str]:
    """A key's secret, as the admin shows it once (all scopes unless told)."""

    def make(scopes=ALL_SCOPES, **fields) -> str:
        return services.create_api_key(
            name=fields.pop("name", "Order system"), scopes=scopes, actor=None, **fields
        ).secret

    return make


@pytest.fixture
def key(make_key) -> str:
    return make_key()


class ApiClient:
    """Calls /api/v1/ over the real views with a key, as another system does."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def get(self, path: str, *, key: str | None, **params):
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return self.client.get(f"/api/v1{path}", params, headers=headers)

    @staticmethod
    def _headers(key: str | None, idempotency_key: str | None) -> dict:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        if idempotency_key == "new":
            idempotency_key = str(uuid.uuid4())
        if idempotency_key is not None:
            headers["idempotency-key"] = idempotency_key
        return headers

    def post(self, path: str, body=None, *, key: str | None, idempotency_key: str | None = "new"):
        headers = self._headers(key, idempotency_key)
        data = body if isinstance(body, (bytes, str)) else json.dumps(body or {})
        return self.client.post(
            f"/api/v1{path}", data, content_type="application/json", headers=headers
        )

    def upload(self, path: str, fields: dict, *, key: str | None, idempotency_key="new"):
        """A multipart/form-data POST: ``fields`` may hold open files or SimpleUploadedFile."""
        headers = self._headers(key, idempotency_key)
        return self.client.post(f"/api/v1{path}", fields, headers=headers)


@pytest.fixture
def api(client) -> ApiClient:
    return ApiClient(client)


@pytest.fixture
def reason(db):
    weekday_hours()
    return ContactReasonFactory(
        code="order-stuck-preparing",
        parent=ReasonGroupFactory(code="orders", name_es="Pedidos", name_en="Orders"),
        name_es="Mi pedido lleva días “En preparación”",
        name_en="My order has been “Being prepared” for days",
    )


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"].endswith(f"/api/v1/problems/{code}")
    assert body["title"]
    return body
