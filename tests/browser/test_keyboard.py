"""Journeys 1 and 3 with the keyboard only: Tab to move, Enter or Space to act, typing to fill
in (a select takes the first letters of its option, a radio group its arrow keys, as they do
for anyone who cannot use a mouse). No click, no mouse at all.

Every control reached must show where the focus is (an outline).
"""

import re

import pytest
from playwright.sync_api import Locator, expect

from cases.models import Case
from kb.models import ArticleFeedback
from tests.browser.support import STAFF_PASSWORD, Tab, in_language, link_in, wait_for_mail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_TABS = 80


def tab_to(tab: Tab, target: Locator) -> None:
    """Press Tab until ``target`` has the focus, and check that the focus can be seen."""
    for _ in range(MAX_TABS):
        tab.page.keyboard.press("Tab")
        if target.evaluate("(el) => el === document.activeElement"):
            style, width = target.evaluate(
                "(el) => [getComputedStyle(el).outlineStyle, getComputedStyle(el).outlineWidth]"
            )
            assert style != "none" and width != "0px", f"focus not visible on {target}"
            return
    pytest.fail(f"{target} never got the focus after {MAX_TABS} Tab presses")


def test_keyboard_only_search_read_and_vote(open_tab, refund_articles):
    tab = open_tab("es")
    page = tab.page
    keyboard = page.keyboard
    tab.goto("/")
    keyboard.press("Tab")
    expect(page.get_by_role("link", name=in_language("es", "Skip to content"))).to_be_focused()

    tab_to(tab, page.get_by_role("searchbox"))
    keyboard.type("cuando recibire el reembolzo")
    keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/es/search/\?q="))
    article = refund_articles["es"]
    tab_to(tab, page.locator(".search-result").first.get_by_role("link"))
    keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(article.title)
    tab_to(tab, page.get_by_role("button", name=in_language("es", "Yes"), exact=True))
    keyboard.press("Space")
    expect(page.locator("#feedback [role=status]")).to_be_visible()
    tab.check("keyboard-voted")

    vote = ArticleFeedback.objects.get()
    assert (vote.article_id, vote.helpful) == (article.pk, True)


def test_keyboard_only_case_from_contact_form_to_rating(
    open_tab, refund_articles, shop, agent, site_worker, smtp_sink
):
    customer = open_tab("es")
    page = customer.page
    keyboard = page.keyboard
    customer.goto("/es/")
    tab_to(customer, page.get_by_role("navigation").get_by_role("link", name="Contactar"))
    keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/es/contact/$"))

    tab_to(customer, page.get_by_label(in_language("es", "What is it about?")))
    keyboard.type("No me ha")  # the first letters of the reason choose it
    expect(page.get_by_label(in_language("es", "What is it about?"))).to_have_value(
        str(shop["reason"].pk)
    )
    for label, text in [
        ("Subject", "Sigo sin el reembolso"),
        ("Tell us what happened", "Devolví el pedido 4411 hace tres semanas."),
        ("Your name", "Lucía Pérez"),
        ("Your email", "lucia@example.com"),
    ]:
        tab_to(customer, page.get_by_label(in_language("es", label)))
        keyboard.type(text)
    tab_to(customer, page.get_by_role("button", name=in_language("es", "Send"), exact=True))
    keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        in_language("es", "We have your case")
    )
    case = Case.objects.get()

    (email,) = wait_for_mail(smtp_sink, "lucia@example.com", site_worker)
    customer.goto(link_in(email, "/cases/access/"))  # opened from the mail program
    tab_to(customer, page.get_by_label(in_language("es", "Your message")))
    keyboard.type("Pagué con tarjeta.")
    tab_to(customer, page.get_by_role("button", name=in_language("es", "Send message")))
    keyboard.press("Space")
    expect(page.locator(".timeline")).to_contain_text("Pagué con tarjeta.")

    staff = open_tab("es", who="staff")
    desk = staff.page
    staff.goto("/es/desk/")
    tab_to(staff, desk.locator("#id_username"))
    desk.keyboard.type(agent.username)
    tab_to(staff, desk.locator("#id_password"))
    desk.keyboard.type(STAFF_PASSWORD)
    desk.keyboard.press("Enter")
    expect(desk).to_have_url(re.compile(r"/es/desk/$"))
    tab_to(staff, desk.get_by_role("link", name=case.reference))
    desk.keyboard.press("Enter")
    tab_to(staff, desk.get_by_label(in_language("es", "Reply to the customer")))
    desk.keyboard.type("El reembolso salió ayer.")
    tab_to(staff, desk.get_by_label(in_language("es", "Then set the status to")))
    desk.keyboard.type(in_language("es", "Resolved"))
    tab_to(staff, desk.get_by_role("button", name=in_language("es", "Send reply")))
    desk.keyboard.press("Enter")
    expect(desk.locator("#workspace .timeline")).to_contain_text("El reembolso salió ayer.")

    page.reload()
    # Resolved: one question first, the rating once it is answered (issue 14, item 8).
    expect(page.locator("#answer-title")).to_have_text(in_language("es", "Is it solved?"))
    tab_to(customer, page.get_by_label(in_language("es", "Yes, it is solved")))
    keyboard.press("Space")
    expect(page.get_by_label(in_language("es", "Yes, it is solved"))).to_be_checked()
    tab_to(customer, page.get_by_role("button", name=in_language("es", "Send answer")))
    keyboard.press("Enter")
    expect(page.locator("#status-title")).to_contain_text(in_language("es", "Closed"))
    tab_to(customer, page.get_by_label("1", exact=True))
    for _ in range(4):
        keyboard.press("ArrowRight")  # within the radio group: 2, 3, 4, 5
    expect(page.get_by_label("5", exact=True)).to_be_checked()
    tab_to(customer, page.get_by_role("button", name=in_language("es", "Send rating")))
    keyboard.press("Enter")
    expect(page.locator("#case")).to_contain_text("5/5")
    customer.check("keyboard-rated")

    case.refresh_from_db()
    assert (case.status, case.satisfaction) == (Case.Status.CLOSED, 5)
