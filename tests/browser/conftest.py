"""Fixtures of the browser tests: one chromium for all of them, a live server, a shop's data.

The server is pytest-django's live_server (a thread of this process, on the test database);
the Celery worker is the session's real worker process (tests/conftest.py), reading the same
database and sending through the SMTP sink, so the journeys see the emails the site writes.
"""

import os
import shutil
from collections.abc import Iterator
from datetime import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from tests.browser.support import SCREENSHOTS, Tab
from tests.factories import (
    CategoryFactory,
    ContactReasonFactory,
    ReasonGroupFactory,
    StaffFactory,
    TeamFactory,
    weekday_hours,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="package")
def browser() -> Iterator:
    """One chromium for all the browser tests, closed after the last of them."""
    if not CHROMIUM.exists():
        pytest.skip(
            "browser tests need Debian's chromium at /usr/bin/chromium "
            "(apt-get install chromium; CI installs it from .ci/apt-packages)"
        )
    from playwright.sync_api import expect, sync_playwright

    # The machine may be busy (2 cores, a worker, a server and chromium): wait a little longer
    # than Playwright's 5 s for what a page shows after a request.
    expect.set_options(timeout=10_000)

    # Playwright's sync API keeps an event loop running in this thread until it stops, and
    # Django refuses database calls from such a thread unless told the caller is synchronous
    # (it is: the tests). Only while the browser runs; the tests after these get the check back.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()
    playwright.stop()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(scope="session")
def site_worker(live_server, request):
    """The session's worker, told the site's address: links in the emails it writes (the
    unsubscribe link of each notice) must open on this live server, as in production."""
    saved = os.environ.get("SITE_URL")
    os.environ["SITE_URL"] = live_server.url  # read when the worker starts
    try:
        worker = request.getfixturevalue("celery_worker")
    finally:
        if saved is None:
            os.environ.pop("SITE_URL")
        else:
            os.environ["SITE_URL"] = saved
    if worker.env.get("SITE_URL") != live_server.url:  # started earlier by other tests
        worker.stop()
        worker.env["SITE_URL"] = live_server.url
        worker.start()
    return worker


@pytest.fixture
def site(live_server, settings, search_index) -> str:
    """The live server's base URL, with links in emails pointing at it."""
    settings.SITE_URL = live_server.url
    # The site's name is a brand the operator sets, in one language ("Centro de ayuda" by
    # default): a neutral one keeps it out of the untranslated-text checks.
    settings.SITE_NAME = "Acme"
    return live_server.url


@pytest.fixture
def open_tab(browser, site, request):
    """``open_tab(language, who)``: a fresh browser context (its own cookies) and page."""
    contexts = []
    folder = SCREENSHOTS / request.node.name.replace("[", "-").replace("]", "")
    shutil.rmtree(folder, ignore_errors=True)

    def open_(language: str = "es", who: str = "customer", locale: str = "es-ES", **options):
        """A customer's browser asks for Spanish (the site's main audience) and switches with
        the page's buttons; pass ``locale`` for a browser that asks for another language, and
        ``viewport=PHONE`` (support.py) for a phone."""
        options.setdefault("viewport", {"width": 1280, "height": 900})
        options.setdefault("timezone_id", "Europe/Madrid")  # pass another to be elsewhere
        context = browser.new_context(locale=locale, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return Tab(context.new_page(), site, language, folder / who)

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def shop(db) -> dict:
    """What a small shop's help center has: hours, a contact reason with its team."""
    weekday_hours(range(7), opens_at=time(8), closes_at=time(20))
    team = TeamFactory(slug="refunds", name_es="Reembolsos", name_en="Refunds")
    reason = ContactReasonFactory(
        code="refund-missing",
        parent=ReasonGroupFactory(
            code="orders", name_es="Pedidos y devoluciones", name_en="Orders and returns"
        ),
        name_es="No me ha llegado el reembolso",
        name_en="My refund has not arrived",
        team=team,
        article_keys=["refund-times"],
    )
    category = CategoryFactory(
        slug="devoluciones", name_es="Devoluciones", name_en="Returns", icon="↩"
    )
    return {"reason": reason, "team": team, "category": category}


@pytest.fixture
def refund_articles(publish, shop) -> dict:
    """The answer to "where is my refund", in both languages, and an article beside it."""
    category = shop["category"]
    spanish = publish(
        title="¿Cuándo recibiré el reembolso de mi devolución?",
        slug="cuando-recibire-el-reembolso",
        summary="Plazos del reembolso según la forma de pago.",
        body=(
            "Cuando recibimos tu devolución, revisamos el paquete y **devolvemos el dinero** "
            "a la misma forma de pago.\n\n## Plazos\n\n- Tarjeta: de 5 a 10 días hábiles.\n"
            "- Transferencia: de 2 a 3 días hábiles.\n\nSi pasado ese plazo no lo ves en tu "
            "cuenta, escríbenos."
        ),
        language="es",
        translation_key="refund-times",
        keywords="reembolso, dinero, devolución, tarjeta",
        category=category,
    )
    english = publish(
        title="When will I get the refund for my return?",
        slug="when-will-i-get-my-refund",
        summary="How long refunds take for each way of paying.",
        body=(
            "When your return reaches us, we check the parcel and **send the money back** to "
            "the same way of paying.\n\n## How long\n\n- Card: 5 to 10 working days.\n"
            "- Bank transfer: 2 to 3 working days.\n\nIf it has not reached your account by "
            "then, write to us."
        ),
        language="en",
        translation_key="refund-times",
        keywords="refund, money, return, card",
        category=category,
    )
    publish(
        title="Cambiar la dirección de entrega",
        slug="cambiar-direccion-entrega",
        summary="Hasta que el pedido sale del almacén.",
        body="Puedes cambiar la dirección desde tu cuenta mientras el pedido no haya salido.",
        language="es",
        translation_key="delivery-address",
        category=category,
    )
    publish(
        title="Change the delivery address",
        slug="change-delivery-address",
        summary="Until the order leaves the warehouse.",
        body="You can change the address in your account until the order has left.",
        language="en",
        translation_key="delivery-address",
        category=category,
    )
    return {"es": spanish, "en": english}


@pytest.fixture
def agent(db):
    """A member of staff who answers cases and publishes notices."""
    user = StaffFactory(
        username="marta", first_name="Marta", email="marta@example.com", last_login=timezone.now()
    )
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["change_case", "view_case", "change_announcement", "add_announcement"]
        )
    )
    return user
