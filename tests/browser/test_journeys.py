"""The customer journeys of issue #7, in chromium, in Spanish and in English.

Each journey starts on the home page in the browser's language (Spanish) and, for the English
run, switches with the header's language buttons. Every page it passes is checked for text of
the other language, browser errors and (the pages the issue names) axe-core's serious and
critical findings; screenshots go to var/screenshots/<test>/.
"""

import re

import pytest
from django.utils.text import capfirst
from playwright.sync_api import Locator, expect

from cases.models import Case, CaseEvent, Deflection
from kb.models import ArticleFeedback
from notifications.models import Announcement, OutgoingMessage, Subscriber
from tests.browser.support import (
    LOCALES,
    STAFF_PASSWORD,
    Tab,
    in_language,
    link_in,
    log_in,
    mail_to,
    text_of,
    wait_for_mail,
)
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def start_on_home(tab: Tab) -> None:
    """Open the site at / (the browser asks for Spanish) and switch language if needed."""
    tab.goto("/")
    expect(tab.page).to_have_url(re.compile(r"/es/$"))
    if tab.language == "en":
        tab.page.get_by_role("button", name="English").click()
        expect(tab.page).to_have_url(re.compile(r"/en/$"))
    expect(tab.page.locator("html")).to_have_attribute("lang", tab.language)
    tab.check("home", accessibility=True)


# What the customer types: Spanish without accents and with a typo ("reembolzo"), English
# with a typo ("refnd").
QUERIES = {"es": "cuando recibire el reembolzo", "en": "when do I get my refnd"}


@pytest.mark.parametrize("language", ["es", "en"])
def test_customer_finds_an_answer_despite_typos_and_says_it_helped(
    open_tab, refund_articles, language
):
    tab = open_tab(language)
    page = tab.page
    start_on_home(tab)

    page.get_by_role("searchbox").fill(QUERIES[language])
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/{language}/search/\?q="))
    results = page.locator(".search-result")
    article = refund_articles[language]
    expect(results.first.get_by_role("link")).to_have_text(article.title)
    tab.check("search-results", accessibility=True)

    results.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(article.title)
    tab.check("article", accessibility=True)

    page.get_by_role("button", name=in_language(language, "Yes"), exact=True).click()
    expect(page.locator("#feedback [role=status]")).to_be_visible()
    tab.check("article-voted")

    vote = ArticleFeedback.objects.get()
    assert (vote.article_id, vote.helpful, vote.language) == (article.pk, True, language)


SUBJECTS = {"es": "No me ha llegado el reembolso", "en": "My refund has not arrived"}


def suggestion_on_contact_form(tab: Tab, shop: dict, article) -> Locator:
    """Choose the refund reason, type the subject, and return the suggestion of ``article``."""
    page, language = tab.page, tab.language
    page.get_by_label(in_language(language, "What is it about?")).select_option(
        label=shop["reason"].name_es if language == "es" else shop["reason"].name_en
    )
    expect(page.locator("#expectation")).not_to_be_empty()
    page.get_by_label(in_language(language, "Subject")).press_sequentially(
        SUBJECTS[language], delay=20
    )
    suggestion = page.locator("#suggestions li").filter(has_text=article.title)
    expect(suggestion).to_be_visible()
    return suggestion


@pytest.mark.parametrize("language", ["es", "en"])
def test_a_suggested_article_solves_it_and_no_case_is_opened(
    open_tab, refund_articles, shop, language
):
    article = refund_articles[language]
    solved_it = in_language(language, "This solved it")

    # Item 7 of issue 14: "this solved it" from a visitor who never opened the article is
    # recorded apart and counts as no contact avoided (another browser: another visitor).
    hasty = open_tab(language, who="hasty", user_agent="Hasty visitor")
    hasty.goto(f"/{language}/contact/")
    suggestion_on_contact_form(hasty, shop, article).get_by_role("button", name=solved_it).click()
    expect(hasty.page.locator("#suggestions [role=status]")).to_be_visible()
    hasty.check("contact-solved-unread")
    unread = wait_for(lambda: Deflection.objects.first())
    assert (unread.kind, unread.article_key) == (Deflection.Kind.ARTICLE_UNREAD, "refund-times")

    tab = open_tab(language)
    page = tab.page
    start_on_home(tab)
    page.get_by_role("navigation", name=in_language(language, "Main")).get_by_role(
        "link", name=in_language(language, "Contact us")
    ).click()
    expect(page).to_have_url(re.compile(rf"/{language}/contact/$"))
    tab.check("contact", accessibility=True)

    suggestion = suggestion_on_contact_form(tab, shop, article)
    tab.check("contact-suggestions", accessibility=True)

    # "This solved it" counts once the article was read: read it first.
    with page.context.expect_page() as opened:
        suggestion.get_by_role("link", name=article.title).click()
    expect(opened.value.get_by_role("heading", level=1)).to_have_text(article.title)
    opened.value.close()
    suggestion.get_by_role("button", name=solved_it).click()
    expect(page.locator("#suggestions [role=status]")).to_be_visible()
    tab.check("contact-solved")

    assert not Case.objects.exists()
    deflection = wait_for(lambda: Deflection.objects.exclude(pk=unread.pk).first())
    assert (deflection.kind, deflection.article_key) == (Deflection.Kind.ARTICLE, "refund-times")
    assert (deflection.reason, deflection.language) == (shop["reason"], language)
    assert Deflection.objects.count() == 2  # the unread click is not counted again


CASE_TEXTS = {
    "es": {
        "subject": "Devolví unas zapatillas y no veo el dinero",
        "description": "Devolví el pedido 4411 hace tres semanas y el reembolso no aparece.",
        "message": "Os confirmo que pagué con tarjeta acabada en 1234.",
        "reply": "Hemos revisado el pedido 4411: el reembolso salió ayer y lo verás mañana.",
    },
    "en": {
        "subject": "I returned some trainers and cannot see the money",
        "description": "I returned order 4411 three weeks ago and the refund is not there.",
        "message": "I can confirm I paid by card ending in 1234.",
        "reply": "We checked order 4411: the refund left yesterday and you will see it tomorrow.",
    },
}


@pytest.mark.parametrize("language", ["es", "en"])
def test_case_from_contact_form_to_rating(
    open_tab, refund_articles, shop, agent, site_worker, smtp_sink, language
):
    words = CASE_TEXTS[language]
    customer = open_tab(language)
    page = customer.page
    start_on_home(customer)
    customer.goto(f"/{language}/contact/")
    page.get_by_label(in_language(language, "What is it about?")).select_option(
        label=shop["reason"].name_es if language == "es" else shop["reason"].name_en
    )
    page.get_by_label(in_language(language, "Subject")).fill(words["subject"])
    page.get_by_label(in_language(language, "Tell us what happened")).fill(words["description"])
    page.get_by_label(in_language(language, "Your name")).fill("Lucía Pérez")
    page.get_by_label(in_language(language, "Your email")).fill("lucia@example.com")
    customer.check("contact-filled", accessibility=True)
    page.get_by_role("button", name=in_language(language, "Send"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        in_language(language, "We have your case")
    )
    case = Case.objects.get()
    expect(page.get_by_role("status")).to_contain_text(case.reference)
    customer.check("case-received")

    (email,) = wait_for_mail(smtp_sink, "lucia@example.com", site_worker)
    assert case.reference in email["Subject"] or case.reference in text_of(email)
    link = link_in(email, "/cases/access/")
    assert link.startswith(f"{customer.base_url}/{language}/cases/access/")
    customer.goto(link)
    expect(page).to_have_url(f"{customer.base_url}/{language}/cases/{case.reference}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(words["subject"])
    customer.check("status-page", accessibility=True)

    page.get_by_label(in_language(language, "Your message")).fill(words["message"])
    page.get_by_role("button", name=in_language(language, "Send message")).click()
    expect(page.locator(".timeline")).to_contain_text(words["message"])
    customer.check("status-page-message-sent")

    staff = open_tab(language, who="staff", locale=LOCALES[language])
    staff.goto(f"/{language}/desk/")
    staff.check("login")
    log_in(staff, agent.username, STAFF_PASSWORD)
    expect(staff.page).to_have_url(f"{staff.base_url}/{language}/desk/")
    staff.check("desk-queue", accessibility=True)
    staff.page.get_by_role("link", name=case.reference).click()
    workspace = staff.page.locator("#workspace")
    expect(workspace).to_contain_text(words["message"])
    staff.check("desk-case", accessibility=True)
    staff.page.get_by_label(in_language(language, "Reply to the customer")).fill(words["reply"])
    staff.page.get_by_label(in_language(language, "Then set the status to")).select_option(
        Case.Status.RESOLVED
    )
    staff.page.get_by_role("button", name=in_language(language, "Send reply")).click()
    expect(workspace.locator(".timeline")).to_contain_text(words["reply"])
    expect(workspace.locator("#status-title")).to_contain_text(in_language(language, "Resolved"))
    staff.check("desk-case-answered", accessibility=True)

    page.reload()
    # Resolved: the resolving reply first, then one question (issue 14, item 8).
    expect(page.locator("section.resolution")).to_contain_text(words["reply"])
    expect(page.locator("#answer-title")).to_have_text(in_language(language, "Is it solved?"))
    expect(page.locator(".timeline")).to_contain_text(words["reply"])
    customer.check("status-page-resolved", accessibility=True)
    page.get_by_label(in_language(language, "Yes, it is solved")).check()
    page.get_by_role("button", name=in_language(language, "Send answer")).click()
    expect(page.locator("#status-title")).to_contain_text(in_language(language, "Closed"))
    page.get_by_label("5", exact=True).check()
    page.get_by_label(in_language(language, "Anything to add? (optional)")).fill("👍")
    page.get_by_role("button", name=in_language(language, "Send rating")).click()
    expect(page.locator("#case")).to_contain_text("5/5")
    customer.check("status-page-rated")

    case.refresh_from_db()
    assert (case.status, case.satisfaction) == (Case.Status.CLOSED, 5)
    kinds = list(case.events.filter(public=True).values_list("kind", "author__username"))
    assert (CaseEvent.Kind.CUSTOMER_MESSAGE, None) in kinds
    assert (CaseEvent.Kind.PUBLIC_REPLY, agent.username) in kinds
    assert (CaseEvent.Kind.SATISFACTION, None) in kinds


NOTICES = {
    "es": ("Los pagos con tarjeta fallan", "Algunos pagos con tarjeta no se completan."),
    "en": ("Card payments are failing", "Some card payments do not go through."),
}


@pytest.mark.parametrize("language", ["es", "en"])
def test_outage_notice_reaches_every_page_and_each_subscriber_once(
    open_tab, refund_articles, shop, agent, site_worker, smtp_sink, language
):
    customer = open_tab(language)
    page = customer.page
    start_on_home(customer)
    page.get_by_role("navigation", name=in_language(language, "Main")).get_by_role(
        "link", name=in_language(language, "Notices")
    ).click()
    customer.check("notices", accessibility=True)
    page.get_by_role("link", name=in_language(language, "Subscribe by email")).click()
    page.get_by_label(in_language(language, "Your email")).fill("pablo@example.com")
    page.get_by_role("button", name=in_language(language, "Subscribe"), exact=True).click()
    customer.check("subscribe-sent")
    (confirmation,) = wait_for_mail(smtp_sink, "pablo@example.com", site_worker)
    customer.goto(link_in(confirmation, "/notices/subscribe/confirm/"))
    # Opening the link only asks (a mail scanner confirms nothing); the button confirms.
    assert Subscriber.objects.get(email="pablo@example.com").confirmed_at is None
    page.get_by_role("button", name=in_language(language, "Yes, subscribe")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        in_language(language, "Subscription confirmed")
    )
    customer.check("subscription-confirmed")
    assert Subscriber.objects.get(email="pablo@example.com").confirmed_at is not None

    staff = open_tab(language, who="staff", locale=LOCALES[language])
    staff.goto(f"/{language}/desk/notices/")
    log_in(staff, agent.username, STAFF_PASSWORD)
    staff.check("notices-desk", accessibility=True)
    staff.page.get_by_role("link", name=in_language(language, "Outage or incident")).click()
    (title_es, body_es), (title_en, body_en) = NOTICES["es"], NOTICES["en"]
    for field, value in [
        ("title (Spanish)", title_es),
        ("title (English)", title_en),
        ("text (Spanish)", body_es),
        ("text (English)", body_en),
    ]:
        staff.page.get_by_label(capfirst(in_language(language, field)), exact=True).fill(value)
    staff.check("notice-compose", accessibility=True)
    staff.page.get_by_role("button", name=in_language(language, "Save draft")).click()
    preview = staff.page.locator("section[aria-labelledby=preview-title]")
    for language_code, title, body in [("es", title_es, body_es), ("en", title_en, body_en)]:
        expect(preview.locator(f"div[lang={language_code}]")).to_contain_text(title)  # banner
        email = preview.frame_locator(f"iframe[lang={language_code}]")
        expect(email.locator("html")).to_have_attribute("lang", language_code)
        expect(email.locator("h1")).to_have_text(title)
        expect(email.locator("body")).to_contain_text(body)
    reach = "It will be emailed to %(counter)s subscriber."
    expect(staff.page.locator("aside")).to_contain_text(
        in_language(language, reach, plural=reach.replace("subscriber.", "subscribers."), n=1)
    )
    for frame in preview.locator("iframe").all():
        frame.scroll_into_view_if_needed()  # Chromium paints frames once they are in view
    staff.check("notice-preview", accessibility=True)
    staff.page.get_by_role("button", name=in_language(language, "Publish or schedule")).click()
    expect(staff.page.get_by_role("status")).to_contain_text(
        in_language(language, "Published: it is on the site and the emails are on their way.")
    )
    staff.check("notice-published")
    notice = Announcement.objects.get()
    assert notice.publication == Announcement.Publication.PUBLISHED

    title, body = NOTICES[language]
    pages = [
        f"/{language}/search/?q=reembolso",
        f"/{language}/articles/{refund_articles[language].slug}/",
        f"/{language}/contact/",
        f"/{language}/cases/find/",
        f"/{language}/notices/subscribe/",
        f"/{language}/notices/",
    ]
    for path in pages:
        customer.goto(path)
        expect(page.locator("#banners .banner")).to_contain_text(title)
        customer.check("banner")
    customer.goto(f"/{language}/")  # the home page lists the notices in its own section
    expect(page.locator("section[aria-labelledby=notices-title]")).to_contain_text(title)
    customer.check("home-with-notice")
    page.locator("#banners, section[aria-labelledby=notices-title]").get_by_role(
        "link", name=re.compile(re.escape(title))
    ).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator(".article-body")).to_contain_text(body)
    customer.check("notice-detail", accessibility=True)

    # Exactly one email: the dispatch is done (every row sent) and nothing else arrives.
    wait_for(
        lambda: (
            OutgoingMessage.objects.filter(kind="notice").exists()
            and not OutgoingMessage.objects.filter(kind="notice")
            .exclude(status=OutgoingMessage.Status.SENT)
            .exists()
        ),
        timeout=60,
    )
    mails = wait_for_mail(smtp_sink, "pablo@example.com", site_worker, count=2)
    notices = [mail for mail in mails if str(mail["Subject"]) == title]
    assert len(notices) == 1, [str(mail["Subject"]) for mail in mails]
    assert body in text_of(notices[0])

    unsubscribe = link_in(notices[0], "/notices/unsubscribe/")
    assert unsubscribe in str(notices[0]["List-Unsubscribe"])
    customer.goto(unsubscribe)
    customer.check("unsubscribe-confirm")
    assert Subscriber.objects.get(email="pablo@example.com").unsubscribed_at is None
    page.get_by_role("button", name=in_language(language, "Yes, unsubscribe")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        in_language(language, "You are unsubscribed")
    )
    customer.check("unsubscribed")
    assert Subscriber.objects.get(email="pablo@example.com").unsubscribed_at is not None
    assert len(mail_to(smtp_sink, "pablo@example.com")) == 2
