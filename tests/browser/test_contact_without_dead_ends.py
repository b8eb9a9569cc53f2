"""Issue 14, items 1, 2, 8 and 11, in chromium: the contact form, the "is it solved?" page and
the news of a followed incident (which the mail can stop), in both languages, on a desktop and
a phone (390x844). Screenshots in var/screenshots/<test>/.

Each journey fails on the code before the fix: a reload or a resubmission opened a second case,
a live incident did not stop the contact, "How is my case going?" asked for a subject, errors
had no summary, and the resolved case page put three forms before the resolution.
"""

import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

from cases import services
from cases.models import Case
from notifications.models import Announcement, IncidentFollower, OutgoingMessage
from notifications.services.announcements import post_update, publish_announcement
from tests.browser.support import in_language, link_in, wait_for_mail
from tests.factories import AnnouncementFactory, ContactReasonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
SIZES = {"desktop": {}, "phone": PHONE}
INCIDENT = {"es": "Los pagos con tarjeta fallan", "en": "Card payments are failing"}


def _tab(open_tab, language, size):
    tab = open_tab(language, who=size)
    if size == "phone":  # a phone-sized context of its own
        tab.page.set_viewport_size(PHONE["viewport"])
    return tab


@pytest.mark.parametrize(("language", "size"), [("es", "desktop"), ("en", "phone")])
def test_contact_form_leads_with_the_outage_and_never_opens_two_cases(
    open_tab, shop, language, size
):
    reason = shop["reason"]
    status_reason = ContactReasonFactory(
        code="case-status", parent=reason.parent, is_status_inquiry=True,
        name_es="¿Cómo va mi caso?", name_en="How is my case going?",
    )  # fmt: skip
    tab = _tab(open_tab, language, size)
    page = tab.page
    t = lambda text: in_language(language, text)  # noqa: E731
    tab.goto(f"/{language}/contact/")

    # Item 11: errors are summed up at the top, linked to their fields, and take the focus.
    page.get_by_role("button", name=t("Send"), exact=True).click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name=t("Choose what it is about."))).to_have_attribute(
        "href", "#id_reason"
    )
    expect(page.get_by_text("Introduzca")).to_have_count(0)
    tab.check("errors-summed-up", accessibility=True)

    # Item 11: "How is my case going?" asks only for the email and the reference.
    page.get_by_label(t("What is it about?")).select_option(
        label=status_reason.name_en if language == "en" else status_reason.name_es
    )
    expect(page.get_by_label(t("Subject"))).to_be_hidden()
    expect(page.get_by_label(t("Your name"))).to_be_hidden()
    expect(page.get_by_label(t("Case reference (optional)"))).to_be_visible()
    expect(page.get_by_role("button", name=t("Email me the link"))).to_be_visible()
    tab.check("status-question-asks-only-the-email", accessibility=True)

    # Item 2: a live incident about the reason comes first, with "tell me when it is fixed".
    incident = publish_announcement(
        announcement=AnnouncementFactory(
            kind=Announcement.Kind.INCIDENT, severity=Announcement.Severity.CRITICAL,
            title_es=INCIDENT["es"], title_en=INCIDENT["en"], areas=[reason.parent.code],
        ),
        actor=None,
    )  # fmt: skip
    tab.goto(f"/{language}/contact/")
    page.get_by_label(t("What is it about?")).select_option(
        label=reason.name_en if language == "en" else reason.name_es
    )
    problem = page.locator("#problem")
    expect(problem).to_contain_text(INCIDENT[language])
    problem.get_by_placeholder(t("Your email")).fill("pablo@example.com")
    problem.get_by_role("button", name=t("Tell me when it is fixed")).click()
    expect(problem.get_by_role("status")).to_contain_text(INCIDENT[language])
    tab.check("incident-followed", accessibility=True)
    assert IncidentFollower.objects.get(announcement=incident).email == "pablo@example.com"

    # Item 1: writing anyway opens one case, linked to the incident, whatever the browser does.
    page.get_by_label(t("Subject")).fill("4411")
    page.get_by_label(t("Tell us what happened")).fill("4411 · 39,90 €")
    page.get_by_label(t("Your name")).fill("Lucía")
    page.locator("#id_email").fill("lucia@example.com")
    page.get_by_role("button", name=t("Send"), exact=True).dblclick()  # a double click
    expect(page).to_have_url(re.compile(rf"/{language}/contact/received/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("We have your case"))
    tab.check("case-received", accessibility=True)
    received = page.url
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("We have your case"))
    page.go_back()  # back to the form, and send it again
    page.get_by_role("button", name=t("Send"), exact=True).click()
    page.wait_for_load_state()
    tab.check("back-and-resubmitted")
    case = Case.objects.get()  # still one case, whatever the browser kept of the form
    assert case.incident == incident
    opened = OutgoingMessage.objects.filter(dedupe_key=f"case:{case.pk}:opened")
    assert opened.count() == 1 and OutgoingMessage.objects.filter(kind="case").count() == 1

    tab.goto(received)
    page.get_by_role("link", name=t("Open your case")).click()
    expect(page).to_have_url(re.compile(rf"/{language}/cases/{case.reference}/$"))
    # Typing an address proves nothing: replies only behind the emailed link.
    expect(page.get_by_role("heading", name=t("Open the link we emailed you"))).to_be_visible()
    expect(page.get_by_text("4411 · 39,90 €")).to_be_visible()
    tab.check("case-opened-from-confirmation", accessibility=True)


@pytest.mark.parametrize(("language", "size"), [("en", "desktop"), ("es", "phone")])
def test_resolved_case_shows_the_answer_first_and_asks_one_question(
    open_tab, shop, agent, language, size
):
    case = services.open_case(
        reason=shop["reason"], customer_email="lucia@example.com", customer_name="Lucía",
        language=language, subject="4411", description="4411 · 39,90 €",
    )  # fmt: skip
    reply = {"es": "El reembolso salió ayer.", "en": "The refund left yesterday."}[language]
    services.reply_to_customer(case=case, body=reply, actor=agent, status=Case.Status.RESOLVED)
    tab = _tab(open_tab, language, size)
    page = tab.page
    t = lambda text: in_language(language, text)  # noqa: E731
    tab.goto(services.issue_access_link(case=case))
    expect(page.locator("section.resolution")).to_contain_text(reply)
    box = page.locator("section.resolution").bounding_box()
    question = page.locator("#answer-title").bounding_box()
    assert box["y"] < question["y"]  # the resolution first
    # The question heads its card: no frame of its own, no blank band above it.
    card = page.locator("section[aria-labelledby=answer-title]").bounding_box()
    assert question["y"] - card["y"] < 40, "blank space above 'Is it solved?'"
    assert page.locator("#case fieldset").first.evaluate(
        "(el) => getComputedStyle(el).borderTopStyle"
    ) in ("none", "hidden")
    expect(page.locator("#case textarea")).to_have_count(2)  # one for the answer, one to write
    expect(page.get_by_role("radio", name="5")).to_have_count(0)  # rating after the answer
    expect(page.locator("#case")).to_contain_text(re.compile(r"\d{4}|\w+ \d"))
    tab.check("resolved-case", accessibility=True)

    page.get_by_label(t("Yes, it is solved")).check()
    page.get_by_role("button", name=t("Send answer")).click()
    expect(page.get_by_role("radio", name="5")).to_be_visible()
    tab.check("answered-then-rating", accessibility=True)
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED


@pytest.mark.parametrize(("language", "size"), [("es", "phone"), ("en", "desktop")])
def test_news_of_a_followed_incident_can_be_stopped_from_the_mail(
    open_tab, shop, site_worker, smtp_sink, language, size
):
    """From the notice's own page, "tell me when it is fixed" in one step; its news arrive
    through the real worker with a stop link and the one-click headers; the link asks, the
    button stops, and no more news come."""
    incident = publish_announcement(
        announcement=AnnouncementFactory(
            kind=Announcement.Kind.INCIDENT, severity=Announcement.Severity.CRITICAL,
            title_es=INCIDENT["es"], title_en=INCIDENT["en"],
        ),
        actor=None,
    )  # fmt: skip
    tab = _tab(open_tab, language, size)
    page = tab.page
    t = lambda text: in_language(language, text)  # noqa: E731
    with translation.override(language):  # whatever language an earlier test left active
        tab.goto(incident.get_absolute_url())
    follow = page.locator("section.follow")
    follow.get_by_label(t("Your email")).fill("pablo@example.com")
    tab.check("notice-offers-to-follow", accessibility=True)
    follow.get_by_role("button", name=t("Tell me when it is fixed")).click()
    expect(page.get_by_role("status")).to_contain_text(INCIDENT[language])
    tab.check("followed-from-the-notice", accessibility=True)

    post_update(announcement=incident, phase="identified", body_es="Hemos visto la causa.",
                body_en="We found the cause.", notify_subscribers=True, actor=None)  # fmt: skip
    (news,) = wait_for_mail(smtp_sink, "pablo@example.com", site_worker)
    stop = link_in(news, "/notices/stop/")
    assert str(news["List-Unsubscribe"]).strip() == f"<{stop}>"
    assert str(news["List-Unsubscribe-Post"]).strip() == "List-Unsubscribe=One-Click"
    tab.goto(stop)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("Stop the emails about this problem")
    )
    tab.check("stop-asks", accessibility=True)
    assert IncidentFollower.objects.get().stopped_at is None  # opening the link stops nothing
    page.get_by_role("button", name=t("Yes, stop these emails")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("No more emails about this problem")
    )
    tab.check("stopped", accessibility=True)

    post_update(announcement=incident, phase="resolved", body_es="Arreglado.",
                body_en="Fixed.", notify_subscribers=True, actor=None)  # fmt: skip
    assert OutgoingMessage.objects.filter(recipient="pablo@example.com").count() == 1
