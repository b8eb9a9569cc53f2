"""The status page takes its case's reason and team, the notices and the linked articles from
what each process keeps (``foundation.process_memo``). A change shows on the very next page,
in this process and in any other; while the cache is down nothing is kept."""

import re
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import ContactReason
from kb import services as kb_services
from notifications.models import Announcement
from notifications.services.announcements import (
    process_due_announcements,
    publish_announcement,
    withdraw_announcement,
)
from tests.conftest import ROOT, page_queries, subprocess_env

pytestmark = pytest.mark.django_db


@pytest.fixture
def opened(client, make_case, open_link):
    case = make_case()
    open_link(case)
    return case


def page(client, case) -> tuple[str, int]:
    """The page's HTML and its SQL queries (the cache table's own left out)."""
    with page_queries() as queries:
        response = client.get(f"/es/cases/{case.reference}/")
    assert response.status_code == 200
    return response.text, len(queries)


def notice(slug: str, title: str, **fields) -> Announcement:
    values = {"kind": "incident", "title_es": title, "title_en": title, "body_es": "x",
              "body_en": "x", "areas": ["payments"], **fields}  # fmt: skip
    return publish_announcement(announcement=Announcement(slug=slug, **values), actor=None)


def banner_phase(html: str, slug: str) -> str:
    banner = re.search(rf'id="banner-{slug}".*?</section>', html, re.S)
    assert banner, f"no banner {slug}"
    badge = re.search(r'<span class="badge">([^<]*)</span>', banner.group(0))
    return badge.group(1) if badge else ""


@pytest.fixture
def linked_article(publish, reason):
    article = publish(title="Tarjeta rechazada: qué hacer", translation_key="card-declined")
    reason.article_keys = ["card-declined", "pay-in-instalments"]
    reason.save()  # what the admin does
    return article


def test_the_next_page_reads_neither_reasons_nor_notices_nor_articles(
    client, opened, linked_article
):
    notice("pagos-caidos", "Pagos con tarjeta caídos")

    first, cold = page(client, opened)
    second, warm = page(client, opened)

    for html in (first, second):
        assert "Tarjeta rechazada: qué hacer" in html and "Pagos con tarjeta caídos" in html
    assert warm == 3  # session, case, public events
    assert cold > warm


def test_a_renamed_team_shows_on_the_next_page(client, opened, reason):
    assert "Pagos lo leerá" in page(client, opened)[0]

    reason.team.name_es = "Cobros"
    reason.team.save()  # what the admin does

    assert "Cobros lo leerá" in page(client, opened)[0]


def test_a_renamed_reason_shows_on_the_next_page(client, opened, reason):
    assert "El pago falla al finalizar la compra" in page(client, opened)[0]

    reason.name_es = "El cobro no se completa"
    reason.save()

    assert "El cobro no se completa" in page(client, opened)[0]


def test_articles_archived_or_published_for_the_reason_show_on_the_next_page(
    client, opened, linked_article, publish
):
    assert "Tarjeta rechazada: qué hacer" in page(client, opened)[0]

    kb_services.archive_article(article=linked_article, actor=None)
    publish(title="Pagar en tres plazos", translation_key="pay-in-instalments")
    html, _ = page(client, opened)

    assert "Tarjeta rechazada: qué hacer" not in html
    assert "Pagar en tres plazos" in html


def test_notices_published_or_withdrawn_show_on_the_next_page(client, opened):
    assert "Pagos con tarjeta caídos" not in page(client, opened)[0]

    published = notice("pagos-caidos", "Pagos con tarjeta caídos")
    assert "Pagos con tarjeta caídos" in page(client, opened)[0]

    withdraw_announcement(announcement=published, actor=None)
    assert "Pagos con tarjeta caídos" not in page(client, opened)[0]


def test_a_notice_leaves_the_page_when_it_expires_with_nothing_written(client, opened):
    notice("corte-breve", "Corte breve", expire_at=timezone.now() + timedelta(seconds=1))
    assert "Corte breve" in page(client, opened)[0]

    time.sleep(1.1)  # no write, no beat job: only the clock moved

    assert "Corte breve" not in page(client, opened)[0]


def test_the_maintenance_phase_moved_by_the_beat_job_shows_in_the_banner(client, opened):
    now = timezone.now()
    notice("mantenimiento", "Mantenimiento de pagos", kind="maintenance",
           starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))  # fmt: skip
    assert banner_phase(page(client, opened)[0], "mantenimiento") == "Programado"

    process_due_announcements(now=now + timedelta(hours=1, minutes=1))  # writes with update()

    assert banner_phase(page(client, opened)[0], "mantenimiento") == "En curso"


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # port 1: connection refused at once
        }
    }


def test_while_the_cache_is_down_the_page_answers_from_the_database(
    client, opened, reason, cache_down
):
    before, queries = page(client, opened)
    ContactReason.objects.filter(pk=reason.pk).update(name_es="Nombre cambiado sin señal")
    after, _ = page(client, opened)

    assert "El pago falla al finalizar la compra" in before
    assert "Nombre cambiado sin señal" in after  # nothing kept, not even without a signal
    assert queries > 3


@pytest.mark.django_db(transaction=True)
def test_a_change_made_in_another_process_shows_on_the_next_page_here(client, opened, reason):
    Announcement.objects.create(slug="retrasos", kind="incident", title_es="Retrasos en pagos",
                                title_en="Payment delays", body_es="x", body_en="x",
                                areas=["payments"], publication="published")  # fmt: skip
    html, _ = page(client, opened)
    assert "Retrasos en pagos" in html and "Pagos lo leerá" in html
    assert page(client, opened)[1] == 3  # kept in this process

    code = (
        "from cases.models import Team;"
        "from notifications.models import Announcement;"
        "from notifications.services.announcements import withdraw_announcement;"
        "team = Team.objects.get(slug='payments'); team.name_es = 'Cobros'; team.save();"
        "withdraw_announcement(announcement=Announcement.objects.get(slug='retrasos'), actor=None)"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=subprocess_env(),
        check=True,
        timeout=60,
        capture_output=True,
    )
    html, _ = page(client, opened)

    assert "Retrasos en pagos" not in html
    assert "Cobros lo leerá" in html
