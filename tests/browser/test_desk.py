"""A day on the desk from a phone (issue 15, items 1-6), in chromium, in Spanish and English:
search for a customer, answer with a saved reply edited before sending, and be told when the
customer writes back; no desk page is wider than the phone. Screenshots go to
var/screenshots/<test>/."""

import re

import pytest
from playwright.sync_api import expect

from cases import services
from cases.models import ReplyDraft, SavedReply
from tests.browser.support import (
    LOCALES,
    STAFF_PASSWORD,
    Tab,
    in_language,
    log_in,
    text_of,
    wait_for_mail,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
SAVED = {
    "es": (
        "Reembolso en camino",
        "Hola {customer_name}: el reembolso de {reference} ya ha salido. Tu caso: {case_link}",
    ),
    "en": (
        "Refund on its way",
        "Hello {customer_name}: the refund for {reference} has left. Your case: {case_link}",
    ),
}

ARTICLE = {
    "es": ("¿Cuándo recibiré el reembolso de mi devolución?",),
    "en": ("When will I get the refund for my return?",),
}


def fits_the_screen(tab: Tab) -> None:
    """Nothing on the page is wider than the viewport, and the status control fits its card."""
    overflow = tab.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{tab.url_path()} is {overflow}px wider than the screen"
    select = tab.page.locator("#status-select")
    if select.count():
        card = select.locator("xpath=ancestor::section[1]").bounding_box()
        box = select.bounding_box()
        assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"]


@pytest.mark.parametrize("language", ["es", "en"])
def test_a_days_queue_from_a_phone(
    open_tab, shop, refund_articles, agent, site_worker, smtp_sink, language
):
    title, body = SAVED[language]
    SavedReply.objects.create(title=title, language=language, body=body)
    case = services.open_case(
        reason=shop["reason"],
        customer_email="lucia@example.com",
        customer_name="Lucía Pérez",
        language=language,
        subject="Reembolso 4411" if language == "es" else "Refund 4411",
        description="Devolví el pedido 4411." if language == "es" else "I returned order 4411.",
    )
    services.assign_case(case=case, assignee=agent, actor=agent)
    services.open_case(
        reason=shop["reason"],
        customer_email="otro@example.com",
        customer_name="Kim Park",
        language="en" if language == "es" else "es",
        subject="Otra cosa",
        description="Otra cosa.",
    )

    staff = open_tab(language, who="staff", locale=LOCALES[language], viewport=PHONE)
    staff.page.set_viewport_size(PHONE)
    page = staff.page
    staff.goto(f"/{language}/desk/")
    log_in(staff, agent.username, STAFF_PASSWORD)
    expect(page).to_have_url(f"{staff.base_url}/{language}/desk/")
    expect(page.locator("header")).to_contain_text(
        in_language(language, "Signed in as %(name)s") % {"name": "Marta"}
    )
    staff.check("queue", accessibility=True)
    fits_the_screen(staff)

    # 1. Find the customer by address from the header's search box. On a phone the header is
    # one short row, the name and a menu (a <details>, opened by keyboard) holding the search,
    # the links, the language and sign-out.
    assert page.locator("header").bounding_box()["height"] <= 100
    expect(page.get_by_label(in_language(language, "Search cases"))).to_be_hidden()
    page.locator(".desk-menu > summary").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name=in_language(language, "Sign out"))).to_be_visible()
    page.get_by_label(in_language(language, "Search cases")).fill("LUCIA@example.com")
    page.get_by_label(in_language(language, "Search cases")).press("Enter")
    expect(page).to_have_url(re.compile(r"/desk/\?q="))
    expect(page.locator("#queue-rows tr")).to_have_count(1)
    staff.check("search", accessibility=True)
    fits_the_screen(staff)
    page.get_by_role("link", name=case.reference).click()

    # 2 and 3. The customer at a glance; a saved reply inserted, edited, sent.
    expect(page.locator(".desk-customer")).to_contain_text(
        "español" if language == "es" else "English"
    )
    staff.check("case", accessibility=True)
    fits_the_screen(staff)
    # What is typed before and right after the click stays: the saved reply goes in where the
    # cursor is, in the page, with nothing swapped (the reply box is never replaced under the
    # person typing in it).
    reply_box = page.locator("#reply-body")
    reply_box.click()
    reply_box.type("¡Hola! " if language == "es" else "Hi! ")
    page.get_by_role("button", name=title).click()
    reply_box.type(" 🙂")
    expect(reply_box).to_have_value(re.compile(r"^(¡Hola!|Hi!) (Hola|Hello) Lucía Pérez"))
    expect(reply_box).to_have_value(re.compile(re.escape(f"{case.reference}")))
    expect(reply_box).to_have_value(re.compile(r"\{case_link\} 🙂$"))
    # A link to an article, found while typing goes on.
    page.get_by_label(in_language(language, "Link an article")).fill(ARTICLE[language][0])
    page.get_by_role("button", name=in_language(language, "Find articles")).click()
    reply_box.press("End")
    reply_box.type(" ✓")
    insert = in_language(language, "Insert a link to “%(title)s”") % {"title": ARTICLE[language][0]}
    page.get_by_role("button", name=insert).click()
    reply_box.type(" ✓✓")
    expect(reply_box).to_have_value(re.compile(r"🙂 ✓ .*/articles/.*/ ✓✓$", re.S))
    staff.check("case-reply-composed")
    # Saved a second after typing stops; a busy CI machine may take longer to answer.
    expect(page.locator("#draft-status")).to_contain_text(
        re.compile(in_language(language, "Draft saved at %(time)s").split("%")[0].strip()),
        timeout=30_000,
    )
    page.reload()
    expect(page.locator("#reply-body")).to_have_value(re.compile("🙂 ✓ .* ✓✓$", re.S))  # the draft
    staff.check("case-draft-kept")
    page.get_by_role("button", name=in_language(language, "Send reply")).click()
    expect(page.locator(".timeline")).to_contain_text("🙂 ✓")
    assert "{case_link}" in case.events.get(kind="reply").body  # no link stored, minted at send
    staff.check("case-answered", accessibility=True)
    fits_the_screen(staff)
    # Typed, then straight to another page, before the autosave's second: the text is kept.
    page.locator("#reply-body").type("Sigo con esto")
    staff.goto(f"/{language}/desk/preferences/")
    expect(page.locator("h1")).to_be_visible()
    for _ in range(50):
        if ReplyDraft.objects.filter(case=case, body="Sigo con esto").exists():
            break
        page.wait_for_timeout(200)
    assert ReplyDraft.objects.get(case=case).body == "Sigo con esto"

    # 4. The customer writes back: an email to the assignee and a count in the desk's header.
    services.add_customer_message(case=case, body="¡Gracias!" if language == "es" else "Thanks!")
    (alert,) = wait_for_mail(smtp_sink, "marta@example.com", site_worker)
    assert case.reference in alert["Subject"]
    assert f"/desk/cases/{case.reference}/" in text_of(alert)
    staff.goto(f"/{language}/desk/")
    new = in_language(language, "%(counter)s new alert", "%(counter)s new alerts", 1)
    expect(page.locator("header")).to_contain_text(new)
    expect(page.locator("#alerts")).to_contain_text(case.reference)
    staff.check("queue-told", accessibility=True)
    fits_the_screen(staff)

    staff.goto(f"/{language}/desk/preferences/")
    staff.check("preferences", accessibility=True)
    fits_the_screen(staff)

    # The queue on a desktop screen: a search box wide enough for its hint, statuses on a line.
    page.set_viewport_size({"width": 1280, "height": 800})
    staff.goto(f"/{language}/desk/")
    assert page.locator("#desk-q").bounding_box()["width"] >= 300
    badge = page.locator(".desk-queue .badge").first
    assert badge.evaluate("(el) => getComputedStyle(el).whiteSpace") == "nowrap"

    # The same case on a desktop screen.
    staff.goto(f"/{language}/desk/cases/{case.reference}/")
    expect(page.locator("header")).to_contain_text(in_language(language, "No new alerts"))
    staff.check("case-desktop", accessibility=True)
    fits_the_screen(staff)


def _a_case(shop, agent, language):
    case = services.open_case(
        reason=shop["reason"],
        customer_email="lucia@example.com",
        customer_name="Lucía Pérez",
        language=language,
        subject="Reembolso 4411" if language == "es" else "Refund 4411",
        description="Devolví el pedido 4411." if language == "es" else "I returned order 4411.",
    )
    services.assign_case(case=case, assignee=agent, actor=agent)
    return case


def _top(tab: Tab, selector: str) -> float:
    return tab.page.locator(selector).first.bounding_box()["y"]


@pytest.mark.parametrize("language", ["es", "en"])
def test_on_a_phone_the_case_says_who_and_what_before_the_reply_box(
    open_tab, shop, agent, language
):
    case = _a_case(shop, agent, language)
    staff = open_tab(language, who="staff", locale=LOCALES[language], viewport=PHONE)
    page = staff.page
    staff.goto(f"/{language}/desk/cases/{case.reference}/")
    log_in(staff, agent.username, STAFF_PASSWORD)
    expect(page.locator("#reply-body")).to_be_visible()
    staff.check("case-on-a-phone", accessibility=True)
    fits_the_screen(staff)

    # Scrolling down a phone: the status, the customer, what they asked, then the reply box.
    reply = _top(staff, "#reply")
    assert _top(staff, ".desk-status") < _top(staff, ".desk-customer") < reply
    asked = page.locator(".timeline .event-body").first
    expect(asked).to_contain_text("4411")
    assert asked.bounding_box()["y"] < reply

    # On a wide screen: the history and the reply box on the left, the status, the customer and
    # the assignment in that order in the right-hand column, from the top.
    page.set_viewport_size({"width": 1280, "height": 800})
    main = page.locator(".desk-main").bounding_box()
    status = page.locator(".desk-status").bounding_box()
    assert status["x"] > main["x"] + main["width"]
    assert abs(status["y"] - main["y"]) < 40
    assert _top(staff, ".desk-status") < _top(staff, ".desk-customer")
    assert _top(staff, ".desk-customer") < _top(staff, "#assignee-select")
    staff.check("case-on-a-desktop")
    fits_the_screen(staff)


@pytest.mark.parametrize("language", ["es", "en"])
def test_without_javascript_finding_an_article_keeps_the_reply_being_written(
    open_tab, shop, refund_articles, agent, language
):
    case = _a_case(shop, agent, language)
    staff = open_tab(
        language, who="staff", locale=LOCALES[language], viewport=PHONE, java_script_enabled=False
    )
    page = staff.page
    staff.goto(f"/{language}/desk/cases/{case.reference}/")
    log_in(staff, agent.username, STAFF_PASSWORD)
    typed = "Hola Lucía, te cuento:" if language == "es" else "Hi Lucía, here is how:"
    page.locator("#reply-body").fill(typed)
    page.get_by_label(in_language(language, "Link an article")).fill(ARTICLE[language][0])
    # Enter in the search box looks for articles (it inserts nothing, it sends nothing).
    page.get_by_label(in_language(language, "Link an article")).press("Enter")

    expect(page).to_have_url(re.compile(r"\?articles=.+#reply$"))
    expect(page.locator("#reply-body")).to_have_value(typed)
    insert = in_language(language, "Insert a link to “%(title)s”") % {"title": ARTICLE[language][0]}
    expect(page.get_by_role("button", name=insert)).to_be_visible()
    staff.check("nojs-articles-found")
    fits_the_screen(staff)

    page.get_by_role("button", name=insert).click()
    expect(page.locator("#reply-body")).to_have_value(
        re.compile(re.escape(typed) + r"\n\n.+/articles/.+/$", re.S)
    )
    # The search and its results are still there, for a second link.
    expect(page.get_by_role("button", name=insert)).to_be_visible()
    staff.check("nojs-article-inserted")
    page.get_by_role("button", name=in_language(language, "Send reply")).click()
    expect(page.locator(".timeline")).to_contain_text(typed)
    expect(page.locator("#reply-body")).to_have_value("")
    assert not ReplyDraft.objects.filter(case=case).exclude(body="").exists()
    staff.check("nojs-answered")


@pytest.mark.parametrize("language", ["es", "en"])
def test_a_box_opened_before_a_reply_was_sent_is_not_kept_as_a_draft(
    open_tab, shop, agent, language
):
    """Two tabs on one case: a reply sent from the first; what the second goes on typing is
    not saved as a draft (its page predates the reply), and it says so."""
    case = _a_case(shop, agent, language)
    first = open_tab(language, who="staff", locale=LOCALES[language])
    first.goto(f"/{language}/desk/cases/{case.reference}/")
    log_in(first, agent.username, STAFF_PASSWORD)
    second = first.page.context.new_page()
    second.goto(first.page.url)
    expect(second.locator("#reply-body")).to_be_visible()

    first.page.locator("#reply-body").fill(
        "Ya está en camino." if language == "es" else "On its way."
    )
    first.page.get_by_role("button", name=in_language(language, "Send reply")).click()
    expect(first.page.locator(".timeline")).to_contain_text("camino" if language == "es" else "way")

    second.locator("#reply-body").type("Otra cosa" if language == "es" else "Something else")
    refused = in_language(
        language,
        "Not kept as a draft: you have sent a reply on this case since this page was opened. "
        "Copy this text if you still need it, then reload the page.",
    )
    expect(second.locator("#draft-status")).to_have_text(refused, timeout=30_000)
    first.screenshots.mkdir(parents=True, exist_ok=True)
    second.locator("#reply").screenshot(path=first.screenshots / "second-tab-refused.png")
    assert not ReplyDraft.objects.filter(case=case).exists()
    # The first tab, drawn again after its reply, saves drafts as before.
    first.page.locator("#reply-body").type("Y algo más" if language == "es" else "And more")
    expect(first.page.locator("#draft-status")).to_contain_text(
        re.compile(in_language(language, "Draft saved at %(time)s").split("%")[0].strip()),
        timeout=30_000,
    )
    first.check("first-tab-goes-on")
