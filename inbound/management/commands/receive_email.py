"""Store one message read on standard input: the pipe of a Postfix or Exim alias.

    ayuda: "|/srv/helpcenter/.venv/bin/python /srv/helpcenter/manage.py receive_email"

Exit status 0 once the message is stored (its processing is queued, or left to the sweeper
while the broker is down); 75 (EX_TEMPFAIL) when it could not be stored, so that the mail
server keeps it and tries again later; 65 (EX_DATAERR) for empty input.
"""

import sys

from django.core.management.base import BaseCommand
from django.db import DatabaseError

from inbound.services import receive_message

EX_DATAERR = 65
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Store one email read on standard input (for a Postfix or Exim pipe)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--source", default="pipe", help="Recorded as the message's source.")

    def handle(self, *args, source: str, **options) -> None:
        raw = sys.stdin.buffer.read()
        if not raw.strip():
            self.stderr.write("receive_email: no message on standard input")
            sys.exit(EX_DATAERR)
        try:
            received = receive_message(raw=raw, source=source)
        except DatabaseError as error:
            self.stderr.write(f"receive_email: could not store the message: {error}")
            sys.exit(EX_TEMPFAIL)
        state = "already had" if received.duplicate else "stored"
        self.stdout.write(f"receive_email: {state} message {received.message.pk}")
