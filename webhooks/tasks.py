from celery import shared_task

from webhooks import services


@shared_task
def deliver_webhook(delivery_id: int) -> str:
    """Post one delivery if it is still due (a second run finds it delivered: nothing)."""
    return services.deliver(delivery_id=delivery_id)


@shared_task
def deliver_webhook_batch(delivery_ids: list[int]) -> dict[str, int]:
    return services.deliver_many(delivery_ids=delivery_ids)


@shared_task
def requeue_due_deliveries() -> int:
    return services.requeue_due_deliveries()


@shared_task
def purge_old_deliveries() -> int:
    return services.purge_old_deliveries()
