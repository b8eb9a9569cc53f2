"""A link placeholder typed by a visitor must not become someone else's live link.

The outbox mints a fresh link wherever an email body holds ``%%LINK:<scope>:<id>%%``. The
acknowledgement echoes the subject once the address has opened a link, so a visitor who typed
``%%LINK:case:<id of someone else's case>%%`` as a subject was mailed a working link to that
case (ids are sequential). A link now goes only to the address it belongs to."""

import re

import pytest

from cases import services
from cases.models import Case
from notifications.models import OutgoingMessage, Subscriber
from notifications.services import outbox

pytestmark = pytest.mark.django_db


def _open_own_link(client, case) -> None:
    url = services.issue_access_link(case=case)
    assert client.get("/" + url.split("://", 1)[1].split("/", 1)[1]).status_code == 302


def test_a_typed_case_placeholder_mints_no_link_to_someone_elses_case(
    client, make_case, reason, smtp_sink
):
    victim = make_case("victima@example.com", subject="Mi pedido 4411")
    own = make_case("atacante@example.com")
    _open_own_link(client, own)  # the address is proven: its acknowledgements echo the subject
    Case.objects.filter(pk=own.pk).update(status=Case.Status.CLOSED)  # nothing to add to
    OutgoingMessage.objects.all().delete()
    smtp_sink.clear()

    client.post(
        "/es/contact/",
        {"reason": reason.pk, "subject": f"%%LINK:case:{victim.pk}%%", "name": "X",
         "description": "x", "email": "atacante@example.com", "submission": "s" * 24},
    )  # fmt: skip
    acknowledgement = OutgoingMessage.objects.get(recipient="atacante@example.com")
    outbox.deliver_message(message_id=acknowledgement.pk)

    victim_tokens = set(victim.access_tokens.values_list("pk", flat=True))
    assert victim_tokens == set()  # nothing minted for the victim's case
    for message in smtp_sink.messages:  # every link mailed to the attacker opens their own case
        for token in re.findall(r"/cases/access/([A-Za-z0-9_-]+)/", message.as_string()):
            opened, state = services.redeem_token(token=token)
            assert state == "ok" and opened.customer_email == "atacante@example.com"


def test_a_case_link_is_minted_only_for_the_cases_own_address(make_case):
    case = make_case("ana@example.com")
    assert services.access.mint_emailed_link(case.pk, recipient="ANA@example.com")
    assert services.access.mint_emailed_link(case.pk, recipient="otra@example.com") is None
    assert not case.access_tokens.exclude(last_used_at=None).exists()


def test_a_subscription_link_is_minted_only_for_the_subscribers_address():
    from notifications.services import subscribers

    subscriber = Subscriber.objects.create(email="ana@example.com", language="es")
    for mint in (subscribers.mint_confirmation_link, subscribers.mint_manage_link):
        assert mint(subscriber.pk, recipient="ana@example.com")
        assert mint(subscriber.pk, recipient="otra@example.com") is None
