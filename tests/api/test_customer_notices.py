"""POST /api/v1/customer-notices (issue 18, item 5): one customer told before they ask, by
email in their language, on their case page, and first on the contact form when they come
to write about it; the insights count the contacts it avoided."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from api.models import ApiWrite
from cases import services as case_services
from cases.models import Case, CustomerNotice, Deflection
from insights.models import DailyReasonStats
from insights.services import roll_up_day
from notifications.models import OutgoingMessage
from tests.api.conftest import assert_problem
from tests.factories import ContactReasonFactory

pytestmark = pytest.mark.django_db

DELAY = {
    "customer_email": "Ana@Example.com",
    "language": "en",
    "reason": "order-stuck-preparing",
    "subject": "Your order P-123456 is delayed",
    "body": "The carrier moved the delivery: it now arrives on Thursday.",
    "external_reference": "P-123456",
}


def _send(api, key, **fields) -> dict:
    response = api.post("/customer-notices", {**DELAY, **fields}, key=key)
    assert response.status_code == 201, response.content
    return response.json()


def _email_link(notice_id: int) -> str:
    message = OutgoingMessage.objects.get(dedupe_key=f"customer-notice:{notice_id}")
    line = next(line for line in message.body_text.splitlines() if "/contact/" in line)
    return "/" + line.strip().split("://", 1)[1].split("/", 1)[1]


def test_the_customer_is_emailed_in_their_language_through_the_outbox(api, key, reason):
    body = _send(api, key)

    message = OutgoingMessage.objects.get()
    assert message.recipient == "Ana@Example.com" and message.language == "en"
    assert message.subject == "Your order P-123456 is delayed"
    assert "it now arrives on Thursday" in message.body_text
    assert "We are telling you before you have to ask" in message.body_text
    assert "Still need to write to us?" in message.body_html
    assert 'name="viewport"' in message.body_html
    link = _email_link(body["id"])
    assert link.startswith("/en/contact/?")
    assert parse_qs(urlsplit(link).query)["reason"] == [str(reason.pk)]
    assert body["reason"] == "order-stuck-preparing" and body["expires_at"] > body["created_at"]
    assert ApiWrite.objects.get().resource == f"customer-notice:{body['id']}"


def test_a_retried_notice_is_sent_once(api, key, reason):
    api.post("/customer-notices", DELAY, key=key, idempotency_key="P-123456-delay")
    again = api.post("/customer-notices", DELAY, key=key, idempotency_key="P-123456-delay")

    assert again["Idempotent-Replayed"] == "true"
    assert CustomerNotice.objects.count() == OutgoingMessage.objects.count() == 1


def test_the_contact_form_from_the_email_leads_with_the_notice(api, key, reason, client):
    body = _send(api, key)

    page = client.get(_email_link(body["id"])).content.decode()

    assert "We already told you" in page
    assert "Your order P-123456 is delayed" in page
    assert page.index('id="told"') < page.index('name="subject"')


def test_the_notice_leads_the_page_and_still_lets_the_customer_write(api, key, reason, client):
    body = _send(api, key)

    page = client.get(_email_link(body["id"])).content.decode()
    again = client.get(
        "/en/contact/expectation/", {"reason": reason.pk, "told_shown": body["id"]}
    ).content.decode()

    # Above the invitation to write, once, with a way on to the form (no dead end).
    assert page.index('id="told"') < page.index("Tell us what happened.")
    assert page.count('id="told"') == 1 and '<a href="#id_subject">' in page
    assert 'id="id_subject"' in page
    # Picking the reason again does not show it a second time under the one above.
    assert "We already told you" not in again
    assert (
        "We already told you"
        in client.get(
            "/en/contact/expectation/",
            {"reason": reason.pk, "notice": _email_link(body["id"]).split("notice=", 1)[1]},
        ).content.decode()
    )


def test_the_notice_leads_only_for_its_own_reason(api, key, reason, client):
    body = _send(api, key)
    other = ContactReasonFactory(code="refund", parent=reason.parent)
    link = _email_link(body["id"]).replace(f"reason={reason.pk}", f"reason={other.pk}")

    assert "We already told you" not in client.get(link).content.decode()


def test_a_forged_or_expired_notice_link_shows_nothing(api, key, reason, client):
    body = _send(api, key, expires_at=(timezone.now() + timedelta(minutes=1)).isoformat())
    link = _email_link(body["id"])
    forged = link.rsplit("notice=", 1)[0] + "notice=MQ:forged:token"

    assert "We already told you" not in client.get(forged).content.decode()
    CustomerNotice.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "We already told you" not in client.get(link).content.decode()


def test_that_answers_it_counts_one_contact_avoided_in_the_insights(api, key, reason, client):
    body = _send(api, key)
    page = client.get(_email_link(body["id"])).content.decode()
    token = page.split('name="notice" value="', 1)[1].split('"', 1)[0]

    first = client.post("/en/contact/told/", {"notice": token})
    client.post("/en/contact/told/", {"notice": token})

    assert first.status_code == 200 and "Glad that answers it" in first.content.decode()
    assert Deflection.objects.filter(kind=Deflection.Kind.NOTICE, reason=reason).count() == 1
    roll_up_day(timezone.localdate())
    assert DailyReasonStats.objects.get(reason=reason).deflected_notice == 1
    assert client.post("/en/contact/told/", {"notice": "junk"}).status_code == 302


def test_a_customer_whose_case_link_this_browser_opened_is_told_on_the_form_and_case_page(
    api, key, reason, client
):
    opened = api.post(
        "/cases",
        {
            "reason": "order-stuck-preparing",
            "customer_email": "ana@example.com",
            "customer_name": "Ana",
            "language": "en",
            "subject": "Where is my order?",
            "description": "It has not arrived.",
        },
        key=key,
    ).json()["case"]
    case = Case.objects.get(reference=opened["reference"])
    link = case_services.issue_access_link(case=case)
    client.get("/" + link.split("://", 1)[1].split("/", 1)[1])
    _send(api, key)

    form = client.get("/en/contact/", {"reason": reason.pk}).content.decode()
    status = client.get(f"/en/cases/{case.reference}/").content.decode()

    assert "We already told you" in form
    # Their open case about it, to write on instead of opening another.
    assert (
        f'href="/en/cases/{case.reference}/"' in form
        and f"Write on your case {case.reference}" in form
    )
    assert "What we told you" in status and "Your order P-123456 is delayed" in status
    # In the page's main column, before the history (a phone shows it without scrolling past
    # the whole case).
    assert status.index("What we told you") < status.index('id="timeline-title"')


def test_a_notice_for_an_unknown_reason_or_without_the_scope_is_refused(api, make_key, reason):
    assert_problem(
        api.post("/customer-notices", {**DELAY, "reason": "nope"}, key=make_key()),
        422,
        "unknown_reason",
    )
    assert_problem(
        api.post("/customer-notices", DELAY, key=make_key(scopes=["notices:write"])),
        403,
        "scope_missing",
    )
    assert CustomerNotice.objects.count() == 0


def test_one_address_is_sent_a_few_notices_an_hour_not_what_a_looping_key_asks(api, key, reason):
    """A key runs at 120 requests a minute: an order system in a loop, or a leaked key, must
    not fill one customer's mailbox. Past the limit the notice is refused with the service's
    code, nothing is stored or mailed, and the same request can be sent again later."""
    for number in range(case_services.CUSTOMER_NOTICES_PER_ADDRESS):
        _send(api, key, external_reference=f"P-{number}")

    refused = api.post("/customer-notices", {**DELAY, "customer_email": "ana@example.com"}, key=key)

    assert_problem(refused, 422, "too_many_notices")
    assert "10 avisos en la última hora" in refused.json()["detail"]  # Spanish by default
    limit = case_services.CUSTOMER_NOTICES_PER_ADDRESS
    assert CustomerNotice.objects.count() == OutgoingMessage.objects.count() == limit
    assert not ApiWrite.objects.filter(status_code=422).exists()
    _send(api, key, customer_email="luis@example.com")  # another customer is told as usual
