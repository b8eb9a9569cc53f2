"""Issue 17, attachments, in chromium, in Spanish and English, on a desktop and a phone: a
customer attaches a photo on the contact form (a file that is not accepted is refused first,
with everything typed kept), sees its thumbnail on the case page once the worker has checked it,
and staff see it on the desk and answer with a PDF, which the customer's email names with a
link to the case page. Screenshots in var/screenshots/<test>/."""

import re
import time

import pytest
from playwright.sync_api import expect

from cases.models import Attachment, Case
from tests import files
from tests.browser.support import (
    EVERY_LANGUAGE_AND_SCREEN,
    LOCALES,
    STAFF_PASSWORD,
    Tab,
    in_language,
    link_in,
    log_in,
    screen,
    text_of,
    wait_for_mail,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = {
    "es": {"subject": "Paquete roto", "story": "La caja llegó aplastada y el jarrón, roto.",
           "reply": "Lo sentimos: te mandamos la etiqueta de devolución.",
           "label": "etiqueta.pdf"},
    "en": {"subject": "Broken parcel", "story": "The box came crushed and the vase broken.",
           "reply": "We are sorry: here is the return label.", "label": "return-label.pdf"},
}  # fmt: skip


def fits_the_screen(tab: Tab) -> None:
    overflow = tab.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{tab.url_path()} is {overflow}px wider than the screen"


def file_payload(name: str, data: bytes, mime: str) -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def reload_until_ready(tab: Tab, timeout: float = 60) -> None:
    """The worker checks the file after commit: reload as a customer would until it shows."""
    deadline = time.monotonic() + timeout
    while tab.page.locator(".attachment-thumbnail img").count() == 0:
        assert time.monotonic() < deadline, "the photo was not checked in time"
        time.sleep(0.5)
        tab.page.reload()


def wait_until_drawn(tab: Tab) -> None:
    """Every thumbnail on the page loaded and drawn (they load lazily, as they scroll in)."""
    tab.page.locator(".attachment-thumbnail img").first.scroll_into_view_if_needed()
    tab.page.wait_for_function(
        "() => [...document.querySelectorAll('.attachment-thumbnail img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )


@EVERY_LANGUAGE_AND_SCREEN
def test_a_photo_from_the_contact_form_reaches_the_case_page_and_the_desk(
    open_tab, shop, agent, site_worker, smtp_sink, language, size
):
    t = lambda text: in_language(language, text)  # noqa: E731
    words = WORDS[language]
    tab = open_tab(language, who=f"customer-{size}", **screen(size))
    page = tab.page

    # 1. The contact form, with a program posing as a PDF beside the photo.
    tab.goto(f"/{language}/contact/")
    reason = shop["reason"]
    page.get_by_label(t("What is it about?")).select_option(
        label=reason.name_es if language == "es" else reason.name_en
    )
    page.get_by_label(t("Subject")).fill(words["subject"])
    page.get_by_label(t("Tell us what happened")).fill(words["story"])
    files_field = page.locator("#id_attachments")
    expect(page.locator("#id_attachments-help")).to_contain_text("10 MB")
    files_field.set_input_files(
        [
            file_payload("jarron.jpg", files.phone_photo(), "image/jpeg"),
            file_payload("factura.pdf", files.program(), "application/pdf"),
        ]
    )
    page.get_by_label(t("Your name")).fill("Lucía")
    page.locator("#id_email").fill("lucia@example.com")
    tab.check("contact-filled", accessibility=True)
    page.get_by_role("button", name=t("Send"), exact=True).click()

    # Refused with its reason; what was typed and the photo stay.
    expect(page.locator("#id_attachments-errors")).to_contain_text("factura.pdf")
    expect(page.get_by_label(t("Tell us what happened"))).to_have_value(words["story"])
    expect(page.locator(".attachment-kept")).to_contain_text("jarron.jpg")
    assert not Case.objects.exists()
    tab.check("contact-file-refused", accessibility=True)
    fits_the_screen(tab)
    page.get_by_role("button", name=t("Send"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("We have your case"))
    case = Case.objects.get()

    # 2. The emailed link opens the case page: the photo, as a thumbnail.
    (opened,) = wait_for_mail(smtp_sink, "lucia@example.com", site_worker)
    tab.goto(link_in(opened, "/cases/access/"))
    reload_until_ready(tab)
    thumbnail = page.locator(".attachment-thumbnail img")
    expect(thumbnail).to_have_attribute("alt", "jarron.jpg")
    wait_until_drawn(tab)
    tab.check("case-page-thumbnail", accessibility=True)
    fits_the_screen(tab)
    photo = page.request.get(
        tab.base_url + page.locator(".attachment-thumbnail").get_attribute("href")
    )
    assert photo.status == 200 and photo.headers["content-type"] == "image/jpeg"
    assert files.CAMERA.encode() not in photo.body()  # nothing the phone wrote in it
    assert photo.headers["x-content-type-options"] == "nosniff"

    # 3. Staff see it on the desk and answer with a PDF.
    staff = open_tab(language, who=f"staff-{size}", locale=LOCALES[language], **screen(size))
    desk = staff.page
    staff.goto(f"/{language}/desk/cases/{case.reference}/")
    log_in(staff, agent.username, STAFF_PASSWORD)
    expect(desk.locator(".attachment-thumbnail img")).to_have_attribute("alt", "jarron.jpg")
    wait_until_drawn(staff)
    staff.check("desk-thumbnail", accessibility=True)
    fits_the_screen(staff)
    desk.locator("#reply-body").fill(words["reply"])
    desk.locator("#reply-files").set_input_files(
        [file_payload(words["label"], files.pdf(), "application/pdf")]
    )
    desk.get_by_role("button", name=t("Send reply")).click()
    expect(desk.locator(".timeline")).to_contain_text(words["reply"])
    expect(desk.locator(".timeline")).to_contain_text(words["label"])
    staff.check("desk-replied-with-file", accessibility=True)
    fits_the_screen(staff)

    # 4. The email names the file and links to the case page; the file is not in it.
    _opened, update = wait_for_mail(smtp_sink, "lucia@example.com", site_worker, count=2)
    body = text_of(update)
    assert body.startswith(words["reply"]) and f"📎 {words['label']}" in body
    assert re.search(rf"/{language}/cases/access/", body)
    assert not [part for part in update.iter_attachments()]
    wait_for_status = time.monotonic() + 60
    while Attachment.objects.filter(status="pending").exists():
        assert time.monotonic() < wait_for_status, "the PDF was not checked in time"
        time.sleep(0.3)
    page.reload()
    pdf_link = page.get_by_role("link", name=words["label"])
    expect(pdf_link).to_be_visible()
    download = page.request.get(tab.base_url + pdf_link.get_attribute("href"))
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.body() == files.pdf()
    tab.check("case-page-reply-with-file", accessibility=True)
    fits_the_screen(tab)
