"""The API in chromium: its documentation page runs under the site's CSP from our own static
files, and a notice sent through it leads the customer's contact form (issue 18)."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from cases import services
from cases.models import Case, Deflection
from notifications.models import OutgoingMessage
from tests.api.test_schema import OPERATIONS
from tests.browser.support import EVERY_LANGUAGE_AND_SCREEN, screen

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_every_operation_under_the_csp_from_our_own_host(open_tab, site):
    tab = open_tab("en", who="developer", locale="en-GB")
    hosts = set()
    tab.page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))

    response = tab.goto("/api/v1/docs")

    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(tab.page.locator(".opblock").first).to_be_visible()
    expect(tab.page.locator(".opblock")).to_have_count(len(OPERATIONS))
    expect(tab.page.get_by_text("Open a case on behalf of a customer")).to_be_visible()
    tab.page.screenshot(path=tab.screenshots.with_suffix(".png"), full_page=True)
    assert hosts == {urlsplit(site).netloc}
    assert not tab.errors, tab.errors


def _notice_emailed(shop, language: str) -> tuple:
    """A notice about the shop's reason sent to Ana, and the path its email links to."""
    notice = services.send_customer_notice(
        customer_email="ana@example.com",
        language=language,
        reason=shop["reason"],
        subject={"es": "Tu reembolso llega el jueves", "en": "Your refund arrives on Thursday"}[
            language
        ],
        body={"es": "El banco lo abona el jueves.", "en": "The bank pays it on Thursday."}[
            language
        ],
        actor=None,
    )
    message = OutgoingMessage.objects.get(dedupe_key=f"customer-notice:{notice.pk}")
    link = next(line for line in message.body_text.splitlines() if "/contact/?" in line).strip()
    return notice, "/" + link.split("://", 1)[1].split("/", 1)[1]


@pytest.mark.parametrize("language", ["es", "en"])
def test_a_customer_told_first_through_the_api_meets_the_notice_on_the_contact_form(
    open_tab, shop, language
):
    """Issue 18, item 5: the email's link leads the contact form with the notice, in the
    customer's language, with nothing of the other language and no axe-core violation; "that
    answers it" ends there, with no case opened."""
    notice, link = _notice_emailed(shop, language)
    tab = open_tab(language, who=f"customer-{language}")

    tab.goto(link)

    told = tab.page.locator("#told")
    expect(told).to_contain_text(notice.subject)
    tab.check("contact-told", accessibility=True)
    told.get_by_role("button").click()
    expect(tab.page.locator("h1")).to_have_text(
        {"es": "Nos alegra que te haya servido", "en": "Glad that answers it"}[language]
    )
    tab.check("answered")
    assert Deflection.objects.filter(kind=Deflection.Kind.NOTICE).count() == 1
    assert Case.objects.count() == 0


@EVERY_LANGUAGE_AND_SCREEN
def test_a_customer_the_notice_does_not_answer_still_writes_from_it(open_tab, shop, language, size):
    """No dead end: the notice leads the page (above the invitation to write, on a phone
    too, without overflowing), and "Write to us below" takes the customer to the form, its
    reason already chosen."""
    _notice, link = _notice_emailed(shop, language)
    tab = open_tab(language, who=f"customer-{language}-{size}", **screen(size))

    tab.goto(link)

    told = tab.page.locator("#told")
    expect(told).to_be_in_viewport()
    assert tab.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    tab.check("contact-told-first")
    told.locator('a[href="#id_subject"]').click()
    expect(tab.page.locator("#id_subject")).to_be_focused()
    expect(tab.page.locator("select[name=reason]")).to_have_value(str(shop["reason"].pk))
    tab.check("writing-after-all")
    assert Deflection.objects.filter(kind=Deflection.Kind.NOTICE).count() == 0
