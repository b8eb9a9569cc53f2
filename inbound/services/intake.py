"""Every source hands a message here first: its bytes are stored before anything reads them,
and its processing is queued after commit (a sweeper finds it if the broker is down)."""

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from foundation.queueing import enqueue_after_commit
from inbound.models import InboundMessage
from inbound.services.parsing import message_identity

logger = logging.getLogger(__name__)

# Queued by name (foundation.queueing): tasks import services, never the reverse.
PROCESS_TASK = "inbound.tasks.process_inbound_message"


@dataclass(frozen=True)
class Received:
    message: InboundMessage
    duplicate: bool  # this message was already here: nothing new was stored or queued


def receive_message(
    *, raw: bytes, source: str, source_reference: str = "", now: datetime | None = None
) -> Received:
    """Store one raw message (whatever it holds: nothing is parsed but its identity) and
    queue its processing after commit.

    Idempotent: a message already stored (same Message-ID and content, by whatever source)
    is counted, not stored again, and not processed again.
    """
    now = now or timezone.now()
    message_id, content_hash = message_identity(raw)
    key = hashlib.sha256(f"{message_id}\n{content_hash}".encode()).hexdigest()
    try:
        with transaction.atomic():
            message = InboundMessage.objects.create(
                source=source[:40],
                source_reference=source_reference[:200],
                raw=raw,
                size=len(raw),
                message_id=message_id,
                dedupe_key=key,
                received_at=now,
            )
            enqueue_after_commit(PROCESS_TASK, message.pk)
    except IntegrityError:
        existing = InboundMessage.objects.get(dedupe_key=key)
        InboundMessage.objects.filter(pk=existing.pk).update(times_received=F("times_received") + 1)
        logger.info("Inbound message %s received again (%s)", existing.pk, source)
        return Received(message=existing, duplicate=True)
    return Received(message=message, duplicate=False)
