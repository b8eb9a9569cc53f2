"""A forged email in a customer's name, as staff meet it, in chromium, in Spanish and English,
on a laptop and a phone: it waits in the admin's held list saying its sender could not be
authenticated and why, in the reader's language; the genuine one beside it opened its case.
Screenshots in var/screenshots/."""

import pytest
from django.db import transaction
from django.utils.text import capfirst
from playwright.sync_api import expect

from inbound import services
from inbound.models import InboundMessage
from tests.browser.support import LOCALES, PHONE, STAFF_PASSWORD, in_language, log_in
from tests.factories import StaffFactory, grant
from tests.inbound.mail import compose

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = {"width": 1280, "height": 800}
OURS = "mx.ayuda.example"


def deliver(raw: bytes) -> InboundMessage:
    """Stored and processed in one transaction: the session's worker, which does not trust our
    server's verdicts (its settings are its own), finds the message already processed when the
    task queued at commit reaches it, instead of racing this process to decide."""
    with transaction.atomic():
        received = services.receive_message(raw=raw, source="test")
        services.process_message(message_id=received.message.pk)
    return InboundMessage.objects.get(pk=received.message.pk)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
@pytest.mark.parametrize("language", ["es", "en"])
def test_staff_see_why_a_forged_email_was_held(open_tab, shop, settings, language, viewport):
    settings.INBOUND_TRUSTED_AUTHSERV_IDS = [OURS]
    settings.INBOUND_FALLBACK_REASON = shop["reason"].code
    results = f"{OURS}; dkim=none; spf=fail smtp.mailfrom=ana@example.com; dmarc=fail header.from=example.com"  # noqa: E501
    forged = deliver(
        compose(
            subject="Cambiad la cuenta del reembolso",
            text="Enviad el reembolso a la cuenta ES00 1234.",
            headers={"Authentication-Results": results},
        )
    )
    genuine = deliver(
        compose(
            subject="No me ha llegado el reembolso",
            headers={"Authentication-Results": f"{OURS}; dmarc=pass header.from=example.com"},
        )
    )
    assert forged.status == InboundMessage.Status.HELD and genuine.case is not None
    desk = grant(StaffFactory(username="lucia"), "inbound.view_inboundmessage", "cases.change_case")

    staff = open_tab(language, who="staff", locale=LOCALES[language], viewport=viewport)
    page = staff.page
    staff.goto("/admin/inbound/inboundmessage/?status__exact=held")
    log_in(staff, desk.username, STAFF_PASSWORD)
    expect(page.locator("#result_list")).to_contain_text(
        in_language(language, "Its sender could not be authenticated")
    )
    page.screenshot(path=staff.screenshots / "01-admin-held-list.png", full_page=True)

    page.locator("#result_list tbody tr th a").first.click()
    why = in_language(language, "DMARC failed for %(domain)s (checked by %(by)s).") % {
        "domain": "example.com",
        "by": OURS,
    }
    expect(page.locator("main, #content").first).to_contain_text(why)
    expect(page.locator("main, #content").first).to_contain_text(
        capfirst(in_language(language, "sender authentication"))
    )
    page.screenshot(path=staff.screenshots / "02-admin-held-detail.png", full_page=True)

    staff.goto("/admin/inbound/inboundmessage/?sender_auth__exact=pass")
    expect(page.locator("#result_list")).to_contain_text("No me ha llegado el reembolso")
    expect(page.locator("#result_list")).not_to_contain_text("Cambiad la cuenta")
    page.screenshot(path=staff.screenshots / "03-admin-authenticated-filter.png", full_page=True)
