"""Issue 18 item 4, in chromium, in Spanish and English, on a desktop and a phone: the order
system attaches an invoice for the customer and a photo for staff through the API; the
customer, following the email's link, sees the invoice (and not the photo) on their case page;
staff see both on the desk, from the key's name. Screenshots in var/screenshots/<test>/."""

import re
import time
import uuid

import pytest
from playwright.sync_api import expect

from api.models import Scope
from api.services import create_api_key
from cases import services
from cases.models import Attachment
from tests import files
from tests.browser.support import (
    EVERY_LANGUAGE_AND_SCREEN,
    LOCALES,
    STAFF_PASSWORD,
    in_language,
    log_in,
    screen,
    text_of,
    wait_for_mail,
)
from tests.browser.test_attachments_journey import fits_the_screen, wait_until_drawn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = {
    "es": {"question": "¿Me mandáis la factura del pedido?",
           "message": "Aquí tienes la factura de tu pedido P-123456.",
           "invoice": "factura-P-123456.pdf", "key": "Sistema de pedidos"},
    "en": {"question": "Could you send me the invoice for my order?",
           "message": "Here is the invoice for your order P-123456.",
           "invoice": "invoice-P-123456.pdf", "key": "Order system"},
}  # fmt: skip


def attach(tab, case, key: str, name: str, data: bytes, mime: str, **fields) -> dict:
    """POST /api/v1/cases/{ref}/attachments as another system does (multipart)."""
    response = tab.page.request.post(
        f"{tab.base_url}/api/v1/cases/{case.reference}/attachments",
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": str(uuid.uuid4())},
        multipart={"file": {"name": name, "mimeType": mime, "buffer": data}, **fields},
    )
    assert response.status == 201, response.text()
    return response.json()


def wait_until_checked(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while Attachment.objects.filter(status="pending").exists():
        assert time.monotonic() < deadline, "the worker did not check the files in time"
        time.sleep(0.3)


@EVERY_LANGUAGE_AND_SCREEN
def test_files_attached_through_the_api_show_on_the_case_page_and_the_desk(
    open_tab, shop, agent, site_worker, smtp_sink, language, size
):
    t = lambda text: in_language(language, text)  # noqa: E731
    words = WORDS[language]
    case = services.open_case(
        reason=shop["reason"],
        customer_email="lucia@example.com",
        customer_name="Lucía",
        language=language,
        subject="P-123456",
        description=words["question"],
    )
    key = create_api_key(
        name=words["key"], scopes=[Scope.CASES_WRITE, Scope.CASES_READ], actor=None
    ).secret
    staff = open_tab(language, who=f"staff-{size}", locale=LOCALES[language], **screen(size))

    # 1. The order system attaches the invoice for the customer (on the phone runs without a
    # word: the file alone), and a photo for staff.
    said = words["message"] if size == "desktop" else ""
    invoice = attach(
        staff, case, key, words["invoice"], files.pdf(), "application/pdf", message=said
    )
    photo = attach(
        staff, case, key, "paquete.jpg", files.phone_photo(), "image/jpeg", visibility="internal"
    )
    assert (invoice["visibility"], photo["visibility"]) == ("public", "internal")
    wait_until_checked()

    # 2. The customer's email names the invoice and leads to the case page, which shows it
    # (and not the staff's photo).
    _opened, update = wait_for_mail(smtp_sink, "lucia@example.com", site_worker, count=2)
    tab = open_tab(language, who=f"customer-{size}", **screen(size))
    page = tab.page
    # The same link twice: under the file's name, and "see your case".
    body = text_of(update)
    assert f"📎 {words['invoice']}" in body and "paquete.jpg" not in body
    (link,) = set(re.findall(r"https?://\S+/cases/access/\S+", body))
    tab.goto(link)
    timeline = page.locator(".timeline")
    sent_a_file = in_language(language, "We sent you a file", "We sent you %(counter)s files", n=1)
    expect(timeline).to_contain_text(said or sent_a_file)
    expect(page.get_by_role("link", name=words["invoice"])).to_be_visible()
    expect(timeline).not_to_contain_text("paquete.jpg")
    tab.check("case-page-invoice-from-the-api", accessibility=True)
    fits_the_screen(tab)
    download = page.request.get(
        tab.base_url + page.get_by_role("link", name=words["invoice"]).get_attribute("href")
    )
    assert download.body() == files.pdf()
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"

    # 3. Staff see both on the desk, written by the key's own user.
    desk = staff.page
    staff.goto(f"/{language}/desk/cases/{case.reference}/")
    log_in(staff, agent.username, STAFF_PASSWORD)
    history = desk.locator(".timeline")
    expect(history).to_contain_text(f"{words['key']} (API)")
    expect(history).to_contain_text(words["question"])
    expect(desk.get_by_role("link", name=words["invoice"])).to_be_visible()
    expect(desk.locator(".internal .attachment-thumbnail img")).to_have_attribute(
        "alt", "paquete.jpg"
    )
    wait_until_drawn(staff)
    staff.check("desk-files-from-the-api", accessibility=True)
    fits_the_screen(staff)
    expect(history).to_contain_text(t("internal"))
