from celery import shared_task

from cases import services


@shared_task
def send_case_links(email: str, reference: str = "") -> None:
    """Look up and email case links. A task, so the page answers the same whatever matched:
    the result is deliberately not returned."""
    services.email_case_links(email=email, reference=reference)


@shared_task
def send_pending_case_updates() -> int:
    return services.send_pending_updates()


@shared_task
def advance_idle_cases() -> dict[str, int]:
    return services.advance_idle_cases()


@shared_task
def tell_cases_about_incidents() -> int:
    return services.tell_cases_about_incidents()
