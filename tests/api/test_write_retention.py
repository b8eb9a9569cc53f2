"""How long an API write is remembered: a retry is replayed within API_IDEMPOTENCY_HOURS, then
refused while the write stays recorded (without its answer), then the row goes and the key is
new again. Every moment is relative to now, so the tests pass on any date."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from api import services
from api.models import ApiKey, ApiWrite
from api.tasks import purge_old_writes
from cases.models import Case
from tests.api.conftest import assert_problem
from tests.api.test_cases import NEW_CASE

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def _write(key: ApiKey, idempotency_key: str, now, body: bytes = b"{}"):
    """A write through the service itself, as the API's views make it, at ``now``."""
    calls = []

    def perform():
        calls.append(1)
        return 201, {"case": {"customer_name": "Ana Pérez"}}, "case:K7M2-Q9XA"

    outcome = services.write_once(
        key=key,
        idempotency_key=idempotency_key,
        method="POST",
        path="/api/v1/cases",
        body=body,
        perform=perform,
        now=now,
    )
    return outcome, len(calls)


@pytest.fixture
def api_key(key) -> ApiKey:
    return ApiKey.objects.get()


def test_the_record_outlives_the_window_in_which_a_retry_is_replayed():
    assert settings.API_WRITE_RETENTION_DAYS * 24 > settings.API_IDEMPOTENCY_HOURS


def test_a_retry_within_the_window_is_replayed_and_after_it_refused(api_key):
    start = timezone.now()
    window = timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    first, ran = _write(api_key, "order-1", start)
    assert ran == 1 and not first.replayed

    again, ran = _write(api_key, "order-1", start + window - HOUR)
    assert ran == 0 and again.replayed and again.body == first.body

    # Past the window: refused, whether or not the purge has dropped the answer yet.
    with pytest.raises(services.IdempotencyKeyExpired):
        _write(api_key, "order-1", start + window + HOUR)
    services.purge_old_writes(now=start + window + HOUR)
    with pytest.raises(services.IdempotencyKeyExpired):
        _write(api_key, "order-1", start + window + HOUR)
    # Another request under that key is still "reused", as before.
    with pytest.raises(services.IdempotencyKeyReused):
        _write(api_key, "order-1", start + window + HOUR, body=b'{"other": 1}')


def test_the_answer_is_dropped_after_the_window_and_the_row_after_the_retention(api_key):
    start = timezone.now()
    window = timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    retention = timedelta(days=settings.API_WRITE_RETENTION_DAYS)
    _write(api_key, "old", start)
    _write(api_key, "recent", start + window)

    assert services.purge_old_writes(now=start + window - HOUR) == {"blanked": 0, "deleted": 0}
    assert services.purge_old_writes(now=start + window + HOUR) == {"blanked": 1, "deleted": 0}
    old = ApiWrite.objects.get(idempotency_key="old")
    # Who wrote what, when, stays for audit; the customer's data in the answer does not.
    assert old.response == {}
    assert (old.key, old.method, old.path, old.status_code, old.resource) == (
        api_key,
        "POST",
        "/api/v1/cases",
        201,
        "case:K7M2-Q9XA",
    )
    assert old.created_at == start
    assert ApiWrite.objects.get(idempotency_key="recent").response != {}

    # Idempotent: a second run at the same moment finds nothing more to do.
    assert services.purge_old_writes(now=start + window + HOUR) == {"blanked": 0, "deleted": 0}

    assert services.purge_old_writes(now=start + retention + HOUR) == {"blanked": 1, "deleted": 1}
    assert list(ApiWrite.objects.values_list("idempotency_key", flat=True)) == ["recent"]

    # After the purge the key is free: a request with it is a new write.
    outcome, ran = _write(api_key, "old", start + retention + HOUR)
    assert ran == 1 and not outcome.replayed
    assert ApiWrite.objects.filter(idempotency_key="old").count() == 1


def test_the_purge_goes_in_batches(api_key):
    start = timezone.now()
    for number in range(5):
        _write(api_key, f"order-{number}", start)
    later = start + timedelta(days=settings.API_WRITE_RETENTION_DAYS) + HOUR

    assert services.purge_old_writes(now=later, limit=2) == {"blanked": 2, "deleted": 2}
    assert services.purge_old_writes(now=later, limit=2) == {"blanked": 2, "deleted": 2}
    assert services.purge_old_writes(now=later, limit=2) == {"blanked": 1, "deleted": 1}
    assert services.purge_old_writes(now=later, limit=2) == {"blanked": 0, "deleted": 0}
    assert not ApiWrite.objects.exists()


def test_through_the_api_a_late_retry_is_refused_then_new_after_the_purge(api, key, reason):
    idempotency_key = str(uuid.uuid4())
    start = timezone.now()
    first = api.post("/cases", NEW_CASE, key=key, idempotency_key=idempotency_key)
    assert first.status_code == 201

    with time_machine.travel(start + timedelta(hours=settings.API_IDEMPOTENCY_HOURS) - HOUR):
        again = api.post("/cases", NEW_CASE, key=key, idempotency_key=idempotency_key)
        assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()

    with time_machine.travel(start + timedelta(hours=settings.API_IDEMPOTENCY_HOURS) + HOUR):
        purge_old_writes()
        late = api.post("/cases", NEW_CASE, key=key, idempotency_key=idempotency_key)
        body = assert_problem(late, 422, "idempotency_key_expired")
        assert "Idempotency-Key" in body["title"]
    assert Case.objects.count() == 1

    with time_machine.travel(start + timedelta(days=settings.API_WRITE_RETENTION_DAYS) + HOUR):
        purge_old_writes()
        new = api.post("/cases", NEW_CASE, key=key, idempotency_key=idempotency_key)
        assert new.status_code == 201 and "Idempotent-Replayed" not in new
    assert Case.objects.count() == 2


def test_the_beat_schedule_runs_the_purge():
    tasks_run = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "api.tasks.purge_old_writes" in tasks_run
