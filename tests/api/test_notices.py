"""Announcements through the API: an incident or maintenance created (a draft, published or
scheduled), updated and resolved, with the same rules as on the desk."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Announcement, AnnouncementUpdate, Dispatch
from tests.api.conftest import assert_problem
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db

INCIDENT = {
    "kind": "incident",
    "severity": 3,
    "title_es": "Los pagos con tarjeta fallan",
    "title_en": "Card payments are failing",
    "body_es": "Algunos pagos fallan. Estamos en ello.",
    "body_en": "Some payments fail. We are on it.",
    "areas": ["orders"],
}


def test_an_incident_published_at_once_is_on_the_site_and_mailed(api, key, client, reason):
    SubscriberFactory()

    response = api.post("/announcements", {**INCIDENT, "publish": True}, key=key)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["publication"] == "published" and body["phase"] == "investigating"
    assert body["title_es"] == INCIDENT["title_es"] and body["title_en"] == INCIDENT["title_en"]
    announcement = Announcement.objects.get()
    assert announcement.created_by.api_key is not None
    assert Dispatch.objects.filter(announcement=announcement).count() == 1
    assert "Los pagos con tarjeta fallan" in client.get("/es/").content.decode()


def test_an_incident_is_a_draft_unless_asked_to_publish(api, key):
    body = api.post("/announcements", INCIDENT, key=key).json()

    assert body["publication"] == "draft"
    assert Dispatch.objects.count() == 0


def test_a_maintenance_can_be_scheduled(api, key):
    starts = timezone.now() + timedelta(days=2)
    payload = {
        **INCIDENT,
        "kind": "maintenance",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "publish": True,
        "publish_at": (timezone.now() + timedelta(days=1)).isoformat(),
    }

    body = api.post("/announcements", payload, key=key).json()

    assert body["publication"] == "scheduled"


def test_times_without_a_zone_are_refused(api, key):
    response = api.post("/announcements", {**INCIDENT, "starts_at": "2030-01-01T10:00:00"}, key=key)

    body = assert_problem(response, 422, "invalid_request")
    assert body["errors"][0]["code"] == "timezone_aware"


def test_the_services_rules_answer_with_their_own_codes(api, key):
    response = api.post(
        "/announcements",
        {**INCIDENT, "starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-01T09:00:00Z"},
        key=key,
    )
    body = assert_problem(response, 422, "ends_before_start")
    assert body["errors"] == [
        {
            "code": "ends_before_start",
            "detail": "El evento debe terminar después de empezar.",
            "field": "ends_at",
        }
    ]

    placeholder = api.post(
        "/announcements", {**INCIDENT, "body_es": "Fallan **…**", "publish": True}, key=key
    )
    assert_problem(placeholder, 422, "placeholder")
    assert Announcement.objects.count() == 0


def test_updates_move_the_phase_and_resolving_ends_it(api, key):
    created = api.post("/announcements", {**INCIDENT, "publish": True}, key=key).json()
    path = f"/announcements/{created['id']}"

    update = api.post(
        f"{path}/updates",
        {"phase": "identified", "body_es": "Encontrado.", "body_en": "Found."},
        key=key,
    )
    wrong_phase = api.post(
        f"{path}/updates", {"phase": "completed", "body_es": "x", "body_en": "x"}, key=key
    )
    resolved = api.post(f"{path}/resolve", {"body_es": "Arreglado.", "body_en": "Fixed."}, key=key)

    assert update.status_code == 201 and update.json()["phase"] == "identified"
    assert_problem(wrong_phase, 422, "invalid_phase")
    assert resolved.status_code == 201 and resolved.json()["phase"] == "resolved"
    read = api.get(path, key=key).json()
    assert read["phase"] == "resolved" and read["resolved_at"] is not None
    assert AnnouncementUpdate.objects.count() == 2
    assert_problem(api.get("/announcements/999999", key=key), 404, "not_found")


def test_a_draft_is_published_later_once(api, key):
    created = api.post("/announcements", INCIDENT, key=key).json()

    first = api.post(f"/announcements/{created['id']}/publish", {}, key=key)
    second = api.post(f"/announcements/{created['id']}/publish", {}, key=key)

    assert first.json()["publication"] == second.json()["publication"] == "published"
    assert Dispatch.objects.count() == 1


def test_announcements_need_the_notices_scope(api, make_key):
    secret = make_key(scopes=["cases:write"])

    assert_problem(api.post("/announcements", INCIDENT, key=secret), 403, "scope_missing")
