"""A browser's access to a case lives no longer than its link, and is never lent to another
person (issue 12, findings 5 and 6)."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from cases import services
from cases.models import CaseAccessToken
from notifications.models import Announcement

pytestmark = pytest.mark.django_db


def test_revoking_the_links_ends_the_sessions_opened_with_them(client, make_case, open_link):
    case = make_case()
    open_link(case)
    assert client.get(f"/es/cases/{case.reference}/").status_code == 200

    services.revoke_links(case=case)

    assert client.get(f"/es/cases/{case.reference}/").status_code == 403
    assert client.post(f"/es/cases/{case.reference}/message/", {"body": "x"}).status_code == 403


def test_an_expired_link_ends_the_session_opened_with_it(client, make_case, open_link):
    case = make_case()
    open_link(case)

    CaseAccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert client.get(f"/es/cases/{case.reference}/").status_code == 403


def test_a_case_session_ends_after_its_absolute_lifetime_however_active(
    client, make_case, open_link
):
    case = make_case()
    open_link(case)
    lifetime = timedelta(hours=settings.CASE_SESSION_HOURS)

    with time_machine.travel(timezone.now() + lifetime - timedelta(minutes=5)):
        assert client.get(f"/es/cases/{case.reference}/").status_code == 200
    with time_machine.travel(timezone.now() + lifetime + timedelta(minutes=5)):
        assert client.get(f"/es/cases/{case.reference}/").status_code == 403


def test_a_session_from_before_the_binding_opens_nothing(client, make_case):
    case = make_case()
    session = client.session
    session["case_access"] = [case.pk]  # the old format: a bare list of case ids
    session["case_grants"] = [case.pk]
    session.save()

    assert client.get(f"/es/cases/{case.reference}/").status_code == 403


def test_dismissing_an_unknown_notice_does_not_save_the_session(client):
    response = client.post("/es/notices/no-such-notice/dismiss/", {"next": "/es/"})

    assert response.status_code in (302, 404)
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_dismissing_a_live_notice_is_remembered(client):
    Announcement.objects.create(
        slug="corte",
        kind=Announcement.Kind.INCIDENT,
        title_es="Corte",
        title_en="Outage",
        body_es="x",
        body_en="x",
        publication=Announcement.Publication.PUBLISHED,
        published_at=timezone.now(),
    )

    response = client.post("/es/notices/corte/dismiss/", {"next": "/es/"})

    assert response.status_code == 302
    assert client.session["dismissed_notices"] == ["corte"]


def test_the_contact_form_fills_in_the_case_opened_most_recently(make_case, open_link, client):
    mine = make_case("ana@example.com", customer_name="Ana")
    forwarded = make_case("luis@example.com", customer_name="Luis")
    open_link(forwarded)  # someone's link, opened on this browser first ...
    open_link(mine)  # ... then the visitor's own

    page = client.get("/es/contact/")

    assert 'value="ana@example.com"' in page.text and 'value="luis@example.com"' not in page.text
    assert "Ana" in page.text


def test_a_forwarded_link_does_not_lend_its_owners_identity_for_long(make_case, open_link, client):
    owner = make_case("luis@example.com", customer_name="Luis")
    open_link(owner)

    page = client.get("/es/contact/")
    # The browser says whose case it holds, and offers to forget it.
    assert "Luis" in page.text and "¿No eres tú?" in page.text
    assert 'action="/es/cases/forget/"' in page.text

    forgot = client.post("/es/cases/forget/")

    assert forgot.status_code == 302
    assert client.get(f"/es/cases/{owner.reference}/").status_code == 403
    page = client.get("/es/contact/")
    assert "luis@example.com" not in page.text and "¿No eres tú?" not in page.text


def test_forgetting_the_device_needs_a_csrf_token(make_case, open_link):
    browser = Client(enforce_csrf_checks=True)
    case = make_case()
    url = services.issue_access_link(case=case)
    browser.get("/" + url.split("://", 1)[1].split("/", 1)[1])

    assert browser.post("/es/cases/forget/").status_code == 403
    assert browser.get(f"/es/cases/{case.reference}/").status_code == 200
