"""Issue 14, items 9 and 10, in chromium: a browser in UTC and one in the Canary Islands are
promised the same moment on the contact page, on the confirmation, in the email and on the case
page, each time with its zone said in words; an agent's reply reaches the customer at once, the
mail starting with it, in text and HTML, from the site's name in the customer's language.

Before the fix the zone cookie was written percent-encoded ("Atlantic%2FCanary") and ignored,
times carried no zone, and a reply waited for a quiet period, replayed every status change and
came as text only. Screenshots in var/screenshots/<test>/.
"""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import translation
from playwright.sync_api import expect

from cases import services
from cases.models import Case
from foundation.times import format_moment, visitor_zone
from tests.browser.support import PHONE, in_language, link_in, text_of, wait_for_mail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _promise(moment, zone: ZoneInfo, language: str, reader: ZoneInfo | None) -> tuple[str, str]:
    """The day and the labelled time of ``moment`` as a reader in ``reader`` sees it."""
    token = visitor_zone.set(reader)
    try:
        with translation.override(language):
            return (
                format_moment(moment, "day", zone=zone),
                format_moment(moment, "time", zone=zone, label=True),
            )
    finally:
        visitor_zone.reset(token)


@pytest.mark.parametrize(
    ("language", "zone", "size"),
    [
        ("es", "UTC", "desktop"),
        ("en", "Atlantic/Canary", "phone"),
        ("es", "Atlantic/Canary", "phone"),
    ],
    ids=["es-utc-desktop", "en-canary-phone", "es-canary-phone"],  # screenshot folder names
)
def test_the_promised_time_is_the_same_moment_everywhere_with_its_zone(
    open_tab, shop, agent, site_worker, smtp_sink, language, zone, size
):
    t = lambda text: in_language(language, text)  # noqa: E731
    options = {"viewport": PHONE, "is_mobile": True, "has_touch": True} if size == "phone" else {}
    tab = open_tab(language, who=f"{size}-{zone.replace('/', '-')}", timezone_id=zone, **options)
    page = tab.page
    tab.goto(f"/{language}/")  # timezone.js tells the site the browser's zone
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "tz")
    assert cookie == zone  # written as it is, not percent-encoded

    tab.goto(f"/{language}/contact/")
    reason = shop["reason"]
    page.get_by_label(t("What is it about?")).select_option(
        label=reason.name_es if language == "es" else reason.name_en
    )
    browser_zone = ZoneInfo(zone)
    expectation = page.locator("#expectation")
    expect(expectation).to_contain_text(re.compile(r"\d\d:\d\d"))
    promised_on_form = expectation.inner_text()
    tab.check("contact-promise", accessibility=True)

    page.get_by_label(t("Subject")).fill("4411")
    page.get_by_label(t("Tell us what happened")).fill("4411 · 39,90 €")
    page.get_by_label(t("Your name")).fill("Lucía")
    page.locator("#id_email").fill("lucia@example.com")
    page.get_by_role("button", name=t("Send"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("We have your case"))
    case = Case.objects.get()
    day, time = _promise(case.first_response_due, browser_zone, language, browser_zone)
    # The form promised the moment the case got (opened seconds later: the same minute, or
    # the one before when the clock turned a minute in between), with the browser's zone.
    earlier = _promise(
        case.first_response_due - timedelta(minutes=1), browser_zone, language, browser_zone
    )
    assert any(
        d in promised_on_form and h in promised_on_form for d, h in [(day, time), earlier]
    ), promised_on_form
    expect(page.locator("main")).to_contain_text(time)
    expect(page.locator("main")).to_contain_text(day)
    tab.check("confirmation-promise", accessibility=True)

    (opened,) = wait_for_mail(smtp_sink, "lucia@example.com", site_worker)
    service = ZoneInfo(settings.TIME_ZONE)
    mail_day, mail_time = _promise(case.first_response_due, service, language, None)
    assert mail_day in text_of(opened) and mail_time in text_of(opened)  # labelled: Madrid
    assert opened.get_body(("html",)) is not None  # case mail is text + HTML

    tab.goto(link_in(opened, "/cases/access/"))
    expect(page.locator("main")).to_contain_text(time)  # the same moment, in the browser's zone
    tab.check("case-page-promise", accessibility=True)

    # Item 10: an agent's reply leaves at once (not after a quiet period), first in the mail.
    reply = {"es": "Ya está: el reembolso salió hoy.", "en": "Done: the refund left today."}
    services.reply_to_customer(case=case, body=reply[language], actor=agent)
    _opened, update = wait_for_mail(
        smtp_sink, "lucia@example.com", site_worker, count=2, timeout=50
    )
    assert text_of(update).startswith(reply[language])
    html = update.get_body(("html",)).get_content()
    assert reply[language] in html and f"/{language}/cases/access/" in html
    assert str(update["From"]).startswith({"es": "Centro de ayuda", "en": "Help center"}[language])
    page.reload()
    expect(page.locator(".timeline")).to_contain_text(reply[language])
    tab.check("case-page-after-reply", accessibility=True)
