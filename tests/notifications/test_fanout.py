"""Fan-out through a real Celery worker over the real broker, into a real SMTP server."""

import collections
import signal

import kombu.pools
import pytest
from django.test import Client
from django.utils import timezone

from helpcenter.celery import app as celery_app
from notifications.models import Dispatch, OutgoingMessage, Subscriber
from notifications.services import announcements, outbox
from tests.conftest import WorkerProcess, subprocess_env, wait_for
from tests.factories import AnnouncementFactory, SubscriberFactory
from tests.harness import let_time_pass

pytestmark = pytest.mark.django_db(transaction=True)


def all_sent(count: int) -> bool:
    return (
        OutgoingMessage.objects.filter(kind="notice", status=OutgoingMessage.Status.SENT).count()
        == count
    )


def make_subscribers(count: int) -> list[str]:
    Subscriber.objects.bulk_create(
        [
            Subscriber(email=f"cliente{n}@example.com", language="es", confirmed_at=timezone.now())
            for n in range(count)
        ]
    )
    return [f"cliente{n}@example.com" for n in range(count)]


def publish():
    return announcements.publish_announcement(announcement=AnnouncementFactory.build(), actor=None)


def test_fan_out_sends_exactly_one_email_per_confirmed_subscriber(celery_worker, smtp_server):
    sink, _ = smtp_server
    sink.clear()
    expected = make_subscribers(40)
    SubscriberFactory(email="sin-confirmar@example.com", confirmed_at=None)
    SubscriberFactory(email="de-baja@example.com", unsubscribed_at=timezone.now())

    publish()

    wait_for(lambda: all_sent(40), timeout=60)
    assert sorted(sink.recipients()) == sorted(expected)
    assert Dispatch.objects.get().status == Dispatch.Status.SENDING
    message = sink.messages[0]
    assert str(message["List-Unsubscribe"]).strip().startswith("<http")
    assert "/notices/unsubscribe/" in message.get_body(("plain",)).get_content()


@pytest.mark.slow  # about 28 s: kept in `make test` and CI; `-m "not slow"` skips it
def test_worker_killed_mid_fan_out_loses_nothing_and_duplicates_at_most_what_was_in_flight(
    celery_worker, smtp_server, tmp_path
):
    sink, port = smtp_server
    sink.clear()
    celery_worker.stop()  # this test needs the only worker to be its own
    expected = make_subscribers(300)
    doomed = WorkerProcess(
        tmp_path / "doomed.log", subprocess_env(EMAIL_URL=f"smtp://127.0.0.1:{port}")
    )
    doomed.start()
    try:
        publish()
        wait_for(lambda: len(sink.recipients()) >= 60, timeout=60)
        doomed.kill()
        in_flight = set(
            OutgoingMessage.objects.filter(status=OutgoingMessage.Status.SENDING).values_list(
                "recipient", flat=True
            )
        )
        assert len(sink.recipients()) < 300, "the fan-out ended before the kill"

        # What the beat sweepers do a few minutes later: re-queue what the dead worker held.
        # Before the successor starts: moving the clock under a live worker would make the row
        # it is sending look stalled, and the sweeper would queue it a second time.
        let_time_pass(minutes=11)
        announcements.resume_unfinished_dispatches()
        outbox.requeue_stalled_messages()
        successor = WorkerProcess(
            tmp_path / "successor.log", subprocess_env(EMAIL_URL=f"smtp://127.0.0.1:{port}")
        )
        successor.start()
        try:
            wait_for(lambda: all_sent(300), timeout=120)
        finally:
            successor.stop()
    finally:
        doomed.stop(signal.SIGKILL)
        celery_worker.start()

    received = collections.Counter(sink.recipients())
    assert set(received) == set(expected), "someone was missed"
    duplicated = {address for address, count in received.items() if count > 1}
    # A message the server accepted in the instant before the worker died cannot be told apart
    # from one it never got: only those (still "sending" at the kill) may arrive twice. The
    # dead worker's rows in "sending" are its chunks (claimed together), but each pool process
    # had at most one message in an SMTP conversation.
    assert duplicated <= in_flight
    assert sum(count - 1 for count in received.values()) <= 2  # the worker's concurrency
    assert OutgoingMessage.objects.filter(kind="notice").count() == 300


def _point_web_process_at(url: str, **transport_options) -> None:
    celery_app.conf.update(
        broker_url=url, broker_write_url=url, broker_transport_options=transport_options
    )
    # The app and kombu keep pools of open connections: drop them so the next send uses the URL.
    celery_app.pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu.pools.reset()


def test_broker_down_at_publish_time_still_publishes_and_mails_when_it_returns(
    celery_worker, smtp_server
):
    sink, _ = smtp_server
    sink.clear()
    expected = make_subscribers(20)
    saved = {
        key: celery_app.conf[key]
        for key in ("broker_url", "broker_write_url", "broker_transport_options")
    }
    _point_web_process_at("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    try:
        announcement = publish()  # the task cannot be queued: logged, not raised
        page = Client().get("/es/contact/")  # the home lists notices instead of banners
    finally:
        _point_web_process_at(saved["broker_url"], **saved["broker_transport_options"])
        celery_app.conf.broker_write_url = saved["broker_write_url"]

    assert page.status_code == 200 and f'id="banner-{announcement.slug}"' in page.text
    assert Dispatch.objects.get().status == Dispatch.Status.PLANNING

    # The broker is back; a few minutes later the beat sweeper finds the mailing that never started.
    let_time_pass(minutes=3)
    announcements.resume_unfinished_dispatches()

    wait_for(lambda: all_sent(20), timeout=60)
    assert sorted(sink.recipients()) == sorted(expected)
