"""Reads of the inbound app."""

from datetime import datetime, timedelta

from django.utils import timezone

from cases import selectors as cases_selectors
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


def file_rows(message: InboundMessage) -> list[dict]:
    """The files the message carried, each with what became of it: ``attachment`` (the key of
    its case file) or ``refused``, with why in the active language (a row stores the code and
    what the check found; rows written before that kept the words in ``reason``)."""
    rows = []
    for row in message.attachments or []:
        why = ""
        if row.get("refused"):
            why = (
                cases_selectors.refusal_message(row["refused"], row["params"])
                if "params" in row
                else row.get("reason", row["refused"])
            )
        rows.append({**row, "why": why})
    return rows
