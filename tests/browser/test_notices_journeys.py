"""Issue 14, items 3, 4 and 13, in chromium: a resolved incident turns calm and leaves by
itself, Christmas is visible on 5 December (hours box, calendar feed, search), and on a phone
the banners fold into one line so that the answer is above the fold (390 by 844).

Each journey runs in Spanish and English, on the phone size and on a desktop; screenshots go
to var/screenshots/<test>/.
"""

import re
from datetime import timedelta

import icalendar
import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from kb.demo import DEMO_DIR, parse_article_file
from notifications.models import Announcement, CalendarException
from notifications.services import announcements as services
from tests.browser.support import DESKTOP, PHONE, Tab, in_language
from tests.factories import AnnouncementFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SIZES = {"phone": PHONE, "desktop": DESKTOP}


def publish(**fields) -> Announcement:
    return services.publish_announcement(
        announcement=AnnouncementFactory.build(**fields), actor=None
    )


def moderate_landmark_findings(tab: Tab) -> list[str]:
    """axe-core's landmark-unique (a moderate finding the issue names) on the page as it is."""
    from tests.browser.support import serious_accessibility_violations

    serious_accessibility_violations(tab.page)  # loads axe-core into the page
    return tab.page.evaluate(
        """async () => (await axe.run(document, {runOnly: ['landmark-unique']})).violations
             .map((v) => v.nodes.map((n) => n.target.join(' ')).join(', '))"""
    )


def scrolls_sideways(page) -> int:
    """How many pixels the page is wider than the window (0: none)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def above_the_fold(locator, height: int) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


# --- Item 3 -----------------------------------------------------------------------------------

INCIDENT = {
    "es": ("Los pagos con tarjeta fallan", "Estamos investigando el fallo."),
    "en": ("Card payments are failing", "We are investigating the failure."),
}


def notice_url(announcement, language: str) -> str:
    """The notice's page in ``language``, whatever language an earlier test left active."""
    with translation.override(language):
        return announcement.get_absolute_url()


@pytest.mark.parametrize(("language", "size"), [("es", "phone"), ("en", "desktop")])
def test_a_resolved_incident_turns_calm_then_leaves_by_itself(
    open_tab, shop, settings, language, size
):
    settings.NOTICE_RESOLVED_VISIBLE_HOURS = 24
    incident = publish(
        severity=Announcement.Severity.CRITICAL,
        title_es=INCIDENT["es"][0],
        title_en=INCIDENT["en"][0],
        body_es=INCIDENT["es"][1],
        body_en=INCIDENT["en"][1],
    )
    tab = open_tab(language, viewport=SIZES[size])
    page = tab.page
    banner = page.locator(f"#banner-{incident.slug}")

    tab.goto(f"/{language}/notices/")
    expect(banner).to_have_class(re.compile("banner--critical"))
    expect(banner.get_by_role("button")).to_have_count(0)  # critical: cannot be hidden
    tab.check("critical-banner", accessibility=True)

    services.post_update(
        announcement=incident,
        phase=Announcement.Phase.IDENTIFIED,
        body_es="Hemos encontrado la causa: un proveedor de pagos.",
        body_en="We found the cause: a payment provider.",
        notify_subscribers=False,
        actor=None,
        now=timezone.now() - timedelta(minutes=30),
    )
    resolved_at = timezone.now().replace(second=0, microsecond=0)
    services.post_update(
        announcement=incident,
        phase=Announcement.Phase.RESOLVED,
        body_es="Ya se puede pagar con tarjeta con normalidad.",
        body_en="Card payments work normally again.",
        notify_subscribers=False,
        actor=None,
        now=resolved_at,
    )

    page.reload()
    expect(banner).to_have_class(re.compile("banner--resolved"))
    word = {"es": "resuelto el", "en": "resolved on"}[language]
    expect(banner).to_contain_text(re.compile(rf"{word} .*{timezone.localtime(resolved_at):%H:%M}"))
    tab.check("resolved-banner", accessibility=True)

    banner.get_by_role("link", name=in_language(language, "Details")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        incident.title_es if language == "es" else incident.title_en
    )
    latest = page.get_by_text(
        {"es": "Ya se puede pagar", "en": "Card payments work normally"}[language]
    )
    earlier = page.get_by_text({"es": "Hemos encontrado", "en": "We found the cause"}[language])
    first = page.get_by_text(INCIDENT[language][1])
    assert latest.bounding_box()["y"] < earlier.bounding_box()["y"] < first.bounding_box()["y"]
    if size == "phone":
        assert above_the_fold(latest, PHONE["height"]), "the latest update is below the fold"
    tab.check("notice-latest-first", accessibility=True)

    feed = page.request.get(f"{tab.base_url}/{language}/notices/feed.atom").text()
    assert "Ya se puede pagar" in feed or "Card payments work normally" in feed
    assert feed.index("<updated>") > 0

    page.go_back()
    banner.get_by_role("button").click()  # resolved: it can be hidden now
    expect(banner).to_have_count(0)
    tab.check("resolved-banner-hidden")

    # Nobody withdraws it: the beat job takes it off once its time on the site is over.
    services.process_due_announcements(now=resolved_at + timedelta(hours=24))
    other = open_tab(language, "someone-else", viewport=SIZES[size])
    other.goto(f"/{language}/notices/")
    expect(other.page.locator("#banners")).to_have_count(0)
    past = other.page.locator("section[aria-labelledby=past-title]")
    expect(past).to_contain_text(INCIDENT[language][0])
    other.check("gone-after-a-day", accessibility=True)


# --- Item 4 -----------------------------------------------------------------------------------

# The demo's Christmas days as seen on 5 December: how many days ahead each one is.
CHRISTMAS_FROM_5_DECEMBER = [
    (19, "Nochebuena", "Christmas Eve", False),
    (20, "Navidad", "Christmas Day", True),
    (26, "Nochevieja", "New Year's Eve", False),
    (27, "Año Nuevo", "New Year's Day", True),
    (32, "Reyes", "Epiphany", True),
]
QUERIES = {"es": ["horario navidad", "abren el 24"], "en": ["christmas opening hours"]}


@pytest.fixture
def christmas_ahead(shop, publish) -> list[CalendarException]:
    """Christmas as far ahead as on 5 December (built on the clock), and the demo's
    articles on hours in the real Whoosh index."""
    from datetime import time

    today = timezone.localdate()
    days = [
        CalendarException.objects.create(
            date=today + timedelta(days=ahead),
            label_es=label_es,
            label_en=label_en,
            closed=closed,
            opens_at=None if closed else time(9),
            closes_at=None if closed else time(14),
            announce_days_before=0,
        )
        for ahead, label_es, label_en, closed in CHRISTMAS_FROM_5_DECEMBER
    ]
    for name in ("holiday-hours", "opening-hours", "response-times", "delivery-times-and-costs"):
        for language in ("es", "en"):
            fields = parse_article_file(DEMO_DIR / "articles" / f"{name}.{language}.md")
            fields.pop("category")
            publish(**fields, category=shop["category"])
    return days


@pytest.mark.parametrize(("language", "size"), [("es", "desktop"), ("en", "phone")])
def test_christmas_is_visible_on_5_december(open_tab, christmas_ahead, language, size):
    tab = open_tab(language, viewport=SIZES[size])
    page = tab.page

    tab.goto(f"/{language}/notices/")
    special = page.locator(".special-hours li")
    expect(special).to_have_count(len(christmas_ahead))
    label = "label_es" if language == "es" else "label_en"
    for day, item in zip(christmas_ahead, special.all(), strict=True):
        expect(item).to_contain_text(getattr(day, label))
    tab.check("hours-with-christmas", accessibility=True)

    calendar = icalendar.Calendar.from_ical(
        page.request.get(f"{tab.base_url}/{language}/notices/calendar.ics").body()
    )
    events = {event.decoded("DTSTART"): event for event in calendar.walk("VEVENT")}
    for day in christmas_ahead:
        assert events[day.date].decoded("DTEND") == day.date + timedelta(days=1)  # all day
        assert getattr(day, label) in str(events[day.date]["SUMMARY"])
        assert "*" not in str(events[day.date]["DESCRIPTION"])

    for number, query in enumerate(QUERIES[language]):
        tab.goto(f"/{language}/search/?q={query.replace(' ', '+')}")
        first = page.locator(".search-result").first.get_by_role("link").first
        expect(first).to_contain_text(
            {"es": "Horario de Navidad", "en": "Christmas and holiday opening hours"}[language]
        )
        tab.check(f"search-{number}", accessibility=True)
    first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        {"es": "Navidad", "en": "Christmas"}[language]
    )
    tab.check("christmas-article")


# --- Item 13 ----------------------------------------------------------------------------------


@pytest.fixture
def three_notices(shop) -> list[Announcement]:
    return [
        publish(
            kind=Announcement.Kind.GENERAL,
            severity=Announcement.Severity.INFO,
            title_es="Nuevo horario los sábados",
            title_en="New Saturday hours",
        ),
        publish(
            severity=Announcement.Severity.CRITICAL,
            title_es="Los pagos con tarjeta fallan",
            title_en="Card payments are failing",
        ),
        publish(
            severity=Announcement.Severity.WARNING,
            title_es="Envíos con retraso en Canarias",
            title_en="Deliveries to the Canary Islands are late",
        ),
    ]


@pytest.mark.parametrize(
    ("language", "size"), [("es", "phone"), ("en", "phone"), ("en", "desktop")]
)
def test_on_a_phone_the_answer_is_above_the_fold(
    open_tab, refund_articles, three_notices, language, size
):
    viewport = SIZES[size]
    tab = open_tab(language, viewport=viewport)
    page = tab.page
    critical = three_notices[1]
    query = {"es": "reembolso", "en": "refund"}[language]

    tab.goto(f"/{language}/search/?q={query}")
    line = page.locator("#banners > details > summary")
    expect(line).to_contain_text(
        in_language(language, "%(counter)s notice", "%(counter)s notices", 3)
    )
    expect(line).to_contain_text(critical.title_es if language == "es" else critical.title_en)
    published = timezone.localtime(critical.published_at)
    expect(line).to_contain_text(f"{published:%H:%M}")
    assert line.bounding_box()["height"] < 60, "the notices take more than one line"
    # The most severe notice's title is on the screen, not pushed off it by its date.
    title = line.locator(".banners__first")
    assert title.bounding_box()["x"] + 40 < viewport["width"], "the title is off the screen"
    assert scrolls_sideways(page) == 0, "the page is wider than the screen"
    expect(page.locator("#banners")).to_have_attribute(
        "aria-label", in_language(language, "Notices")
    )
    result = page.locator(".search-result").first.get_by_role("link").first
    expect(result).to_have_text(refund_articles[language].title)
    assert above_the_fold(result, viewport["height"]), "the first result is below the fold"
    contact = page.locator(".site-header").get_by_role(
        "link", name=in_language(language, "Contact us"), exact=True
    )
    if size == "phone":
        expect(contact).to_be_hidden()  # the header folded its links into a menu
    else:
        expect(contact).to_be_visible()
    assert moderate_landmark_findings(tab) == []
    tab.check("search-one-line-of-notices", accessibility=True)

    if size == "phone":
        page.locator(".site-menu > summary").click()
        expect(contact).to_be_visible()
        tab.check("menu-open", accessibility=True)
        page.locator(".site-menu > summary").click()
    line.click()  # <details>: opens without a script
    for notice in three_notices:
        expect(page.locator(f"#banner-{notice.slug}")).to_be_visible()
    tab.check("notices-open", accessibility=True)

    result.click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(refund_articles[language].title)
    assert above_the_fold(heading, viewport["height"]), "the article's title is below the fold"
    tab.check("article", accessibility=True)


@pytest.mark.parametrize("language", ["es", "en"])
def test_no_page_scrolls_sideways_on_a_phone_when_times_carry_their_zone(
    open_tab, refund_articles, three_notices, language
):
    """A visitor's first page (before the browser has told us its zone) writes every time with
    its zone ("21:31 (hora de Madrid)"): in Spanish the one line of notices was 417 px wide and
    a notice's card 441 px, at 390 px (found walking the site in chromium)."""
    maintenance = publish(
        kind=Announcement.Kind.MAINTENANCE,
        title_es="Mantenimiento programado de los pagos",
        title_en="Planned maintenance of payments",
        starts_at=timezone.now() + timedelta(days=5),
        ends_at=timezone.now() + timedelta(days=5, hours=2),
    )
    tab = open_tab(language, viewport=PHONE)
    page = tab.page
    for name, path in [
        ("home", f"/{language}/"),
        ("search", f"/{language}/search/?q=" + {"es": "reembolso", "en": "refund"}[language]),
        ("article", refund_articles[language].get_absolute_url()),
        ("contact", f"/{language}/contact/"),
        ("notices", f"/{language}/notices/"),
        ("incident", notice_url(three_notices[1], language)),
        ("maintenance", notice_url(maintenance, language)),
        ("find-case", f"/{language}/cases/find/"),
    ]:
        page.context.clear_cookies()  # each page a first visit: no zone cookie yet
        tab.goto(path)
        expect(page.locator("body")).to_contain_text(
            {"es": "(hora de Madrid)", "en": "(Madrid time)"}[language]
        )
        line = page.locator("#banners > details > summary")
        if name != "home":  # the home page lists the notices in a section of its own
            line.click()  # the open banners too
        assert scrolls_sideways(page) == 0, f"{path} is wider than the screen"
        tab.check(name)
