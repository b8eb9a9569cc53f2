"""The OpenAPI schema: generated, valid, and saying what the API does."""

import pytest
from openapi_spec_validator import validate

from api.models import Scope
from api.v1 import schemas
from cases.models import Attachment, Case, CaseEvent
from cases.services import ContactOutcome
from notifications.models import Announcement

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("post", "/api/v1/cases"),
    ("get", "/api/v1/cases"),
    ("get", "/api/v1/cases/{reference}"),
    ("post", "/api/v1/cases/{reference}/replies"),
    ("post", "/api/v1/cases/{reference}/notes"),
    ("post", "/api/v1/cases/{reference}/status"),
    ("post", "/api/v1/cases/{reference}/attachments"),
    ("get", "/api/v1/cases/{reference}/attachments"),
    ("get", "/api/v1/cases/{reference}/attachments/{key}"),
    ("get", "/api/v1/contact-reasons"),
    ("get", "/api/v1/kb/articles/{language}/{slug}"),
    ("get", "/api/v1/kb/search"),
    ("post", "/api/v1/announcements"),
    ("get", "/api/v1/announcements/{announcement_id}"),
    ("post", "/api/v1/announcements/{announcement_id}/publish"),
    ("post", "/api/v1/announcements/{announcement_id}/updates"),
    ("post", "/api/v1/announcements/{announcement_id}/resolve"),
    ("post", "/api/v1/subscribers"),
    ("get", "/api/v1/opening-hours"),
    ("get", "/api/v1/closures"),
    ("post", "/api/v1/customer-notices"),
    ("post", "/api/v1/alerts/alertmanager"),
    ("post", "/api/v1/alerts"),
}
# Alertmanager's webhook cannot send an Idempotency-Key; alerts are deduplicated by fingerprint.
WITHOUT_IDEMPOTENCY_KEY = {"/api/v1/alerts/alertmanager", "/api/v1/alerts"}


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_the_schema_lists_every_endpoint(schema):
    assert {(method, path) for method, path, _operation in _operations(schema)} == OPERATIONS


def test_the_generic_alerts_endpoint_takes_one_alert_or_several(schema):
    body = schema["paths"]["/api/v1/alerts"]["post"]["requestBody"]["content"]["application/json"]
    refs = [choice["$ref"].rsplit("/", 1)[-1] for choice in body["schema"]["oneOf"]]
    assert refs == ["AlertIn", "AlertsIn"]
    several = schema["components"]["schemas"]["AlertsIn"]["properties"]["alerts"]
    assert several["items"]["$ref"].endswith("/AlertIn") and several["maxItems"] == 1000


def test_every_post_requires_an_idempotency_key_and_every_call_a_key(schema):
    for method, path, operation in _operations(schema):
        assert operation.get("security"), path
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        if method == "post" and path in WITHOUT_IDEMPOTENCY_KEY:
            assert headers == [], path
        elif method == "post":
            assert [(h["name"], h["required"]) for h in headers] == [("Idempotency-Key", True)]
        assert {"401", "403", "422", "429"} <= set(operation["responses"]), (method, path)


def test_the_apis_words_are_the_models_choices():
    """The API's vocabularies are its own contract (v1): a new status or phase in a model
    must be added here on purpose."""
    assert set(schemas.CaseStatus.__args__) == set(Case.Status.values)
    assert set(schemas.EventKind.__args__) == set(CaseEvent.Kind.values)
    assert set(schemas.AnnouncementKind.__args__) == set(Announcement.Kind.values)
    assert set(schemas.Phase.__args__) == set(Announcement.Phase.values)
    assert set(schemas.Publication.__args__) == set(Announcement.Publication.values)
    assert set(schemas.ContactOutcomeKind.__args__) == set(ContactOutcome.Kind)
    assert set(schemas.AttachmentStatus.__args__) == set(Attachment.Status.values)
    assert set(schemas.AttachmentKind.__args__) == set(Attachment.Kind.values)
    assert set(schemas.AttachmentSource.__args__) == set(Attachment.Source.values)
    assert {Scope.CASES_READ, Scope.CASES_WRITE, Scope.NOTICES_WRITE, Scope.KB_READ} <= set(Scope)
