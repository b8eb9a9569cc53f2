"""Issue 14, item 5: the language switch keeps the visitor on the same content, never a 404.

In chromium, from each language to the other, on a desktop and on a phone (390x844): an
article leads to its translation, an article without one to its topic with a note, a search
keeps its query.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import Tab, in_language

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OTHER = {"es": "en", "en": "es"}
BUTTON = {"es": "Español", "en": "English"}
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def switch_to(tab: Tab, language: str) -> None:
    """Press the header's button for ``language`` (inside the menu on a phone, if folded)."""
    button = tab.page.get_by_role("button", name=BUTTON[language], exact=True)
    if not button.is_visible():
        tab.page.locator("summary").first.click()
    button.click()
    expect(tab.page.locator("html")).to_have_attribute("lang", language)


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", ["es", "en"])
def test_the_language_switch_keeps_the_visitor_on_the_same_content(
    open_tab, refund_articles, publish, shop, language, viewport
):
    other = OTHER[language]
    titles = {"es": "Solo en español", "en": "Only in English"}
    untranslated = publish(
        title=titles[language],
        slug=f"only-{language}",
        summary="…",
        body="…",
        language=language,
        translation_key=f"only-{language}",
        category=shop["category"],
    )
    tab = open_tab(language, locale={"es": "es-ES", "en": "en-GB"}[language])
    page = tab.page
    page.set_viewport_size(VIEWPORTS[viewport])

    # An article with a translation: the translation (it was a 404).
    tab.goto(refund_articles[language].get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text(refund_articles[language].title)
    tab.check(f"article-{viewport}", accessibility=True)
    switch_to(tab, other)
    tab.language = other
    expect(page).to_have_url(re.compile(re.escape(refund_articles[other].get_absolute_url())))
    expect(page.get_by_role("heading", level=1)).to_have_text(refund_articles[other].title)
    tab.check(f"translation-{viewport}", accessibility=True)

    # An article without one: its topic in the other language, with a note.
    tab.language = language
    switch_to(tab, language)
    tab.goto(untranslated.get_absolute_url())
    switch_to(tab, other)
    tab.language = other
    expect(page).to_have_url(re.compile(rf"/{other}/categories/{shop['category'].slug}/$"))
    note = in_language(other, "This article is not available in this language yet.")
    expect(page.get_by_text(note)).to_be_visible()
    tab.check(f"topic-with-note-{viewport}", accessibility=True)

    # A search keeps its query.
    tab.goto(f"/{other}/search/?q=reembolso")
    switch_to(tab, language)
    tab.language = language
    expect(page).to_have_url(re.compile(rf"/{language}/search/\?q=reembolso$"))
    expect(page.locator("#search-q")).to_have_value("reembolso")
    tab.check(f"search-{viewport}")
