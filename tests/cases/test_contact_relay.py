"""The contact form cannot be used to mail someone else a message of the visitor's choosing
(issue 12, finding 3)."""

import pytest
from django.test import Client

from cases.models import Case
from notifications.models import OutgoingMessage

pytestmark = pytest.mark.django_db

PHISH = "SECURITY NOTICE: your account is locked, sign in at http://phish.example/login"


def write(reason, *, email="victima@example.com", name="Ana", subject="Mi pedido", ip="10.0.0.1"):
    return Client(REMOTE_ADDR=ip).post(
        "/es/contact/",
        {
            "reason": reason.pk,
            "subject": subject,
            "description": "Texto del caso, que solo se ve en su página.",
            "name": name,
            "email": email,
            "website": "",
        },
    )


def acknowledgement(case: Case) -> OutgoingMessage:
    return OutgoingMessage.objects.get(dedupe_key=f"case:{case.pk}:opened")


def test_line_breaks_in_the_name_and_subject_are_folded_into_one_line(reason):
    write(reason, name="Ana\r\n\r\nBcc: todos@example.com", subject="Hola\n\n" + PHISH)

    case = Case.objects.get()
    assert case.customer_name == "Ana Bcc: todos@example.com"
    assert "\n" not in case.subject and "\r" not in case.subject


def test_the_acknowledgement_to_a_new_address_repeats_nothing_the_visitor_typed(reason):
    write(reason, name=PHISH, subject=PHISH)

    message = acknowledgement(Case.objects.get())
    assert "phish" not in (message.subject + message.body_text + message.body_html).lower()
    assert Case.objects.get().reference in message.body_text


def test_an_address_that_opened_its_link_is_greeted_with_its_own_words(reason, open_link):
    write(reason, name="Ana", subject="Mi pedido")
    open_link(Case.objects.get())

    write(reason, name="Ana", subject="Otro pedido", ip="10.0.0.2")

    message = acknowledgement(Case.objects.get(subject="Otro pedido"))
    assert "Hola, Ana" in message.body_text and "Otro pedido" in message.body_text


def test_one_recipient_stays_rate_limited_whoever_writes(reason):
    answers = [write(reason, ip=f"10.0.{n}.1").status_code for n in range(6)]

    assert answers[-1] == 429
    assert OutgoingMessage.objects.filter(recipient="victima@example.com").count() == 5
