"""Cases through the API: opened for a customer by the contact form's own service, read,
listed by customer, replied to, noted and moved, each POST once per Idempotency-Key."""

import uuid

import pytest
from django.utils import timezone

from api.models import ApiKey, ApiWrite
from cases import services as case_services
from cases.models import Case, CaseEvent
from notifications.models import OutgoingMessage
from notifications.services import announcements
from tests.api.conftest import assert_problem
from tests.factories import AnnouncementFactory

pytestmark = pytest.mark.django_db

NEW_CASE = {
    "reason": "order-stuck-preparing",
    "customer_email": "Ana@Example.com",
    "customer_name": "Ana Pérez",
    "language": "es",
    "subject": "Tu pedido P-123456 llega tarde",
    "description": "El transportista ha retrasado la entrega.",
}


def _open(api, key, **fields):
    response = api.post("/cases", {**NEW_CASE, **fields}, key=key)
    assert response.status_code == 201, response.content
    return response.json()["case"]


def test_opening_a_case_for_a_customer_emails_them_its_link(api, key, reason):
    response = api.post("/cases", NEW_CASE, key=key)

    assert response.status_code == 201
    body = response.json()
    assert body["outcome"] == "opened"
    case = Case.objects.get(reference=body["case"]["reference"])
    assert case.customer_email == "Ana@Example.com" and case.reason == reason
    assert body["case"]["reason"] == "order-stuck-preparing"
    assert body["case"]["status"] == "received"
    assert OutgoingMessage.objects.filter(recipient="Ana@Example.com", kind="case").count() == 1
    # Times in ISO 8601 with their zone.
    for name in ("created_at", "first_response_due", "resolution_due"):
        value = body["case"][name]
        assert value.endswith("Z") or value[-6] in "+-", value


def test_a_case_the_key_opens_says_we_opened_it_not_that_the_customer_wrote_it(
    api, key, reason, client
):
    case = Case.objects.get(reference=_open(api, key)["reference"])
    opened = case.events.get(kind=CaseEvent.Kind.OPENED)
    mail = OutgoingMessage.objects.get(recipient="Ana@Example.com", kind="case")
    link = case_services.issue_access_link(case=case)
    page = client.get("/" + link.split("://", 1)[1].split("/", 1)[1], follow=True)

    assert opened.author == ApiKey.objects.get().user and opened.by_customer
    assert "Hemos abierto un caso para ti" in mail.body_text
    assert "lo que nos escribiste" not in mail.body_text
    assert "Te abrimos el caso" in page.content.decode()
    assert "Abriste el caso" not in page.content.decode()


def test_a_retried_post_opens_nothing_twice_and_replays_the_first_answer(api, key, reason):
    idempotency_key = str(uuid.uuid4())

    first = api.post("/cases", NEW_CASE, key=key, idempotency_key=idempotency_key)
    again = api.post("/cases", NEW_CASE, key=key, idempotency_key=idempotency_key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Case.objects.count() == 1
    assert OutgoingMessage.objects.count() == 1
    assert ApiWrite.objects.count() == 1


def test_the_same_idempotency_key_with_another_request_is_refused(api, key, reason):
    idempotency_key = str(uuid.uuid4())
    api.post("/cases", NEW_CASE, key=key, idempotency_key=idempotency_key)

    response = api.post(
        "/cases", {**NEW_CASE, "subject": "Otra cosa"}, key=key, idempotency_key=idempotency_key
    )

    assert_problem(response, 422, "idempotency_key_reused")
    assert Case.objects.count() == 1


def test_idempotency_keys_belong_to_their_api_key(api, make_key, reason):
    one, other = make_key(), make_key()

    api.post("/cases", NEW_CASE, key=one, idempotency_key="order-P-123456")
    response = api.post("/cases", NEW_CASE, key=other, idempotency_key="order-P-123456")

    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Case.objects.count() == 2


def test_a_post_without_idempotency_key_does_nothing(api, key, reason):
    response = api.post("/cases", NEW_CASE, key=key, idempotency_key=None)

    body = assert_problem(response, 422, "invalid_request")
    assert "Idempotency-Key" in body["detail"]
    assert Case.objects.count() == 0


def test_a_refused_write_is_not_stored_and_can_be_retried(api, key, reason):
    case = _open(api, key)
    idempotency_key = str(uuid.uuid4())

    refused = api.post(
        f"/cases/{case['reference']}/status",
        {"status": "reopened"},
        key=key,
        idempotency_key=idempotency_key,
    )

    body = assert_problem(refused, 422, "invalid_transition")
    assert body["errors"][0]["code"] == "invalid_transition"
    assert ApiWrite.objects.filter(idempotency_key=idempotency_key).count() == 0


def test_a_live_incident_about_the_reason_is_told_first_and_the_case_opened_once_seen(
    api, key, reason
):
    incident = announcements.publish_announcement(
        announcement=AnnouncementFactory(areas=["orders"]), actor=None
    )

    told = api.post("/cases", NEW_CASE, key=key)

    assert told.status_code == 200
    assert told.json()["outcome"] == "incident_known"
    assert told.json()["incident"]["id"] == incident.pk
    assert Case.objects.count() == 0
    opened = api.post("/cases", {**NEW_CASE, "incident_seen": incident.pk}, key=key)
    assert opened.status_code == 201
    assert Case.objects.get().incident_id == incident.pk


def test_a_question_about_an_existing_case_sends_its_link_instead(api, key, reason):
    case = _open(api, key)

    response = api.post(
        "/cases", {**NEW_CASE, "description": f"¿Cómo va {case['reference']}?"}, key=key
    )

    assert response.status_code == 200
    assert response.json() == {"outcome": "status_link_sent", "case": None, "incident": None}
    assert Case.objects.count() == 1


def test_the_contact_forms_per_address_limit_does_not_apply_to_a_key(api, key, reason):
    for number in range(7):
        _open(api, key, subject=f"Pedido {number}")

    assert Case.objects.count() == 7


def test_opening_for_an_unknown_reason_or_with_bad_fields_is_a_problem(api, key, reason):
    assert_problem(
        api.post("/cases", {**NEW_CASE, "reason": "nope"}, key=key), 422, "unknown_reason"
    )
    body = assert_problem(
        api.post(
            "/cases", {**NEW_CASE, "customer_email": "not-an-address", "language": "fr"}, key=key
        ),
        422,
        "invalid_request",
    )
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"body.payload.customer_email", "body.payload.language"}
    assert Case.objects.count() == 0


def test_reading_a_case_shows_its_history(api, key, reason):
    case = _open(api, key)
    api.post(f"/cases/{case['reference']}/notes", {"body": "Llamar al transportista."}, key=key)

    response = api.get(f"/cases/{case['reference'].lower()}", key=key)

    assert response.status_code == 200
    events = response.json()["events"]
    assert [(e["kind"], e["public"]) for e in events] == [("opened", True), ("note", False)]
    assert_problem(api.get("/cases/ZZZZ-ZZZZ", key=key), 404, "not_found")


def test_a_customers_cases_come_newest_first_a_page_at_a_time(api, key, reason):
    references = [_open(api, key, subject=f"Pedido {n}")["reference"] for n in range(5)]
    _open(api, key, customer_email="otra@example.com")

    seen, cursor = [], None
    while True:
        params = {"customer_email": "ana@example.com", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/cases", key=key, **params).json()
        seen += [item["reference"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(references))


def test_a_forged_cursor_is_a_problem(api, key, reason):
    response = api.get("/cases", key=key, customer_email="ana@example.com", cursor="abc")

    assert_problem(response, 422, "invalid_request")


def test_a_public_reply_is_authored_by_the_key_and_emailed(api, make_key, reason):
    key = make_key(name="Order system")
    case = _open(api, key)

    response = api.post(
        f"/cases/{case['reference']}/replies",
        {"body": "Tu pedido sale mañana.", "status": "waiting"},
        key=key,
    )

    assert response.status_code == 201
    assert response.json()["kind"] == "reply" and response.json()["author"] == "Order system (API)"
    stored = Case.objects.get()
    assert stored.status == "waiting"
    reply = stored.events.get(kind=CaseEvent.Kind.PUBLIC_REPLY)
    assert reply.author.api_key.name == "Order system"
    assert stored.update_pending_since is not None  # the update email is on its way


def test_an_internal_note_is_never_public(api, key, reason):
    case = _open(api, key)

    response = api.post(
        f"/cases/{case['reference']}/notes", {"body": "Solo para nosotros."}, key=key
    )

    assert response.status_code == 201
    assert response.json()["public"] is False
    assert_problem(
        api.post(f"/cases/{case['reference']}/notes", {"body": "   "}, key=key),
        422,
        "invalid_request",
    )


def test_changing_a_status_follows_the_workflow(api, key, reason):
    case = _open(api, key)

    moved = api.post(f"/cases/{case['reference']}/status", {"status": "resolved"}, key=key)

    assert moved.status_code == 200 and moved.json()["status"] == "resolved"
    assert moved.json()["resolved_at"] is not None
    assert_problem(
        api.post(f"/cases/{case['reference']}/status", {"status": "paused"}, key=key),
        422,
        "invalid_request",
    )
    assert Case.objects.get().resolved_at <= timezone.now()


@pytest.mark.parametrize("idempotency_key", ["order\x00P-123456", "order\nP", "\x7f", "ñandú-1"])
def test_an_idempotency_key_with_control_characters_is_invalid_not_an_error(
    api, key, reason, idempotency_key
):
    """A NUL is refused by PostgreSQL in text (the row would raise, a 500): a key holds
    printable characters only, as the header's grammar says; anything printable is kept."""
    response = api.post("/cases", NEW_CASE, key=key, idempotency_key=idempotency_key)

    if idempotency_key.isprintable():
        assert response.status_code == 201
    else:
        body = assert_problem(response, 422, "invalid_request")
        assert "Idempotency-Key" in body["detail"]
        assert Case.objects.count() == 0
