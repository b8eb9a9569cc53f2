from celery import shared_task

from notifications.services import alerts, announcements, outbox, webhook_owners


@shared_task(bind=True, max_retries=outbox.MAX_ATTEMPTS)
def send_outgoing_message(self, message_id: int) -> str:
    """Send one outbox row if it is still due (a second run finds it sent and does nothing)."""
    try:
        return outbox.deliver_message(message_id=message_id)
    except outbox.TransientSendError as error:
        raise self.retry(countdown=min(30 * 2**self.request.retries, 3600), exc=error) from error


@shared_task
def send_message_batch(message_ids: list[int]) -> dict[str, int]:
    """Send a chunk of outbox rows over one connection; rows that must wait stay queued
    with their back-off and are picked up by the sweeper."""
    return outbox.deliver_messages(message_ids=message_ids)


@shared_task
def requeue_stalled_messages() -> int:
    return outbox.requeue_stalled_messages()


@shared_task
def purge_old_message_bodies() -> int:
    """Blank the bodies of emails delivered longer ago than the retention (idempotent)."""
    return outbox.purge_old_bodies()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def plan_dispatch(dispatch_id: int) -> int:
    """Write a mailing's outbox rows (resumable: a killed worker's successor continues)."""
    return announcements.plan_dispatch(dispatch_id=dispatch_id)


@shared_task
def process_due_announcements() -> dict[str, int]:
    return announcements.process_due_announcements()


@shared_task
def resume_unfinished_dispatches() -> int:
    return announcements.resume_unfinished_dispatches()


@shared_task
def promote_pending_alerts() -> int:
    """Open the incidents of alerts that have now fired for their rule's minimum duration."""
    return alerts.promote_pending_alerts()


@shared_task
def resolve_silent_alerts() -> int:
    """Resolve the alerts (and incidents) that stopped arriving: not received for their rule's
    silence, or past the end they announced."""
    return alerts.resolve_silent_alerts()


@shared_task
def tell_owners_of_disabled_webhooks() -> int:
    """Email the owners of webhook endpoints disabled for failing (once per disabling)."""
    return webhook_owners.tell_owners_of_disabled_webhooks()
