"""Issue 14, items 9 and 12: one way to write a time, in each language's words, with its zone
whenever it is not the reader's."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from foundation.times import format_moment, format_number, visitor_zone, zone_name

MADRID = ZoneInfo("Europe/Madrid")
CANARY = ZoneInfo("Atlantic/Canary")
MONDAY = dt.datetime(2026, 12, 7, 16, 0, tzinfo=MADRID)


@pytest.mark.parametrize(
    ("language", "style", "expected"),
    [
        ("es", "day", "lunes 7 de diciembre"),
        ("es", "date", "7 de diciembre de 2026"),
        ("es", "day_month", "7 de diciembre"),
        ("es", "short", "7 dic 16:00"),
        ("en", "day", "Monday 7 December"),
        ("en", "date", "7 December 2026"),
        ("en", "short", "7 Dec 16:00"),
    ],
)
def test_dates_are_written_as_each_language_writes_them(language, style, expected):
    with translation.override(language), timezone.override(MADRID):
        assert format_moment(MONDAY, style) == expected


def test_a_time_says_its_zone_unless_it_is_the_readers():
    with translation.override("en"):
        labelled = format_moment(MONDAY, "day_time", zone=MADRID)  # an email: reader unknown
        token = visitor_zone.set(CANARY)
        try:
            theirs = format_moment(MONDAY, "day_time", zone=CANARY)
            ours = format_moment(MONDAY, "time", zone=MADRID)
        finally:
            visitor_zone.reset(token)
    assert labelled == "Monday 7 December, 16:00 (Madrid time)"
    assert theirs == "Monday 7 December, 15:00"  # the same moment in the reader's zone
    assert ours.startswith("16:00 (")


def test_zones_are_said_in_words():
    with translation.override("en"):
        assert zone_name(CANARY) == "Canary Islands time"
        assert zone_name(ZoneInfo("America/Mexico_City")) == "Mexico City time"
    with translation.override("es"):
        assert zone_name(MADRID) == "hora de Madrid"
        assert zone_name(CANARY) == "hora de Canarias"


def test_a_holiday_is_the_service_calendars_day_wherever_the_reader_is():
    holiday = dt.datetime(2026, 12, 8, 0, 0, tzinfo=MADRID)  # 23:00 on the 7th in the Canaries
    template = Template('{{ day|moment:"day+service" }} {{ day|moment:"iso_date+service" }}')
    with translation.override("es"), timezone.override(CANARY):
        assert template.render(Context({"day": holiday})) == "martes 8 de diciembre 2026-12-08"


def test_the_template_filters_share_the_service():
    template = Template('{{ when|moment:"day_time+zone" }} · {{ total|number }}')
    with translation.override("es"):
        text = template.render(Context({"when": MONDAY, "total": 55182}))
    assert text == "lunes 7 de diciembre, 16:00 (hora de Madrid) · 55\xa0182"
    with translation.override("en"):
        assert format_number(55182) == "55,182"
