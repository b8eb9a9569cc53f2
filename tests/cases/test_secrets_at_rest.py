"""No row of any table holds a working case link (issue 12, finding 1).

The outbox keeps every email a customer is sent; anyone allowed to read it (the Announcers
group could) would open the customer's case. Links are minted by the worker as it sends.
"""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.utils import timezone

from cases import services
from cases.models import Case
from notifications.models import OutgoingMessage
from tests.conftest import wait_for

# Anything that could be a token: a run of URL-safe characters, tried whole.
TOKEN_LIKE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{20,100}(?![A-Za-z0-9_-])")
LINK = re.compile(r"https?://\S+/cases/access/([A-Za-z0-9_-]+)/")


def every_text_in_the_database() -> list[str]:
    """Every non-null value of every column of every table, as text."""
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                values.extend(str(value) for value in row if value is not None)
    return values


def links_sent(sink) -> list[str]:
    return [
        token
        for message in sink.messages
        for token in LINK.findall(message.get_body(("plain",)).get_content())
    ]


def path_of(link_token: str) -> str:
    return f"/es/cases/access/{link_token}/"


@pytest.mark.django_db(transaction=True)
def test_no_row_of_any_table_holds_a_working_case_link(celery_worker, smtp_server, reason):
    sink, _ = smtp_server
    sink.clear()
    customer = Client()

    # The customer writes through the contact form; the worker sends the acknowledgement.
    customer.post(
        "/es/contact/",
        {
            "reason": reason.pk,
            "subject": "No puedo pagar",
            "description": "La tarjeta da error al final.",
            "name": "Ana",
            "email": "ana@example.com",
            "website": "",
        },
    )
    case = Case.objects.get(customer_email="ana@example.com")
    wait_for(lambda: len(links_sent(sink)) == 1)
    # The link in the email works: it was minted when the email left.
    opened = customer.get(path_of(links_sent(sink)[0]))
    assert opened.status_code == 302
    assert (
        customer.post(f"/es/cases/{case.reference}/message/", {"body": "Sigue igual"}).status_code
        == 302
    )

    # Staff reply; the update job emails the customer through the worker.
    services.reply_to_customer(case=case, body="Lo revisamos", actor=None)
    assert services.send_pending_updates(now=timezone.now() + timedelta(minutes=10)) == 1
    wait_for(lambda: len(links_sent(sink)) == 2)

    # "Find my case" from another browser: the links email, through the worker too.
    Client().post("/es/cases/find/", {"email": "ana@example.com"})
    wait_for(lambda: len(links_sent(sink)) == 3)
    wait_for(
        lambda: not OutgoingMessage.objects.exclude(status=OutgoingMessage.Status.SENT).exists()
    )

    sent_tokens = links_sent(sink)
    assert all(services.redeem_token(token=token)[1] == "ok" for token in sent_tokens)
    texts = every_text_in_the_database()
    assert OutgoingMessage.objects.filter(kind=OutgoingMessage.Kind.CASE).count() == 3
    for token in sent_tokens:
        assert not any(token in text for text in texts)
    candidates = {match for text in texts for match in TOKEN_LIKE.findall(text)}
    assert candidates  # the scan does see values (hashes, keys, ...)
    opened_by_a_candidate = [
        candidate
        for candidate in candidates
        if services.redeem_token(token=candidate)[1] != "invalid"
    ]
    assert opened_by_a_candidate == []


@pytest.mark.django_db
def test_announcers_never_see_case_mail_in_the_admin(make_case, client):
    case = make_case()
    announcer = User.objects.create_user("eva", password="x", is_staff=True)
    announcer.groups.add(Group.objects.get(name="Announcers"))
    client.force_login(announcer)
    case_mail = OutgoingMessage.objects.get(kind=OutgoingMessage.Kind.CASE)

    listing = client.get("/admin/notifications/outgoingmessage/")
    detail = client.get(f"/admin/notifications/outgoingmessage/{case_mail.pk}/change/")

    assert listing.status_code == 200 and case.reference not in listing.text
    assert detail.status_code == 302  # "does not exist" for them: back to the list
    assert not announcer.has_perm("notifications.view_case_mail")
    assert not announcer.has_perm("notifications.view_subscriber")
