"""Contact reasons, opening hours, closures and subscriptions through the API."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from notifications.models import CalendarException, OutgoingMessage, Subscriber
from tests.api.conftest import assert_problem

pytestmark = pytest.mark.django_db


def test_contact_reasons_in_both_languages_with_any_key(api, make_key, reason):
    secret = make_key(scopes=[])

    items = api.get("/contact-reasons", key=secret).json()["items"]

    # Every installation also has "Other / none of these" (cases' migration 0010), last.
    assert [item["code"] for item in items] == ["order-stuck-preparing", "other"]
    assert items[:1] == [
        {
            "code": "order-stuck-preparing",
            "group": {"code": "orders", "name_es": "Pedidos", "name_en": "Orders"},
            "name_es": "Mi pedido lleva días “En preparación”",
            "name_en": "My order has been “Being prepared” for days",
            "description_es": "",
            "description_en": "",
            "is_status_inquiry": False,
            "first_response_hours": 4,
            "resolution_days": 2,
        }
    ]


def test_opening_hours_in_the_services_time_zone(api, key, reason, settings):
    body = api.get("/opening-hours", key=key).json()

    assert body["time_zone"] == settings.TIME_ZONE
    assert body["weekly"][0] == {"weekday": 0, "opens_at": "09:00:00", "closes_at": "18:00:00"}
    assert [hours["weekday"] for hours in body["weekly"]] == [0, 1, 2, 3, 4]


def test_closures_ahead_with_when_the_service_reopens(api, key, reason):
    day = timezone.localdate() + timedelta(days=10)
    CalendarException.objects.create(date=day, label_es="Fiesta", label_en="Holiday", closed=True)
    CalendarException.objects.create(
        date=day + timedelta(days=100), label_es="Lejos", label_en="Far", closed=True
    )

    items = api.get("/closures", key=key, days=30).json()["items"]

    assert [(item["date"], item["label_en"], item["closed"]) for item in items] == [
        (day.isoformat(), "Holiday", True)
    ]
    assert items[0]["reopens_at"] is not None
    assert_problem(api.get("/closures", key=key, days=0), 422, "invalid_request")


def test_a_subscription_asked_through_the_api_still_waits_for_the_persons_confirmation(api, key):
    response = api.post(
        "/subscribers",
        {"email": "luis@example.com", "language": "en", "kinds": ["incident"]},
        key=key,
    )

    assert response.status_code == 202
    assert response.json() == {"status": "confirmation_requested"}
    subscriber = Subscriber.objects.get()
    assert subscriber.confirmed_at is None and not subscriber.is_active
    assert OutgoingMessage.objects.get().recipient == "luis@example.com"
    assert_problem(
        api.post("/subscribers", {"email": "no", "language": "en"}, key=key), 422, "invalid_request"
    )


def test_opening_hours_on_a_day_of_special_hours(api, key, reason):
    day = timezone.localdate() + timedelta(days=3)
    CalendarException.objects.create(
        date=day,
        label_es="Horario reducido",
        label_en="Short day",
        closed=False,
        opens_at=time(10),
        closes_at=time(14),
    )

    items = api.get("/closures", key=key).json()["items"]

    assert items[0]["opens_at"] == "10:00:00" and items[0]["closed"] is False


def test_a_key_cannot_mail_one_address_confirmation_after_confirmation(api, key):
    """The site's form asks for 3 confirmations an hour per address at most; the API is held
    to the same count (kept by the service, shared with the form), so a key cannot flood
    someone's mailbox with confirmations they never asked for."""
    for _attempt in range(3):
        response = api.post(
            "/subscribers", {"email": "luis@example.com", "language": "en"}, key=key
        )
        assert response.status_code == 202
    OutgoingMessage.objects.all().delete()  # (one a minute at most anyway): the count matters

    refused = api.post("/subscribers", {"email": "Luis@Example.com", "language": "en"}, key=key)

    assert_problem(refused, 422, "too_many_requests")
    assert not OutgoingMessage.objects.exists()
