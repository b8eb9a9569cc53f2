"""Deliveries through a real Celery worker over the real broker, to the loopback receiver."""

import collections
import signal

import pytest

from tests.conftest import WorkerProcess, broker_unreachable, subprocess_env, wait_for
from tests.harness import let_time_pass
from tests.webhooks.test_events import open_case
from webhooks import services
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)


def delivered(count: int) -> bool:
    return Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == count


def test_a_worker_posts_the_event_after_commit(celery_worker, endpoint, receiver):
    case = open_case()

    wait_for(lambda: delivered(1), timeout=30)
    assert receiver.bodies[0]["data"]["case"]["reference"] == case.reference


def test_broker_down_at_commit_the_sweeper_sends_later(celery_worker, endpoint, receiver):
    with broker_unreachable():
        open_case()  # the task cannot be queued: logged, not raised

    assert Delivery.objects.get().status == Delivery.Status.PENDING
    let_time_pass(minutes=6)  # the beat's sweeper, a few minutes later
    assert services.requeue_due_deliveries() == 1

    wait_for(lambda: delivered(1), timeout=30)
    assert len(receiver.ids()) == 1


def test_the_first_retry_leaves_five_seconds_later_without_the_sweeper(
    celery_worker, endpoint, receiver
):
    receiver.answer = 503  # the first attempt fails; the retry finds the receiver back
    open_case()
    wait_for(lambda: len(receiver.received) == 1, timeout=30)
    receiver.answer = 204

    wait_for(lambda: delivered(1), timeout=20)  # no sweeper runs in the tests
    (first, *_), (second, *_) = receiver.received
    assert 4.5 <= second - first < 9  # 5 s after the attempt began (its post took a moment)
    assert Delivery.objects.get().attempts == 2


@pytest.mark.slow  # about 20 s: kept in `make test` and CI; `-m "not slow"` skips it
def test_worker_killed_mid_delivery_loses_and_duplicates_nothing(
    celery_worker, endpoint, receiver, tmp_path
):
    celery_worker.stop()  # this test needs the only worker to be its own
    receiver.delay = 0.05  # a receiver slow enough that the kill lands mid-post
    doomed = WorkerProcess(tmp_path / "doomed.log", subprocess_env())
    doomed.start()
    try:
        for _ in range(80):
            open_case()
        expected = set(Delivery.objects.values_list("event_id", flat=True))
        # A worker starting on a busy machine can take a while to post its first twenty.
        wait_for(lambda: len(receiver.ids()) >= 20, timeout=120)
        doomed.kill()
        in_flight = set(
            Delivery.objects.filter(status=Delivery.Status.SENDING).values_list(
                "event_id", flat=True
            )
        )
        delivered_at_kill = set(
            Delivery.objects.filter(status=Delivery.Status.DELIVERED).values_list(
                "event_id", flat=True
            )
        )
        assert len(receiver.ids()) < 80, "the deliveries ended before the kill"

        # What the beat's sweeper does a few minutes later: queue what the dead worker held.
        # (Before the successor starts: moving the clock of a row a live worker is posting
        # would hand it to another as if its lease had run out.)
        let_time_pass(minutes=11)
        services.requeue_due_deliveries()
        successor = WorkerProcess(tmp_path / "successor.log", subprocess_env())
        successor.start()
        try:
            wait_for(lambda: delivered(80), timeout=120)
        finally:
            successor.stop()
    finally:
        doomed.stop(signal.SIGKILL)
        celery_worker.start()

    received = collections.Counter(receiver.ids())
    assert set(received) == expected, "an event was lost"
    assert not receiver.rejected
    twice = {event_id for event_id, count in received.items() if count > 1}
    # No delivered row is ever posted again. Only a post in flight at the kill (its answer
    # unrecorded) may reach the receiver twice, with the same webhook-id, which Standard
    # Webhooks receivers use to drop what they already processed: one per pool process.
    assert not twice & delivered_at_kill
    assert twice <= in_flight and len(twice) <= 2
    assert Delivery.objects.count() == 80
