"""Checks behind /healthz: each returns a state ("ok", "degraded" or "down") and a detail."""

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.db import connection
from django.utils import timezone

from foundation.models import WorkerHeartbeat
from helpcenter import broker
from helpcenter.celery import app as celery_app
from kb.selectors import search_fast_path, search_index_status

WORKER_STALE_AFTER = timedelta(minutes=3)


@dataclass(frozen=True)
class Check:
    state: str
    detail: str = ""

    def as_dict(self) -> dict:
        return {"state": self.state, "detail": self.detail}


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means the same thing to a load balancer
        return Check("down", type(exc).__name__)
    return Check("ok", connection.vendor)


def check_broker() -> Check:
    url = celery_app.conf.broker_url
    if broker.is_filesystem(url):
        folder = Path(celery_app.conf.broker_transport_options["data_folder_in"])
        if folder.is_dir() and os.access(folder, os.W_OK):
            return Check("ok", "filesystem")
        return Check("down", "filesystem broker folder missing or not writable")
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception as exc:
        return Check("down", type(exc).__name__)
    return Check("ok", url.split("://", 1)[0])


def check_search_index() -> Check:
    status = search_index_status()
    if status == "ok":
        return Check("ok")
    # Search falls back to the database, so the site still answers: degraded, not down.
    return Check("degraded", f"index {status}; run manage.py rebuild_search_index")


def check_search_fast_path() -> Check:
    fast_path = search_fast_path()
    if fast_path is None:
        return Check("ok", "the search backend has no separate fast path")
    if fast_path.active:
        return Check("ok", "active")
    # Same results, but searches of common words take hundreds of milliseconds.
    return Check("degraded", f"off: {fast_path.reason}")


def check_worker(*, now: datetime | None = None) -> Check:
    try:
        heartbeat = WorkerHeartbeat.objects.filter(name="worker").first()
    except Exception:
        return Check("degraded", "unknown")
    if heartbeat is None:
        return Check("degraded", "no heartbeat yet")
    age = (now or timezone.now()) - heartbeat.seen_at
    state = "ok" if age <= WORKER_STALE_AFTER else "degraded"
    return Check(state, f"last seen {int(age.total_seconds())} s ago")


def run_checks() -> tuple[bool, dict[str, dict]]:
    """Return (healthy, report). Unhealthy means the database or the broker is down."""
    checks = {
        "database": check_database(),
        "broker": check_broker(),
        "search_index": check_search_index(),
        "search_fast_path": check_search_fast_path(),
    }
    checks["worker"] = check_worker() if checks["database"].state == "ok" else Check("down", "")
    healthy = all(checks[name].state != "down" for name in ("database", "broker"))
    return healthy, {name: check.as_dict() for name, check in checks.items()}
