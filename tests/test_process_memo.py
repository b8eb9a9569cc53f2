"""What a process keeps of read-mostly rows (foundation.process_memo); the pages that use it
have their own tests (tests/cases/test_status_page_memo.py)."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from foundation import process_memo
from notifications.models import CalendarException, OpeningHours
from notifications.selectors import load_calendar

pytestmark = pytest.mark.django_db


@pytest.fixture
def counting_loader():
    loads: list[int] = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    return load


def test_a_value_is_read_once_until_a_change(counting_loader):
    assert process_memo.remember("test:value", counting_loader) == 1
    assert process_memo.remember("test:value", counting_loader) == 1

    process_memo.changed()

    assert process_memo.remember("test:value", counting_loader) == 2


def test_a_generation_lost_by_the_cache_makes_the_process_read_again(counting_loader):
    process_memo.remember("test:value", counting_loader)

    cache.delete(process_memo.GENERATION_KEY)  # evicted, or Redis restarted empty

    assert process_memo.remember("test:value", counting_loader) == 2
    assert process_memo.remember("test:value", counting_loader) == 2


def test_nothing_is_kept_while_the_cache_is_down_nor_trusted_after(settings, counting_loader):
    process_memo.remember("test:value", counting_loader)
    up = settings.CACHES
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # port 1: connection refused at once
        }
    }

    assert process_memo.remember("test:value", counting_loader) == 2
    assert process_memo.remember("test:value", counting_loader) == 3
    settings.CACHES = up  # back, with the old generation: changes made meanwhile never bumped it

    assert process_memo.remember("test:value", counting_loader) == 4


def test_an_opening_hours_or_calendar_change_shows_at_once():
    monday_noon = datetime(2030, 1, 7, 12, tzinfo=ZoneInfo("Europe/Madrid"))
    assert not load_calendar().is_open(monday_noon)

    hours = OpeningHours.objects.create(weekday=0, opens_at=time(9), closes_at=time(18))
    assert load_calendar().is_open(monday_noon)

    CalendarException.objects.create(date=monday_noon.date(), label_es="F", label_en="H")
    assert not load_calendar().is_open(monday_noon)

    CalendarException.objects.all().delete()
    hours.delete()
    assert load_calendar().weekly == {}


def test_a_page_reads_the_generation_once_however_many_kept_values_it_uses(client, embedded_cache):
    client.get("/es/notices/")  # keep the notices, the navigation and the calendar

    with CaptureQueriesContext(connection) as captured:
        client.get("/es/notices/")

    generation_reads = [q for q in captured if "process-memo:generation" in q["sql"]]
    assert len(generation_reads) == 1
