from celery import shared_task
from django.conf import settings

from inbound import services
from inbound.sources.imap import ImapMailbox, fetch_imap
from inbound.sources.maildir import fetch_maildir


@shared_task
def process_inbound_message(message_id: int) -> str:
    """Handle one stored message (a second run does nothing)."""
    return services.process_message(message_id=message_id)


@shared_task
def process_waiting_inbound_messages() -> int:
    """The sweeper: messages whose task was lost (broker down, worker killed) are queued again."""
    return services.process_waiting_messages()


@shared_task
def fetch_inbound_maildir() -> int:
    """The embedded source: read what was dropped into INBOUND_MAILDIR/new."""
    if not settings.INBOUND_MAILDIR:
        return 0
    return fetch_maildir(settings.INBOUND_MAILDIR)


@shared_task
def fetch_inbound_imap() -> int:
    """Read the new messages of INBOUND_IMAP_URL's folder (nothing when it is not set)."""
    if not settings.INBOUND_IMAP_URL:
        return 0
    return fetch_imap(
        ImapMailbox.from_url(settings.INBOUND_IMAP_URL),
        archive_folder=settings.INBOUND_IMAP_ARCHIVE_FOLDER,
    )
