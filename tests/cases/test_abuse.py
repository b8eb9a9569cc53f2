"""Abuse of the public case pages: limits behind a proxy, stuffed deflections, tokens in logs."""

import logging
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from cases import services
from cases.models import CaseAccessToken, CaseLinkRequest, Deflection
from cases.services.contact import ARTICLE_DEFLECTIONS_PER_ADDRESS_AND_DAY
from tests.factories import ContactReasonFactory

pytestmark = pytest.mark.django_db


def test_the_contact_form_limit_counts_each_customer_behind_the_proxy(client, settings, reason):
    """Behind the proxy every request came from its address: five customers an hour closed the
    contact form for everyone."""
    settings.TRUSTED_PROXY_COUNT = 1

    def send(address: str, email: str):
        data = {"reason": reason.pk, "subject": "Mi tarjeta falla", "name": "Ana",
                "description": "Error 402 al pagar", "email": email}  # fmt: skip
        return client.post(
            "/es/contact/", data, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=address
        )

    statuses = [send(f"198.51.100.{n}", f"c{n}@example.com").status_code for n in range(8)]
    assert 429 not in statuses
    # One customer is still held to five an hour, whatever it writes in the header.
    spoofed = [send(f"192.0.2.{n}, 203.0.113.5", f"e{n}@example.com").status_code for n in range(6)]
    assert spoofed[-1] == 429


def solved(client, reason, address: str = "203.0.113.7", **extra):
    data = {"article": "como-devuelvo", "reason": str(reason.pk)}
    return client.post("/es/contact/solved/", data, REMOTE_ADDR=address, **extra)


def test_this_solved_it_counts_once_per_visitor_reason_and_day(client, reason):
    for _ in range(20):
        solved(client, reason)
    other = ContactReasonFactory(code="other", name_es="Otro", name_en="Other")
    solved(client, other)

    assert Deflection.objects.filter(reason=reason).count() == 1
    assert Deflection.objects.filter(reason=other).count() == 1


def test_this_solved_it_counts_again_the_next_day():
    reason = None
    now = timezone.now()
    first = services.record_article_deflection(
        language="es", visitor_hash="v", address_key="203.0.113.7", reason=reason, now=now
    )
    again = services.record_article_deflection(
        language="es", visitor_hash="v", address_key="203.0.113.7", reason=reason, now=now
    )
    next_day = services.record_article_deflection(
        language="es",
        visitor_hash="v",
        address_key="203.0.113.7",
        reason=reason,
        now=now + timedelta(days=1),
    )
    assert first is not None and again is None and next_day is not None


def test_cookie_less_clicks_cannot_stuff_avoided_contacts(reason):
    """Without cookies every click is a new visitor: the address holds the count back."""
    for number in range(50):
        solved(Client(), reason, HTTP_USER_AGENT=f"bot {number}")

    assert Deflection.objects.count() == ARTICLE_DEFLECTIONS_PER_ADDRESS_AND_DAY


# --- Case links never reach the logs ----------------------------------------------------------


def link_path(case) -> tuple[str, str]:
    """The path of a fresh link to ``case``, and its token."""
    path = urlsplit(services.issue_access_link(case=case)).path
    return path, path.rstrip("/").rsplit("/", 1)[-1]


def test_a_link_scanners_head_opens_nothing_and_logs_nothing(client, make_case, caplog):
    case = make_case()
    path, token = link_path(case)

    with caplog.at_level(logging.DEBUG):
        looked_at = client.head(path)
        renew = client.head(f"{path}renew/")

    assert looked_at.status_code == 200 and "no-store" in looked_at["Cache-Control"]
    assert renew.status_code == 302
    assert token not in caplog.text
    assert not CaseAccessToken.objects.filter(last_used_at__isnull=False).exists()
    assert CaseLinkRequest.objects.count() == 0
    assert client.get(f"/es/cases/{case.reference}/").status_code == 403  # no session given
    # The customer's own click still opens the case.
    assert client.get(path).status_code == 302
    assert client.get(f"/es/cases/{case.reference}/").status_code == 200


def test_a_csrf_failure_on_a_case_link_logs_no_token(make_case, caplog):
    path, token = link_path(make_case())

    with caplog.at_level(logging.DEBUG):
        response = Client(enforce_csrf_checks=True).post(f"{path}renew/")

    assert response.status_code == 403
    assert "Forbidden" in caplog.text and "[redacted]" in caplog.text
    assert token not in caplog.text
