"""What the help center records for the insights as visitors use it."""

import pytest
from django.test import Client

from cases.models import Case
from foundation import counters
from foundation.models import DailyCounter
from kb.models import SearchLog
from notifications.models import Announcement
from notifications.services.announcements import publish_announcement
from tests.factories import (
    AnnouncementFactory,
    ContactReasonFactory,
    ReasonGroupFactory,
    StaffFactory,
    weekday_hours,
)

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"


@pytest.fixture
def reason(db):
    weekday_hours()
    return ContactReasonFactory(
        code="payment-failed", name_es="Pago fallido", name_en="Payment failed",
        article_keys=["card-declined"],
        parent=ReasonGroupFactory(code="payments", name_es="Pagos", name_en="Payments"),
    )  # fmt: skip


def counts() -> dict[str, int]:
    counters.flush_counters()
    return dict(DailyCounter.objects.values_list("name", "value"))


def contact(client, reason, **more):
    data = {"reason": reason.pk, "subject": "Mi tarjeta falla", "description": "Error 402",
            "name": "Ana", "email": "ana@example.com", **more}  # fmt: skip
    return client.post("/es/contact/", data, HTTP_USER_AGENT=BROWSER)


def test_a_visit_is_counted_once_per_browser_and_half_hour(publish):
    browser = Client(HTTP_USER_AGENT=BROWSER)
    browser.get("/es/")
    browser.get("/es/search/?q=pago")
    Client(HTTP_USER_AGENT=BROWSER).get("/es/")  # another browser
    assert counts()["visits"] == 2


@pytest.mark.parametrize(
    "agent, path",
    [
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", "/es/"),
        ("", "/es/"),
        (BROWSER, "/es/desk/"),
        (BROWSER, "/es/no-such-page/"),
        (BROWSER, "/static/css/site.css"),
    ],
)
def test_robots_staff_pages_and_errors_are_not_visits(publish, agent, path):
    Client(HTTP_USER_AGENT=agent).get(path)
    assert counts().get("visits", 0) == 0


def test_the_contact_form_and_its_suggestions_are_counted(publish, reason):
    publish(title="Mi tarjeta es rechazada", slug="tarjeta-rechazada", body="Si el banco rechaza")
    browser = Client(HTTP_USER_AGENT=BROWSER)
    browser.get("/es/contact/")
    for typed in ["tarj", "tarjeta", "tarjeta rech"]:  # as the visitor types: counted once
        browser.get("/es/contact/suggestions/", {"subject": typed}, HTTP_HX_REQUEST="true")
    browser.get("/es/contact/suggestions/", {"subject": "zzzz"}, HTTP_HX_REQUEST="true")
    assert counts() == {"visits": 1, "contact_form_opened": 1, "suggestions_shown": 1}


def test_a_case_remembers_the_search_and_articles_before_it(publish, reason):
    publish(title="Tarjeta rechazada", slug="tarjeta-rechazada", translation_key="card-declined")
    browser = Client(HTTP_USER_AGENT=BROWSER)
    browser.get("/es/search/", {"q": "factura duplicada"})
    contact(browser, reason)
    case = Case.objects.get()
    assert case.saw_reason_article is False  # the answer was there; they did not read it
    assert not case.opened_during_notice
    assert SearchLog.objects.get().followed_by_contact == "payment-failed"

    browser.get("/es/articles/tarjeta-rechazada/")
    # This browser now opens the first case: "it is something else" opens another.
    contact(browser, reason, duplicate_choice="new")
    assert Case.objects.latest("created_at").saw_reason_article is True


def test_a_case_opened_while_a_notice_about_it_is_live_says_so(publish, reason):
    incident = publish_announcement(
        announcement=AnnouncementFactory(kind=Announcement.Kind.INCIDENT, areas=["payment-failed"]),
        actor=StaffFactory(),
    )
    contact(Client(HTTP_USER_AGENT=BROWSER), reason, incident=incident.pk)  # written anyway
    case = Case.objects.get()
    assert case.opened_during_notice and case.incident == incident
