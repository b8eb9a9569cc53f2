from celery import shared_task

from cases import services


@shared_task
def answer_case_link_request(request_id: int) -> None:
    """Look up and email the case links of one request (a second run does nothing). A task, so
    the page answers the same whatever matched: the result is deliberately not returned."""
    services.answer_case_link_request(request_id=request_id)


@shared_task
def requeue_case_link_requests() -> int:
    return services.requeue_case_link_requests()


@shared_task
def send_pending_case_updates() -> int:
    return services.send_pending_updates()


@shared_task
def advance_idle_cases() -> dict[str, int]:
    return services.advance_idle_cases()


@shared_task
def tell_cases_about_incidents() -> int:
    return services.tell_cases_about_incidents()


@shared_task
def send_case_update(case_id: int) -> int:
    """A public reply was written: email it now rather than at the next beat tick."""
    return services.send_pending_updates(case_ids=[case_id])


@shared_task
def process_attachment(attachment_id: int) -> str:
    """Scan an attached file, make an image safe (no metadata) with its thumbnail, mark it
    ready; a second run does nothing."""
    return services.process_attachment(attachment_id=attachment_id)


@shared_task
def sweep_attachments() -> dict[str, int]:
    return services.sweep_attachments()


@shared_task
def sweep_attachment_files() -> int:
    return services.sweep_attachment_files()
