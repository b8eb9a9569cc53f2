"""The browser checks themselves can fail: each one is shown what it must catch."""

import pytest

from tests.browser.support import serious_accessibility_violations, untranslated
from tests.browser.test_xss import SURVIVORS, TRAPS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_language_check_finds_each_language_on_the_other_ones_pages(open_tab, shop):
    tab = open_tab("es")
    tab.goto("/es/contact/")
    spanish_seen_as_english = untranslated(tab.page, "en")
    tab.goto("/en/contact/")
    english_seen_as_spanish = untranslated(tab.page, "es")

    assert "“Contactar”" in spanish_seen_as_english
    assert "“Contact us”" in english_seen_as_spanish
    # Words of text nobody marked for translation are caught too...
    tab.goto("/es/contact/")
    tab.page.evaluate("() => document.querySelector('h1').textContent = 'Contacto: write to us'")
    assert [found[:9] for found in untranslated(tab.page, "es")] == ["write (in"]
    # ... unless marked as written in the other language.
    tab.page.evaluate("() => document.querySelector('h1').lang = 'en'")
    assert untranslated(tab.page, "es") == []


def test_axe_reports_serious_violations(open_tab):
    tab = open_tab("es")
    tab.page.set_content('<html><body><img src="x.png"><button></button></body></html>')

    found = " ".join(serious_accessibility_violations(tab.page))

    assert "image-alt (critical)" in found
    assert "button-name (critical)" in found


def test_xss_traps_see_a_payload_that_runs(open_tab):
    tab = open_tab("es", bypass_csp=True)
    tab.page.add_init_script(TRAPS)
    tab.goto("/es/")  # a real page first, so that the traps are installed
    tab.page.set_content('<img src="data:," onerror="__xss(1)"><a href="javascript:x">a</a>')
    tab.page.wait_for_timeout(100)

    assert tab.page.evaluate("() => window.__xss_hits") == ["1"]
    survivors = tab.page.evaluate(SURVIVORS)
    assert any("onerror" in found for found in survivors)
    assert any("javascript" in found for found in survivors)
