"""The embedded source: a Maildir folder (``INBOUND_MAILDIR``, ``var/mail-in/`` by default)
that the worker reads every few seconds (a beat job), so the whole loop runs with no mail
server. Any program that delivers to a Maildir (a mail client, Postfix, ``cp`` then ``mv``)
can feed it.

Each message in ``new/`` is stored, then moved to ``cur/`` (flagged seen), as a mail client
would. A crash between the two stores it again next time, which the dedupe key makes one.
"""

import contextlib
import logging
import os
from pathlib import Path

from inbound.services import receive_message

logger = logging.getLogger(__name__)

SOURCE = "maildir"
MAX_PER_RUN = 500


def ensure_maildir(folder: Path) -> None:
    for sub in ("tmp", "new", "cur"):
        (folder / sub).mkdir(parents=True, exist_ok=True)


def fetch_maildir(folder: Path, *, limit: int = MAX_PER_RUN) -> int:
    """Store what is waiting in ``folder/new`` (oldest first, at most ``limit``); returns how
    many messages were read."""
    ensure_maildir(folder)
    new, cur = folder / "new", folder / "cur"
    try:
        entries = sorted(
            (
                entry
                for entry in os.scandir(new)
                if entry.is_file() and not entry.name.startswith(".")
            ),
            key=lambda entry: (entry.stat().st_mtime, entry.name),
        )
    except FileNotFoundError:
        return 0
    read = 0
    for entry in entries[:limit]:
        path = Path(entry.path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:  # another run took it
            continue
        receive_message(raw=raw, source=SOURCE, source_reference=entry.name)
        name = entry.name if ":2," in entry.name else f"{entry.name}:2,S"
        with contextlib.suppress(FileNotFoundError):
            path.rename(cur / name)
        read += 1
    return read
