"""The box of our hours (contact form, home, notices) gives clock times of the service's zone:
it says so once when the visitor's browser is elsewhere or did not say, and not at all when
the visitor is in Madrid too; its "until"/"from" times stay in the service's zone, unlabelled,
so they agree with the weekly table under them."""

import pytest

from tests.factories import weekday_hours

pytestmark = pytest.mark.django_db

NOTE = {"es": "Horario en hora de Madrid", "en": "Times in Madrid time"}
LANGUAGES = ["es", "en"]


@pytest.fixture(autouse=True)
def hours(db):
    weekday_hours(days=range(7))  # every day 09:00-18:00, Madrid


def _box(client, language: str) -> str:
    page = client.get(f"/{language}/contact/").text
    start = page.index('id="hours-title"')
    return page[start : page.index("</section>", start)]


def _status_line(box: str) -> str:
    start = box.index('class="badge')
    return box[start : box.index("</p>", start)]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("cookie", ["America/Mexico_City", None])
def test_the_zone_is_said_once_to_a_visitor_elsewhere_or_unknown(client, language, cookie):
    if cookie:
        client.cookies["tz"] = cookie

    box = _box(client, language)

    assert box.count(NOTE[language]) == 1
    assert box.count("Madrid") == 1  # not after every time
    # The service's clock: Madrid's 09:00 or 18:00, not Mexico City's 01:00-11:00.
    line = _status_line(box)
    assert "18:00" in line or "09:00" in line


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_visitor_in_madrid_is_not_told_the_zone(client, language):
    client.cookies["tz"] = "Europe/Madrid"

    box = _box(client, language)

    assert NOTE[language] not in box and "Madrid" not in box
    line = _status_line(box)
    assert "18:00" in line or "09:00" in line
