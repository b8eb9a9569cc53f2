from celery import shared_task
from django.utils import timezone

from foundation import counters
from foundation.models import WorkerHeartbeat


@shared_task
def record_worker_heartbeat(name: str = "worker") -> None:
    """Note that a worker is alive; /healthz reports how long ago that was."""
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})


@shared_task
def flush_counters() -> int:
    """Move the day's counters (visits, contact form opened, ...) from the cache to the database."""
    return counters.flush_counters()
