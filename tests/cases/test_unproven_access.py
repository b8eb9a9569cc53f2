"""The browser that submits the contact form never proved the address it typed: it sees the
case's status and what it wrote, never our replies; only the emailed link shows everything."""

import hashlib

import pytest
from django.test import Client
from django.utils import timezone

from cases import services
from cases.models import Case, CaseAccessToken, CaseEvent
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

FORM = {"subject": "Mi tarjeta falla", "description": "Error 402 al pagar", "name": "Ana",
        "email": "victima@example.com", "submission": "token-de-prueba-1234567890"}  # fmt: skip
REPLY = "Hola Ana, tu número de pedido 4411 tiene el reembolso listo."


def _submitted_by_someone_else(client, reason) -> Case:
    """Someone types another person's email into the form; staff later answer "the customer"."""
    assert client.post("/es/contact/", {**FORM, "reason": reason.pk}).status_code == 302
    case = Case.objects.get()
    services.reply_to_customer(case=case, body=REPLY, actor=StaffFactory())
    services.add_customer_message(case=Case.objects.get(), body="Mensaje de la dueña real")
    return Case.objects.get()


def test_the_submitting_browser_sees_status_and_what_it_wrote_but_not_our_replies(client, reason):
    case = _submitted_by_someone_else(client, reason)

    page = client.get(f"/es/cases/{case.reference}/")

    assert page.status_code == 200
    assert "Error 402 al pagar" in page.text and case.get_status_display() in page.text
    assert REPLY not in page.text and "4411" not in page.text
    assert "Mensaje de la dueña real" not in page.text
    assert "Abre el enlace que te enviamos" in page.text
    assert "victima@example.com" in page.text  # where the link went (the visitor typed it)
    assert "no-store" in page["Cache-Control"]
    received = client.get(f"/es/contact/received/{case.reference}/")
    assert received.status_code == 200 and REPLY not in received.text


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("message", {"body": "Cambia mi dirección"}),
        ("confirm", {}),
        ("answer", {"solved": "yes"}),
        ("reopen", {"body": "x"}),
        ("rate", {"rating": "1"}),
        ("updates", {"enabled": "0"}),
    ],
)
def test_the_submitting_browser_cannot_act_on_the_case(client, reason, action, data):
    case = _submitted_by_someone_else(client, reason)
    events = CaseEvent.objects.count()

    response = client.post(f"/es/cases/{case.reference}/{action}/", data)
    htmx = client.post(f"/es/cases/{case.reference}/{action}/", data, HTTP_HX_REQUEST="true")

    assert response.status_code == htmx.status_code == 403
    assert REPLY not in response.text and REPLY not in htmx.text
    case.refresh_from_db()
    assert CaseEvent.objects.count() == events
    assert case.customer_updates and case.satisfaction is None


def test_the_emailed_link_shows_everything_in_the_same_browser(client, reason, open_link):
    case = _submitted_by_someone_else(client, reason)

    open_link(case)
    page = client.get(f"/es/cases/{case.reference}/")

    assert REPLY in page.text and "Mensaje de la dueña real" in page.text
    assert "Abre el enlace que te enviamos" not in page.text
    assert client.post(f"/es/cases/{case.reference}/message/", {"body": "y"}).status_code == 302


def test_an_unproven_case_is_not_offered_to_add_to(client, reason):
    """ "Add to your open case" needs the emailed link: a second message from the same browser
    opens a case of its own instead of reaching into the first."""
    client.post("/es/contact/", {**FORM, "reason": reason.pk})
    again = client.post("/es/contact/", {**FORM, "reason": reason.pk, "submission": "otro-" * 5})

    assert again.status_code == 302 and "/contact/received/" in again["Location"]
    assert Case.objects.count() == 2


def test_a_grant_of_the_older_form_counts_as_unproven(client, make_case):
    case = make_case()
    services.reply_to_customer(case=case, body=REPLY, actor=StaffFactory())
    link = services.issue_access_link(case=case)
    token = CaseAccessToken.objects.get(
        token_hash=hashlib.sha256(link.split("/")[-2].encode()).hexdigest()
    )
    session = client.session
    session["case_grants"] = [[case.pk, token.pk, timezone.now().timestamp()]]  # no 4th part
    session.save()

    page = client.get(f"/es/cases/{case.reference}/")

    assert page.status_code == 200 and REPLY not in page.text


def test_a_stranger_guessing_the_reference_sees_nothing(client, reason):
    case = _submitted_by_someone_else(client, reason)
    stranger = Client()
    for path in (f"/es/contact/received/{case.reference}/", f"/es/cases/{case.reference}/"):
        response = stranger.get(path)
        assert response.status_code == 403 and case.subject not in response.text
