"""An IMAP mailbox (``INBOUND_IMAP_URL``), read by a beat job: each new message is stored
(``BODY.PEEK[]``: reading does not mark it), then flagged seen, and moved to
``INBOUND_IMAP_ARCHIVE_FOLDER`` when one is set.

What is new is decided by UID, not by the seen flag (someone may read the mailbox with a mail
client): ``MailboxCursor`` keeps the folder's UIDVALIDITY and the highest UID stored, and
moves past a message only once it is stored. Only this module imports imapclient.
"""

import contextlib
import logging
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from inbound.models import MailboxCursor
from inbound.services import receive_message

logger = logging.getLogger(__name__)

SOURCE = "imap"
FETCH_CHUNK = 25
MAX_PER_RUN = 500


@dataclass(frozen=True)
class ImapMailbox:
    host: str
    port: int
    username: str
    password: str
    folder: str
    use_ssl: bool
    starttls: bool

    @classmethod
    def from_url(cls, url: str) -> "ImapMailbox":
        """``imaps://user:password@host:993/INBOX`` (TLS), ``imap://…?starttls=1`` or plain
        ``imap://`` (loopback and tests only). User and password are percent-encoded."""
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ValueError("INBOUND_IMAP_URL must look like imaps://user:password@host/INBOX")
        use_ssl = parts.scheme == "imaps"
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if use_ssl else 143),
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
            use_ssl=use_ssl,
            starttls=parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes"),
        )

    @property
    def name(self) -> str:
        return f"imap://{self.username}@{self.host}:{self.port}/{self.folder}"


def fetch_imap(
    mailbox: ImapMailbox, *, archive_folder: str = "", limit: int = MAX_PER_RUN, timeout=30.0
) -> int:
    """Store the messages that arrived in ``mailbox`` since the last run (at most ``limit``);
    returns how many were read. Connection and protocol errors are raised (the next run tries
    again from the same UID)."""
    context = ssl.create_default_context()
    client = IMAPClient(
        mailbox.host, port=mailbox.port, ssl=mailbox.use_ssl, ssl_context=context, timeout=timeout
    )
    try:
        if mailbox.starttls:
            client.starttls(context)
        client.login(mailbox.username, mailbox.password)
        return _read_new(client, mailbox, archive_folder=archive_folder, limit=limit)
    finally:
        with contextlib.suppress(IMAPClientError, OSError):
            client.logout()


def _read_new(client: IMAPClient, mailbox: ImapMailbox, *, archive_folder: str, limit: int) -> int:
    selected = client.select_folder(mailbox.folder)
    validity = int(selected.get(b"UIDVALIDITY", 0))
    cursor, _ = MailboxCursor.objects.get_or_create(mailbox=mailbox.name[:300])
    last = cursor.last_uid if cursor.uid_validity == validity else 0
    # "UID n:*" answers the highest UID even when it is below n: keep only what is new.
    uids = sorted(uid for uid in client.search(["UID", f"{last + 1}:*"]) if uid > last)[:limit]
    read = 0
    for start in range(0, len(uids), FETCH_CHUNK):
        chunk = uids[start : start + FETCH_CHUNK]
        fetched = client.fetch(chunk, ["BODY.PEEK[]"])
        for uid in chunk:
            raw = fetched.get(uid, {}).get(b"BODY[]")
            if raw is not None:
                receive_message(raw=raw, source=SOURCE, source_reference=f"{mailbox.folder}#{uid}")
                read += 1
            MailboxCursor.objects.filter(pk=cursor.pk).update(
                uid_validity=validity, last_uid=uid, updated_at=timezone.now()
            )
        client.add_flags(chunk, [b"\\Seen"])
        if archive_folder:
            _archive(client, chunk, archive_folder)
    return read


def _archive(client: IMAPClient, uids: list[int], folder: str) -> None:
    if not client.folder_exists(folder):
        client.create_folder(folder)
    if client.has_capability("MOVE"):
        client.move(uids, folder)
    else:
        client.copy(uids, folder)
        client.delete_messages(uids)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)
        else:
            client.expunge()
