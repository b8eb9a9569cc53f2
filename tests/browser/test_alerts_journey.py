"""Incidents from monitoring as people meet them (issue 18, item 7), in chromium, in Spanish
and English, on a laptop and a phone: Alertmanager opens a draft, the notices desk marks it as
opened by monitoring and publishes it in one click, the public pages show the incident, and
the alert resolving turns it calm. Screenshots in var/screenshots/."""

import json

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.text import capfirst
from playwright.sync_api import expect

from api import services as api_services
from api.models import Scope
from notifications.models import AlertRule, Announcement
from tests.api.test_alerts import alertmanager, am_alert
from tests.browser.support import LOCALES, PHONE, STAFF_PASSWORD, in_language, log_in
from tests.factories import AlertRuleFactory, StaffFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = {"width": 1280, "height": 800}


def deliver(key: str, body: dict) -> list[dict]:
    response = Client().post(
        "/api/v1/alerts/alertmanager",
        json.dumps(body),
        content_type="application/json",
        headers={"authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.content
    return response.json()["alerts"]


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
@pytest.mark.parametrize("language", ["es", "en"])
def test_a_monitoring_draft_is_published_from_the_desk_and_resolves_by_itself(
    open_tab, shop, agent, language, viewport
):
    AlertRuleFactory(
        name="PaymentsDown",
        areas=[shop["reason"].parent.code],
        title_es="Los pagos con tarjeta fallan ({labels.instance})",
        title_en="Card payments are failing ({labels.instance})",
        body_es="Algunos pagos con tarjeta fallan. Ya estamos en ello.",
        body_en="Some card payments fail. We are on it.",
    )
    key = api_services.create_api_key(
        name="Alertmanager", scopes=[Scope.NOTICES_WRITE], actor=None
    ).secret
    started = timezone.now()
    (opened,) = deliver(key, alertmanager(am_alert(starts=started, instance="pay-1")))
    assert opened["outcome"] == "opened"

    staff = open_tab(language, who="staff", locale=LOCALES[language], viewport=viewport)
    page = staff.page
    staff.goto(f"/{language}/desk/notices/")
    log_in(staff, agent.username, STAFF_PASSWORD)
    badge = in_language(language, "Opened by monitoring: %(rule)s") % {"rule": "PaymentsDown"}
    expect(page.locator("table.data")).to_contain_text(badge)
    staff.check("desk-list-monitoring-draft")

    title = {"es": "Los pagos con tarjeta fallan (pay-1)",
             "en": "Card payments are failing (pay-1)"}[language]  # fmt: skip
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=badge)).to_be_visible()
    staff.check("desk-monitoring-draft")
    page.get_by_role("button", name=in_language(language, "Publish now")).click()
    expect(page.get_by_role("status")).to_contain_text(
        in_language(language, "Published: it is on the site and the emails are on their way.")
    )
    staff.check("desk-monitoring-published")
    assert Announcement.objects.get().publication == "published"

    visitor = open_tab(language, who="visitor", locale=LOCALES[language], viewport=viewport)
    visitor.goto(f"/{language}/notices/")
    expect(visitor.page.locator("main")).to_contain_text(title)
    visitor.check("notices-live-incident")

    gone = am_alert(status="resolved", starts=started, instance="pay-1")
    (resolved,) = deliver(key, alertmanager(gone))
    assert resolved["outcome"] == "resolved"
    visitor.goto(f"/{language}/notices/")
    expect(visitor.page.locator("main")).to_contain_text(
        in_language(language, "Resolved: everything works normally again.")
    )
    visitor.check("notices-resolved-incident")


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
@pytest.mark.parametrize("language", ["es", "en"])
def test_a_monitoring_rule_is_written_in_the_admin(open_tab, shop, language, viewport):
    StaffFactory(username="root", is_superuser=True)
    admin = open_tab(language, who="admin", locale=LOCALES[language], viewport=viewport)
    page = admin.page
    admin.goto("/admin/notifications/alertrule/add/")
    log_in(admin, "root", STAFF_PASSWORD)
    expect(page.locator("label[for=id_matchers]")).to_contain_text(
        capfirst(in_language(language, "label matchers"))
    )
    page.locator("#id_name").fill("PaymentsDown")
    page.locator("#id_matchers").fill('service="payments"\nseverity=~"critical|page"')
    reason = shop["reason"].name_es if language == "es" else shop["reason"].name_en
    page.get_by_label(reason).check()
    for field, text in [
        ("title_es", "Los pagos fallan ({labels.instance})"),
        ("title_en", "Payments are failing ({labels.instance})"),
        ("body_es", "Estamos investigando: {annotations.summary}"),
        ("body_en", "We are looking into it: {annotations.summary}"),
    ]:
        page.locator(f"#id_{field}").fill(text)
    page.screenshot(path=admin.screenshots / "01-admin-rule-form.png", full_page=True)
    page.locator("input[name=_save]").click()
    expect(page.locator("#result_list")).to_contain_text("PaymentsDown")
    page.screenshot(path=admin.screenshots / "02-admin-rule-list.png", full_page=True)
    assert AlertRule.objects.get().areas == [shop["reason"].code]
