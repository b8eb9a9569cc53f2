from collections.abc import Iterator

import pytest

from tests.factories import StaffFactory
from tests.harness import WebhookReceiver
from webhooks import services
from webhooks.models import Delivery, EventType


@pytest.fixture(scope="session")
def webhook_server() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(webhook_server) -> WebhookReceiver:
    """The loopback receiver, emptied, answering 204; it verifies with the endpoint's secret."""
    webhook_server.clear()
    return webhook_server


@pytest.fixture
def endpoint(db, receiver):
    """An endpoint (owned by a staff member) at the receiver, subscribed to every event."""
    new = services.create_endpoint(
        name="CRM",
        url=receiver.url,
        event_types=list(EventType.values),
        owner=StaffFactory(email="integraciones@example.com"),
    )
    receiver.secret = new.secret
    return new.endpoint


def deliver_pending() -> dict[str, int]:
    """What the worker does with the queued tasks, in this process."""
    ids = list(
        Delivery.objects.filter(status=Delivery.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return services.deliver_many(delivery_ids=ids)
