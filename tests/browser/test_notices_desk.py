"""The notices desk and the insights page as staff use them (issue 15, items 7 to 9 and 13), in
chromium, in Spanish and English, on a phone: areas ticked from the contact reasons, a draft
with placeholders refused for publishing, the incident's phases only, the home card with the
latest update, and an insights page that fits the screen. Screenshots in var/screenshots/."""

import re

import pytest
from django.utils.text import capfirst
from playwright.sync_api import expect

from notifications.models import Announcement
from tests.browser.support import LOCALES, PHONE, STAFF_PASSWORD, in_language, log_in
from tests.factories import grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["es", "en"])
def test_staff_publish_and_update_an_incident_from_a_phone(open_tab, shop, agent, language):
    grant(agent, "insights.view_insights")
    staff = open_tab(language, who="staff", locale=LOCALES[language], viewport=PHONE)
    page = staff.page
    staff.goto(f"/{language}/desk/notices/")
    log_in(staff, agent.username, STAFF_PASSWORD)
    page.get_by_role("link", name=in_language(language, "Outage or incident")).click()

    # Areas: the contact reasons to tick, under their group; no codes to type.
    group = page.locator("fieldset.checkbox-group").filter(
        has_text=shop["reason"].parent.name_es if language == "es" else "Orders and returns"
    )
    reason_name = shop["reason"].name_es if language == "es" else shop["reason"].name_en
    group.get_by_label(reason_name).check()
    titles = {"es": "Pagos con tarjeta caídos", "en": "Card payments down"}
    page.get_by_label(capfirst(in_language(language, "title (Spanish)")), exact=True).fill(
        titles["es"]
    )
    page.get_by_label(capfirst(in_language(language, "title (English)")), exact=True).fill(
        titles["en"]
    )
    staff.check("compose")
    # The form's heading at the top of its card: no blank gap above it (its hidden fields come
    # first in the card, which kept the heading's own top margin).
    card = page.locator("form.card").first
    gap = card.locator("h2").first.bounding_box()["y"] - card.bounding_box()["y"]
    assert gap < 30, f"{gap}px above the notice form's heading"
    page.get_by_role("button", name=in_language(language, "Save draft")).click()
    # The starting point's placeholders are still in the texts: publishing is refused.
    expect(page.locator("#unfilled-placeholders")).to_be_visible()
    page.get_by_role("button", name=in_language(language, "Publish or schedule")).click()
    expect(page.get_by_role("status")).to_contain_text(
        in_language(language, "Fill in the parts marked **…** before publishing.")
    )
    staff.check("publish-refused")
    notice = Announcement.objects.get()
    assert notice.publication == "draft" and notice.areas == [shop["reason"].code]

    for field, text in [("text (Spanish)", "Desde las 10:00 fallan los pagos con tarjeta."),
                        ("text (English)", "Since 10:00 card payments fail.")]:  # fmt: skip
        page.get_by_label(capfirst(in_language(language, field)), exact=True).fill(text)
    page.get_by_role("button", name=in_language(language, "Save draft")).click()
    # A link in the email's preview opens in a new tab: inside the sandboxed frame it would load
    # one of our pages, which refuse to be framed, and leave a broken frame.
    preview = page.frame_locator("iframe.email-preview").first
    with page.expect_popup() as opened:
        preview.locator(f"a[href*='{notice.get_absolute_url()}']").first.click()
    assert opened.value.url.endswith(notice.get_absolute_url())
    opened.value.close()
    page.get_by_role("button", name=in_language(language, "Publish or schedule")).click()
    expect(page.get_by_role("status")).to_contain_text(
        in_language(language, "Published: it is on the site and the emails are on their way.")
    )
    expect(page.get_by_role("button", name=in_language(language, "Save draft"))).to_have_count(0)
    phases = page.get_by_label(in_language(language, "Phase")).locator("option")
    expect(phases).to_have_text(
        [
            in_language(language, name)
            for name in ["Investigating", "Identified", "Monitoring", "Resolved"]
        ]
    )
    page.get_by_label(in_language(language, "Phase")).select_option("identified")
    page.get_by_label(in_language(language, "Update (Spanish)"), exact=True).fill(
        "Hemos encontrado la causa: un proveedor de pagos."
    )
    page.get_by_label(in_language(language, "Update (English)"), exact=True).fill(
        "We found the cause: a payment provider."
    )
    page.get_by_role("button", name=in_language(language, "Post update")).click()
    staff.check("after-update")
    expect(page.get_by_role("status")).to_contain_text(in_language(language, "Update posted."))
    staff.check("published-and-updated")
    compose = staff.url_path()

    staff.goto(f"/{language}/")
    card = page.locator("section[aria-labelledby=notices-title]")
    latest = {"es": "Hemos encontrado la causa", "en": "We found the cause"}[language]
    expect(card).to_contain_text(latest)
    staff.check("home-card-live")

    # Resolved from the phone too: the update form offers the next phase, the last is resolved.
    staff.goto(compose)
    expect(page.get_by_label(in_language(language, "Phase"))).to_have_value("monitoring")
    page.get_by_label(in_language(language, "Phase")).select_option("resolved")
    page.get_by_label(in_language(language, "Update (Spanish)"), exact=True).fill(
        "Resuelto: los pagos con tarjeta vuelven a funcionar."
    )
    page.get_by_label(in_language(language, "Update (English)"), exact=True).fill(
        "Resolved: card payments work again."
    )
    page.get_by_role("button", name=in_language(language, "Post update")).click()
    expect(page.get_by_role("status")).to_contain_text(in_language(language, "Update posted."))
    staff.check("resolved")
    staff.goto(f"/{language}/")
    latest = {"es": "los pagos con tarjeta vuelven", "en": "card payments work again"}[language]
    expect(card).to_contain_text(latest)
    expect(card.locator(".notice-card__update time")).to_have_text(re.compile(r"\d{1,2}:\d{2}$"))
    staff.check("home-card")

    staff.goto(f"/{language}/desk/insights/")
    expect(page.get_by_role("heading", level=1)).to_have_text(in_language(language, "Insights"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the insights page scrolls sideways: {width}px"
    staff.check("insights")
