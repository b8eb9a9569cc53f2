from celery import shared_task

from insights import services


@shared_task
def roll_up_recent_days() -> int:
    """Refresh the last days' rollups (every few minutes; idempotent)."""
    return services.roll_up_recent_days()


@shared_task
def send_weekly_digests() -> int:
    """Hourly: from Monday morning on, whoever has not had last week's digest gets it."""
    return services.send_due_weekly_digests()
