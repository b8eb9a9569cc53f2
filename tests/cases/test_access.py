import logging
import re

import pytest
from django.test import Client
from django.utils import timezone

from cases import services
from cases.models import CaseAccessToken
from cases.services.access import _hash

pytestmark = pytest.mark.django_db


def test_link_opens_its_case_and_redirects_to_a_clean_url(client, make_case, open_link):
    case = make_case()

    response = open_link(case)

    assert response.status_code == 302
    assert response["Location"] == f"/es/cases/{case.reference}/"
    assert response["Referrer-Policy"] == "no-referrer"
    assert client.get(response["Location"]).status_code == 200


def test_a_session_never_opens_another_customers_case_even_by_editing_the_url(
    client, make_case, open_link
):
    mine = make_case("ana@example.com")
    theirs = make_case("luis@example.com", subject="Cobro doble")
    open_link(mine)

    response = client.get(f"/es/cases/{theirs.reference}/")

    assert response.status_code == 403
    assert "Cobro doble" not in response.text
    for action in ("message", "confirm", "reopen", "rate", "updates"):
        assert (
            client.post(f"/es/cases/{theirs.reference}/{action}/", {"body": "x"}).status_code == 403
        )


def test_unknown_and_foreign_references_get_the_same_locked_page(make_case):
    case = make_case()
    visitor = Client()

    foreign = visitor.get(f"/es/cases/{case.reference}/")
    unknown = visitor.get("/es/cases/ZZZZ-ZZZZ/")

    assert foreign.status_code == unknown.status_code == 403
    strip = lambda html: re.sub(r"[A-Za-z0-9]{64}", "", html)  # noqa: E731 (CSRF tokens)
    # Only the URL the visitor typed is echoed (in the language switcher).
    assert strip(foreign.text).replace(case.reference, "X") == strip(unknown.text).replace(
        "ZZZZ-ZZZZ", "X"
    )


def test_token_is_stored_only_as_a_hash_and_never_in_a_page_redirect_or_log(
    client, make_case, caplog
):
    case = make_case()
    url = services.issue_access_link(case=case)
    token = url.rstrip("/").rsplit("/", 1)[1]
    caplog.set_level(logging.DEBUG)

    response = client.get("/" + url.split("://", 1)[1].split("/", 1)[1], follow=True)

    assert not CaseAccessToken.objects.filter(token_hash=token).exists()
    assert CaseAccessToken.objects.filter(token_hash=_hash(token)).exists()
    assert token not in response.text
    assert all(token not in location for location, _ in response.redirect_chain)
    assert token not in caplog.text


def test_expired_link_offers_a_new_one_instead_of_an_error(client, make_case, caplog):
    case = make_case()
    url = services.issue_access_link(case=case)
    CaseAccessToken.objects.update(expires_at=timezone.now())
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]

    response = client.get(path)

    assert response.status_code == 200
    assert "Envíame un enlace nuevo" in response.text
    assert case.customer_email not in response.text
    assert path not in caplog.text


def test_revoked_link_no_longer_opens_the_case(client, make_case):
    case = make_case()
    url = services.issue_access_link(case=case)
    services.revoke_links(case=case)

    response = client.get("/" + url.split("://", 1)[1].split("/", 1)[1])

    assert response.status_code == 200 and "Envíame un enlace nuevo" in response.text


def test_garbage_tokens_are_a_page_not_an_error(client):
    for token in ["x", "a" * 500, "%00", "..", "<script>"]:
        assert client.get(f"/es/cases/access/{token}/").status_code in (200, 404)


def test_find_my_case_answers_the_same_for_known_and_unknown_details(
    make_case, django_capture_on_commit_callbacks
):
    case = make_case()
    strip = lambda html: re.sub(r"[A-Za-z0-9]{64}", "", html)  # noqa: E731

    with django_capture_on_commit_callbacks() as known_callbacks:
        known = Client().post(
            "/es/cases/find/", {"email": case.customer_email, "reference": case.reference}
        )
    with django_capture_on_commit_callbacks() as unknown_callbacks:
        unknown = Client().post(
            "/es/cases/find/", {"email": "nadie@example.com", "reference": "ZZZZ-ZZZZ"}
        )

    assert known.status_code == unknown.status_code == 200
    assert strip(known.text) == strip(unknown.text)
    # The same work in the request either way: the lookup happens in the task.
    assert len(known_callbacks) == len(unknown_callbacks) == 1


def test_find_emails_fresh_links_only_when_the_details_match(make_case):
    case = make_case()

    assert services.email_case_links(email="NADIE@example.com", reference=case.reference) == 0
    assert services.email_case_links(email="ANA@example.com", reference=case.reference.lower()) == 1
    assert services.email_case_links(email="ana@example.com") == 1


def test_find_is_rate_limited_per_email(make_case):
    for _ in range(3):
        assert Client().post("/es/cases/find/", {"email": "ana@example.com"}).status_code == 200

    response = Client().post("/es/cases/find/", {"email": "ana@example.com"})

    assert response.status_code == 429
    assert "Demasiadas solicitudes" in response.text


@pytest.mark.django_db(transaction=True)
def test_find_my_case_link_arrives_by_email_through_the_worker(
    celery_worker, smtp_server, make_case
):
    from tests.conftest import wait_for

    sink, _ = smtp_server
    sink.clear()
    case = make_case()
    wait_for(lambda: "ana@example.com" in sink.recipients())  # the "case opened" email
    sink.clear()

    Client().post("/es/cases/find/", {"email": "ana@example.com", "reference": case.reference})

    wait_for(lambda: sink.recipients() == ["ana@example.com"])
    body = sink.messages[0].get_body(("plain",)).get_content()
    assert case.reference in body and "/cases/access/" in body
