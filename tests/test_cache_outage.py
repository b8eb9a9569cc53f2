"""The shared cache (Redis in production) goes down: pages keep answering, writes are kept.

The cache holds only what can be lost: rate-limit windows, view counters, rendered article
bodies, the visitor's last search. A real Redis client is pointed at a port where nothing
listens, so every cache call fails the way it does while Redis restarts.
"""

import logging

import pytest
from django.core.cache import cache
from django.test import Client

from cases.models import Case, ContactReason
from foundation import ratelimit
from kb.models import SearchLog
from notifications.models import OutgoingMessage, Subscriber
from tests.factories import ContactReasonFactory, ReasonGroupFactory, TeamFactory

pytestmark = pytest.mark.django_db

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # port 1: connection refused at once


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": UNREACHABLE_REDIS,
        }
    }
    with pytest.raises(Exception):  # noqa: B017 (whatever the client raises)
        cache.get("anything")


@pytest.fixture
def reason(db) -> ContactReason:
    return ContactReasonFactory(
        code="delivery-late",
        parent=ReasonGroupFactory(code="orders", name_es="Pedidos", name_en="Orders"),
        name_es="Mi pedido no llega",
        name_en="My order has not arrived",
        team=TeamFactory(slug="deliveries", name_es="Envíos", name_en="Deliveries"),
    )


def test_search_answers_and_is_logged_while_the_cache_is_down(client, publish, cache_down):
    publish(title="Devoluciones sin coste", slug="devoluciones", body="Cómo devolver un pedido.")

    response = client.get("/es/search/", {"q": "devoluciones"})

    assert response.status_code == 200
    assert "Devoluciones sin coste" in response.text
    assert SearchLog.objects.filter(query="devoluciones").count() == 1


def test_article_page_answers_while_the_cache_is_down(client, publish, cache_down):
    article = publish(title="Plazos de entrega", slug="plazos", body="## Península\n\n48 horas.")

    response = client.get(article.get_absolute_url())

    assert response.status_code == 200
    assert '<h2 id="peninsula">' in response.text


def test_contact_form_opens_the_case_and_queues_its_email_while_the_cache_is_down(
    client, reason, cache_down, caplog
):
    with caplog.at_level(logging.WARNING, logger="foundation.ratelimit"):
        response = client.post(
            "/es/contact/",
            {
                "reason": reason.pk,
                "subject": "Mi pedido no ha llegado",
                "description": "Lo pedí hace dos semanas y sigue en reparto.",
                "name": "Ana",
                "email": "ana@example.com",
            },
            follow=True,
        )

    assert response.status_code == 200
    case = Case.objects.get(customer_email="ana@example.com")
    assert case.reference in response.text
    assert OutgoingMessage.objects.filter(dedupe_key=f"case:{case.pk}:opened").count() == 1
    assert "rate limit" in caplog.text  # the unchecked limit is logged, not silent


def test_subscribing_works_while_the_cache_is_down(client, cache_down):
    response = client.post(
        "/es/notices/subscribe/", {"email": "luis@example.com", "language": "es"}
    )

    assert response.status_code == 200
    subscriber = Subscriber.objects.get(email="luis@example.com")
    assert OutgoingMessage.objects.filter(recipient=subscriber.email).count() == 1


def test_rate_limit_still_refuses_past_the_limit_when_the_cache_answers():
    """The limiter lets requests through only when the cache cannot count them."""
    answers = [
        ratelimit.allow("test", "198.51.100.7", limit=2, window_seconds=60) for _ in range(3)
    ]

    assert answers == [True, True, False]


def test_rate_limit_lets_requests_through_when_the_cache_is_down(cache_down):
    answers = [
        ratelimit.allow("test", "198.51.100.7", limit=2, window_seconds=60) for _ in range(3)
    ]

    assert answers == [True, True, True]


def test_find_my_case_answers_the_same_while_the_cache_is_down(cache_down):
    response = Client().post("/es/cases/find/", {"email": "ana@example.com"})

    assert response.status_code == 200
