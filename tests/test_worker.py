import pytest

from foundation.models import WorkerHeartbeat
from foundation.tasks import record_worker_heartbeat
from tests.conftest import wait_for


@pytest.mark.django_db(transaction=True)
def test_task_sent_through_the_broker_is_run_by_a_separate_worker_process(celery_worker):
    record_worker_heartbeat.delay("probe-from-test")

    heartbeat = wait_for(lambda: WorkerHeartbeat.objects.filter(name="probe-from-test").first())
    assert heartbeat.seen_at is not None
    assert celery_worker.process.poll() is None
