import email
import email.policy
from collections.abc import Callable

import pytest

from inbound import services
from inbound.models import InboundMessage
from notifications.models import OutgoingMessage
from notifications.services import outbox
from tests.cases.conftest import make_case, open_link, opening_hours, reason  # noqa: F401
from tests.factories import ContactReasonFactory, ReasonGroupFactory
from tests.harness import PrivateDovecot


@pytest.fixture
def other_reason(db, opening_hours):  # noqa: F811
    """ "Other / none of these", where mail nobody could place is filed."""
    return ContactReasonFactory(
        code="other",
        parent=ReasonGroupFactory(code="something-else", name_es="Otra cosa", name_en="Other"),
        name_es="Otro / ninguno de estos",
        name_en="Other / none of these",
    )


@pytest.fixture
def dovecot():
    """A private Dovecot on a free port (Debian's dovecot-imapd), skipped when missing."""
    if not PrivateDovecot.available():
        pytest.skip(PrivateDovecot.MISSING)
    server = PrivateDovecot()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def deliver() -> Callable[..., InboundMessage]:
    """A message arrives (stored first) and its task runs, as the worker would run it."""

    def deliver_(raw: bytes, source: str = "test") -> InboundMessage:
        received = services.receive_message(raw=raw, source=source)
        services.process_message(message_id=received.message.pk)
        return InboundMessage.objects.get(pk=received.message.pk)

    return deliver_


def sent_email(row: OutgoingMessage) -> email.message.EmailMessage:
    """The outbox row as the mail server would receive it."""
    raw = outbox.build_email(row).message().as_bytes()
    return email.message_from_bytes(raw, policy=email.policy.default)


def case_mail(case, kind: str = "opened") -> email.message.EmailMessage:
    """The latest email of ``kind`` ("opened", "update"...) about ``case``, as sent."""
    rows = OutgoingMessage.objects.filter(dedupe_key__startswith=f"case:{case.pk}:{kind}")
    return sent_email(rows.latest("pk"))
