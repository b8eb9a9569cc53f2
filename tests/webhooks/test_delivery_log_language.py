"""The delivery log in each reader's language: the site's own errors are stored as codes
(``DeliveryError``), whatever language the worker ran in, and said in the language of the
staff member reading the admin; what the network or the receiver answered is technical
English in both; rows written before the codes keep their text."""

import socket

import pytest
from django.utils import translation

from tests.webhooks.conftest import deliver_pending
from tests.webhooks.test_events import open_case
from webhooks import services
from webhooks.models import Attempt, Delivery, DeliveryError, DisabledReason

pytestmark = pytest.mark.django_db

PRIVATE = {
    "en": "That address is in a private network; webhooks go to public addresses.",
    "es": "Esa dirección está en una red privada; los webhooks van a direcciones públicas.",
}
DISABLED = {"en": "endpoint disabled", "es": "endpoint desactivado"}


def _page(admin_client, language: str, path: str) -> str:
    response = admin_client.get(path, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.text


def _other(language: str) -> str:
    return "es" if language == "en" else "en"


@pytest.mark.parametrize("language", ["es", "en"])
def test_a_refused_address_is_said_in_the_readers_language(
    admin_client, endpoint, receiver, settings, language
):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False

    def dns(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("10.0.0.7", port))]

    open_case()
    delivery = Delivery.objects.get()
    with translation.override("es"):  # the worker's language does not matter
        assert services.deliver(delivery_id=delivery.pk, resolver=dns) == "retry"
    delivery.refresh_from_db()
    assert delivery.last_error == DeliveryError.URL_PRIVATE == "url_private"
    assert Attempt.objects.get().error == "url_private"

    listing = _page(admin_client, language, "/admin/webhooks/delivery/")
    detail = _page(admin_client, language, f"/admin/webhooks/delivery/{delivery.pk}/change/")
    for page in (listing, detail):
        assert PRIVATE[language] in page
        assert PRIVATE[_other(language)] not in page
        assert "url_private" not in page
    assert detail.count(PRIVATE[language]) == 2  # the delivery's last error and its attempt


@pytest.mark.parametrize("language", ["es", "en"])
def test_a_disabled_endpoints_failed_deliveries_are_said_in_the_readers_language(
    admin_client, endpoint, receiver, language
):
    open_case()
    with translation.override("es"):
        services.disable_endpoint(
            endpoint_id=endpoint.pk, reason=DisabledReason.STAFF, tell_owner=False
        )
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("failed", "endpoint_disabled")

    detail = _page(admin_client, language, f"/admin/webhooks/delivery/{delivery.pk}/change/")
    assert DISABLED[language] in detail and DISABLED[_other(language)] not in detail


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_receivers_answer_stays_technical_english_and_old_rows_keep_their_text(
    admin_client, endpoint, receiver, language
):
    receiver.answer = 503
    open_case()
    open_case()
    with translation.override("es"):
        deliver_pending()
    failed, old = Delivery.objects.order_by("pk")
    assert failed.last_error == "HTTP 503"
    # Written before the codes, in the default language at the time: shown as written.
    Delivery.objects.filter(pk=old.pk).update(last_error="endpoint desactivado")

    listing = _page(admin_client, language, "/admin/webhooks/delivery/")
    assert "HTTP 503" in listing and "endpoint desactivado" in listing
