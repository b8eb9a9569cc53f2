"""Reads of the inbound app."""

from datetime import datetime, timedelta

from django.utils import timezone

from inbound.models import InboundMessage

Status = InboundMessage.Status


def inbound_backlog(*, now: datetime | None = None) -> dict[str, int]:
    """How much mail waits: for a task (``waiting``, of which ``late``: for more than five
    minutes, the sweeper's business) and for staff (``for_staff``: held or unprocessed)."""
    now = now or timezone.now()
    waiting = InboundMessage.objects.filter(status=Status.RECEIVED)
    return {
        "waiting": waiting.count(),
        "late": waiting.filter(received_at__lte=now - timedelta(minutes=5)).count(),
        "for_staff": InboundMessage.objects.filter(
            status__in=(Status.HELD, Status.UNPROCESSED)
        ).count(),
    }
