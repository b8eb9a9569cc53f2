"""The whole way: Alertmanager's webhook opens an incident that the site shows and the
subscribers receive (a real worker over the real broker, into a real SMTP server), and its
resolution reaches them too."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from api.models import Scope
from notifications.models import Announcement, Dispatch, OutgoingMessage
from tests.api.test_alerts import alertmanager, am_alert, send
from tests.conftest import wait_for
from tests.factories import AlertRuleFactory, SubscriberFactory

pytestmark = pytest.mark.django_db(transaction=True)


def subjects_sent(sink, count: int) -> list[str]:
    wait_for(
        lambda: OutgoingMessage.objects.filter(status=OutgoingMessage.Status.SENT).count() == count,
        timeout=60,
    )
    return sorted(str(message["Subject"]) for message in sink.messages)


def test_an_alertmanager_incident_reaches_the_site_and_the_subscribers_then_its_resolution(
    api, make_key, reason, client, celery_worker, smtp_server
):
    sink, _port = smtp_server
    sink.clear()
    SubscriberFactory(email="ana@example.com", language="es")
    SubscriberFactory(email="bob@example.com", language="en")
    AlertRuleFactory(publish_at_once=True)
    key = make_key([Scope.NOTICES_WRITE], name="Alertmanager")

    (opened,) = send(api, key, alertmanager(am_alert(instance="pay-1")))

    assert opened["outcome"] == "opened"
    assert subjects_sent(sink, 2) == [
        "Los pagos fallan (pay-1)",
        "Payments are failing (pay-1)",
    ]
    assert "Los pagos fallan (pay-1)" in client.get("/es/").text
    sink.clear()

    (resolved,) = send(api, key, alertmanager(am_alert(status="resolved", instance="pay-1")))

    assert resolved["outcome"] == "resolved"
    assert subjects_sent(sink, 4) == [
        "[Resolved] Payments are failing (pay-1)",
        "[Resuelto] Los pagos fallan (pay-1)",
    ]
    page = client.get("/en/notices/").text
    assert "Payments are failing (pay-1)" in page and "Resolved" in page


def test_replicas_delivering_the_same_group_at_the_same_moment_open_one_incident(make_key, reason):
    """Each replica of an Alertmanager cluster may send the group; they race, one opens."""
    AlertRuleFactory(publish_at_once=True)
    key = make_key([Scope.NOTICES_WRITE], name="Alertmanager")
    body = json.dumps(alertmanager(am_alert()))
    barrier = threading.Barrier(3)
    answers: list = []

    def replica() -> None:
        try:
            barrier.wait(timeout=10)
            response = Client().post(
                "/api/v1/alerts/alertmanager",
                body,
                content_type="application/json",
                headers={"authorization": f"Bearer {key}"},
            )
            answers.append((response.status_code, response.json()["alerts"][0]["outcome"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=replica) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(answers) == [(200, "opened"), (200, "updated"), (200, "updated")]
    assert Announcement.objects.count() == 1 and Dispatch.objects.count() == 1
