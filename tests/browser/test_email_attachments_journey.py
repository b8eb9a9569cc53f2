"""Issue 17, "Done when", in chromium: a customer attaches a photo on the contact form, then
answers the case email from a mail client with another photo (a message delivered to a real
Dovecot IMAP server, read by the mailbox job, processed by the real worker), and sees both
thumbnails on the case page while staff see both on the desk. Screenshots in
var/screenshots/<test>/."""

import time

import pytest
from playwright.sync_api import expect

from cases.models import Case
from inbound.sources.imap import ImapMailbox, fetch_imap
from tests import files
from tests.browser.support import (
    DESKTOP,
    LOCALES,
    PHONE,
    STAFF_PASSWORD,
    Tab,
    in_language,
    link_in,
    log_in,
    wait_for_mail,
)
from tests.browser.test_attachments_journey import file_payload, fits_the_screen, wait_until_drawn
from tests.inbound.conftest import dovecot  # noqa: F401
from tests.inbound.mail import reply_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = {
    "es": {"subject": "Paquete roto", "story": "La caja llegó aplastada y el jarrón, roto.",
           "reply": "Os mando también la foto de la caja por fuera."},
    "en": {"subject": "Broken parcel", "story": "The box came crushed and the vase broken.",
           "reply": "Here is a photo of the outside of the box too."},
}  # fmt: skip


def reload_until_thumbnails(tab: Tab, count: int, timeout: float = 90) -> None:
    """The worker reads the mail and checks each file after commit: reload, as a customer
    would, until ``count`` thumbnails show."""
    deadline = time.monotonic() + timeout
    while tab.page.locator(".attachment-thumbnail img").count() < count:
        assert time.monotonic() < deadline, "the photos were not checked in time"
        time.sleep(0.5)
        tab.page.reload()


@pytest.mark.parametrize(
    ("language", "size"),
    [("es", "desktop"), ("en", "phone")],
    ids=["es-desktop", "en-phone"],
)
def test_a_photo_from_the_form_and_one_from_an_email_reply_both_reach_the_case(
    open_tab,
    shop,
    agent,
    site_worker,
    smtp_sink,
    dovecot,  # noqa: F811 (the fixture imported above)
    language,
    size,
):
    t = lambda text: in_language(language, text)  # noqa: E731
    words = WORDS[language]
    viewport = PHONE if size == "phone" else DESKTOP
    options = {"is_mobile": True, "has_touch": True} if size == "phone" else {}
    tab = open_tab(language, who=f"customer-{size}", viewport=viewport, **options)
    page = tab.page

    # 1. The contact form, with a photo.
    tab.goto(f"/{language}/contact/")
    reason = shop["reason"]
    page.get_by_label(t("What is it about?")).select_option(
        label=reason.name_es if language == "es" else reason.name_en
    )
    page.get_by_label(t("Subject")).fill(words["subject"])
    page.get_by_label(t("Tell us what happened")).fill(words["story"])
    page.locator("#id_attachments").set_input_files(
        [file_payload("jarron.jpg", files.phone_photo(), "image/jpeg")]
    )
    page.get_by_label(t("Your name")).fill("Lucía")
    page.locator("#id_email").fill("lucia@example.com")
    page.get_by_role("button", name=t("Send"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("We have your case"))
    case = Case.objects.get()

    # 2. The case email: its link opens the case page with the form's photo.
    (opened,) = wait_for_mail(smtp_sink, "lucia@example.com", site_worker)
    tab.goto(link_in(opened, "/cases/access/"))
    reload_until_thumbnails(tab, 1)

    # 3. "Reply" in the mail client, with another photo, to the real IMAP server; the
    # mailbox job reads it and the worker puts it on the case.
    dovecot.deliver(
        reply_to(
            opened,
            text=words["reply"],
            sender="Lucía <lucia@example.com>",
            attachments=(("caja.jpg", "image/jpeg", files.phone_photo(900, 700)),),
        )
    )
    assert fetch_imap(ImapMailbox.from_url(dovecot.url())) == 1
    reload_until_thumbnails(tab, 2)
    thumbnails = page.locator(".attachment-thumbnail img")
    expect(thumbnails.nth(0)).to_have_attribute("alt", "jarron.jpg")
    expect(thumbnails.nth(1)).to_have_attribute("alt", "caja.jpg")
    expect(page.get_by_text(words["reply"])).to_be_visible()
    wait_until_drawn(tab)
    tab.check("case-page-both-photos", accessibility=True)
    fits_the_screen(tab)
    photo = page.request.get(
        tab.base_url + page.locator(".attachment-thumbnail").nth(1).get_attribute("href")
    )
    assert photo.status == 200 and photo.headers["content-type"] == "image/jpeg"
    assert files.CAMERA.encode() not in photo.body()  # nothing the phone wrote in it

    # 4. Staff see both on the desk.
    staff = open_tab(
        language, who=f"staff-{size}", locale=LOCALES[language], viewport=viewport, **options
    )
    staff.goto(f"/{language}/desk/cases/{case.reference}/")
    log_in(staff, agent.username, STAFF_PASSWORD)
    desk_thumbnails = staff.page.locator(".attachment-thumbnail img")
    expect(desk_thumbnails).to_have_count(2)
    expect(desk_thumbnails.nth(1)).to_have_attribute("alt", "caja.jpg")
    wait_until_drawn(staff)
    staff.check("desk-both-photos", accessibility=True)
    fits_the_screen(staff)
