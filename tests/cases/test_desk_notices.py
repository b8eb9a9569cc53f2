"""Never ask twice: the desk's case page shows staff the notices its customer was sent (the
API's customer notices), what they said, when, whether the email went out and what they were
about, in Spanish and English."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import selectors, services
from cases.models import CustomerNotice
from notifications.models import OutgoingMessage
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

WORDS = {
    "es": {
        "title": "Lo que ya le contamos",
        "emailed": "Correo enviado",
        "failed": "El correo no se pudo enviar",
        "none": "Ningún aviso en los últimos 90 días.",
        "more": "Y 2 más en los últimos 90 días.",
        "reason": "Pagos / El pago falla al finalizar la compra",
    },
    "en": {
        "title": "What we already told them",
        "emailed": "Emailed",
        "failed": "The email failed",
        "none": "No notices sent in the last 90 days.",
        "more": "And 2 more in the last 90 days.",
        "reason": "Payments / Payment fails at checkout",
    },
}
LANGUAGES = ["es", "en"]


@pytest.fixture
def agent(client):
    user = StaffFactory(username="marta", first_name="Marta")
    user.user_permissions.add(Permission.objects.get(codename="change_case"))
    client.force_login(user)
    return user


def _notify(reason, *, email="ana@example.com", subject="Tu pedido P-123456 se retrasa", **more):
    return services.send_customer_notice(
        customer_email=email,
        language="es",
        reason=reason,
        subject=subject,
        body=more.pop("body", "El transportista cambió la entrega: llega el jueves."),
        external_reference="P-123456",
        actor=None,
        **more,
    )


def _told(page: str) -> str:
    start = page.index('id="told-title"')
    return page[start : page.index("</section>", start)]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_case_page_shows_what_the_customer_was_told(client, agent, make_case, reason, language):
    case = make_case("Ana@Example.com")
    sent = _notify(reason, email="ana@example.com", body="Llega el jueves.\n<b>sin</b> HTML")
    failed = _notify(reason, subject="Tu devolución", now=timezone.now() - timedelta(days=2))
    OutgoingMessage.objects.filter(dedupe_key=f"customer-notice:{sent.pk}").update(status="sent")
    OutgoingMessage.objects.filter(dedupe_key=f"customer-notice:{failed.pk}").update(
        status="failed"
    )
    _notify(reason, email="otro@example.com", subject="De otro cliente")
    _notify(reason, subject="Hace mucho", now=timezone.now() - timedelta(days=91))

    told = _told(client.get(f"/{language}/desk/cases/{case.reference}/").text)

    words = WORDS[language]
    assert words["title"] in told
    assert told.index("Tu pedido P-123456 se retrasa") < told.index("Tu devolución")  # newest first
    assert words["emailed"] in told and words["failed"] in told
    assert words["reason"] in told and "P-123456" in told
    assert "&lt;b&gt;sin&lt;/b&gt; HTML" in told and "<b>" not in told
    assert "De otro cliente" not in told and "Hace mucho" not in told


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_customer_told_nothing_says_so(client, agent, make_case, language):
    case = make_case()

    told = _told(client.get(f"/{language}/desk/cases/{case.reference}/").text)

    assert WORDS[language]["none"] in told


@pytest.mark.parametrize("language", LANGUAGES)
def test_many_notices_show_the_newest_and_how_many_more(client, agent, make_case, reason, language):
    case = make_case()
    now = timezone.now()
    for hours in range(selectors.DESK_NOTICES_SHOWN + 2):
        _notify(reason, subject=f"Aviso {hours}", now=now - timedelta(hours=hours))

    told = _told(client.get(f"/{language}/desk/cases/{case.reference}/").text)

    assert "Aviso 0" in told and f"Aviso {selectors.DESK_NOTICES_SHOWN - 1}" in told
    assert f"Aviso {selectors.DESK_NOTICES_SHOWN}" not in told
    assert WORDS[language]["more"] in told


def test_the_page_asks_the_same_queries_however_many_notices(client, agent, make_case, reason):
    case = make_case()
    url = f"/en/desk/cases/{case.reference}/"
    _notify(reason)
    client.get(url)  # what a process reads once

    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for hours in range(1, 4):
        _notify(reason, subject=f"Aviso {hours}", now=timezone.now() - timedelta(hours=hours))
    with CaptureQueriesContext(connection) as four:
        client.get(url)

    assert CustomerNotice.objects.count() == 4
    assert len(four) == len(one)
