"""Issue 14, item 6 in chromium: the exact title first, and "nothing found" with the way to
contact instead of a list of loose matches; both languages, desktop and 390x844."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import in_language

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
EXACT = {"es": "cambiar la direccion de entrega", "en": "change the delivery address"}
NOTHING = {"es": "puntos de fidelidad", "en": "loyalty points"}


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", ["es", "en"])
def test_search_puts_the_title_first_and_says_when_nothing_fits(
    open_tab, refund_articles, language, viewport
):
    tab = open_tab(language, locale={"es": "es-ES", "en": "en-GB"}[language])
    page = tab.page
    page.set_viewport_size(VIEWPORTS[viewport])

    tab.goto(f"/{language}/search/?q={EXACT[language]}")
    first = page.locator(".search-result").first.get_by_role("link")
    expected = {"es": "Cambiar la dirección de entrega", "en": "Change the delivery address"}
    expect(first).to_have_text(expected[language])
    tab.check(f"exact-title-{viewport}", accessibility=True)

    tab.goto(f"/{language}/search/?q={NOTHING[language]}")
    expect(page.locator(".search-result")).to_have_count(0)
    contact = page.locator("#search-results").get_by_role(
        "link", name=in_language(language, "Write to us")
    )
    expect(contact).to_be_visible()
    tab.check(f"nothing-found-{viewport}", accessibility=True)
    contact.click()
    expect(page).to_have_url(re.compile(rf"/{language}/contact/"))
