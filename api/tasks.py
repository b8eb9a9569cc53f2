from celery import shared_task

from api import services


@shared_task
def purge_old_writes() -> dict[str, int]:
    return services.purge_old_writes()
