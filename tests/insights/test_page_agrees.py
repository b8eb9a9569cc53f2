"""The insights page agrees with the live product (issue 15, items 13 and 14): searches that
find something now are told apart, reason names instead of codes, numbers and dates as each
language writes them, the English page in English, a partial last point drawn apart, a demo
owner per team, and the admin's view counts equal to the page's."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.utils import translation

from cases import demo as cases_demo
from cases.models import ContactReason
from helpcenter.demo_history import Scale, generate_history
from insights import charts, services
from insights.models import DailySearchTerm
from insights.periods import service_today
from insights.selectors import Table
from kb.models import Article, ArticleDailyViews
from tests.factories import (
    ContactReasonFactory,
    ReasonGroupFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
LANGUAGES = ["es", "en"]


@pytest.fixture
def searches(db, publish):
    reason = ContactReasonFactory(
        code="payment-failed", parent=ReasonGroupFactory(code="payments", name_es="Pagos",
        name_en="Payments"), name_es="Pago fallido", name_en="Payment failed",
    )  # fmt: skip
    publish(title="Pagar con Bizum", slug="pagar-con-bizum", language="es",
            translation_key="bizum", body="Elige Bizum al pagar.", keywords="bizum")  # fmt: skip
    yesterday = service_today() - timedelta(days=1)
    for query, zero, code in [("pago con bizum", 4, ""), ("envio a marte", 3, ""),
                              ("tarjeta rechazada", 0, "payment-failed")]:  # fmt: skip
        DailySearchTerm.objects.create(
            day=yesterday, query=query, language="es", reason_code=code,
            searches=max(zero, 1), zero_results=zero,
        )  # fmt: skip
    return reason


@pytest.mark.parametrize("language", LANGUAGES)
def test_searches_with_no_results_then_are_told_apart_from_those_still_unanswered(
    reader, searches, language
):
    response = reader.get(f"/{language}/desk/insights/", {"period": "7"})
    gaps = {table.slug: table for table in response.context["insights"].content_gaps}

    rows = {row["query"]: row for row in gaps["zero-result-searches"].rows}
    with translation.override(language):
        then = translation.ngettext(
            "had no results then; finds %(count)s article now",
            "had no results then; finds %(count)s articles now",
            1,
        ) % {"count": 1}
        still = translation.gettext("still nothing")
    assert rows["pago con bizum"]["now"] == then and "new_article_url" not in rows["pago con bizum"]
    assert rows["envio a marte"]["now"] == still and rows["envio a marte"]["new_article_url"]
    (before_case,) = gaps["searches-before-cases"].rows
    names = {"es": "Pagos / Pago fallido", "en": "Payments / Payment failed"}
    assert before_case["reason"] == names[language]
    assert names[language] in response.text and ">payment-failed<" not in response.text


def test_the_english_page_is_in_english_and_spanish_dates_have_no_capitals(reader, searches):
    english = reader.get("/en/desk/insights/").text
    assert "Últimos" not in english and "Last 30 days" in english

    spanish = reader.get("/es/desk/insights/").text
    intro = re.search(r"Del (.*?) al (.*?), comparado", spanish) or re.search(
        r"<h1>.*?</h1>\s*<p>(.*?)</p>", spanish, re.S
    )
    assert intro, spanish[:2000]
    months = re.findall(r"\b(Ene|Feb|Mar|Abr|May|Jun|Jul|Ago|Sep|Oct|Nov|Dic)\b", spanish)
    assert not months
    assert re.search(r"\d+ de [a-z]+ de \d{4}", spanish)


@pytest.mark.parametrize(("language", "shown"), [("es", "12\xa0345"), ("en", "12,345")])
def test_numbers_have_thousands_separators(language, shown):
    table = Table("t", "T", [("name", "Name"), ("count", "Count")], [{"name": "a", "count": 12345}])

    with translation.override(language):
        assert table.lines[0][1] == ["a", shown]
    assert table.rows[0]["count"] == 12345  # the CSV keeps the plain number


def test_the_last_point_still_under_way_is_drawn_apart():
    chart = charts.line_chart(
        [("This period", [10, 12, 3], False), ("Previous", [9, 11, 10], True)],
        x_labels=["a", "b", "c"],
        partial_last=True,
    )

    solid, previous = chart.lines
    assert len(solid.points.split()) == 2 and len(solid.partial_points.split()) == 2
    assert previous.partial_points == "" and len(previous.points.split()) == 3


def test_the_page_marks_todays_point_as_partial(reader, searches):
    chart = reader.get("/en/desk/insights/", {"period": "7"}).context["insights"].demand_chart
    assert chart.lines[0].partial_points


def test_each_demo_owner_is_a_different_person():
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    cases_demo.load(StringIO())

    owners = {
        reason.team.slug: reason.owner
        for reason in ContactReason.objects.filter(parent__isnull=False).select_related("team")
    }
    assert len(set(owners.values())) == len(cases_demo.OWNERS)
    assert all(
        not owner.is_superuser and not owner.has_usable_password() for owner in owners.values()
    )


def test_article_views_in_the_admin_list_match_the_insights_figures(client, publish):
    UserFactory(username="admin", is_staff=True, is_superuser=True)
    cases_demo.load(StringIO())
    articles = [publish(slug=f"articulo-{n}", translation_key=f"a{n}") for n in range(3)]
    generate_history(Scale(days=10, cases_per_day=1, events_per_case=5, searches_per_day=2,
                           visits_per_day=60))  # fmt: skip
    services.roll_up_recent_days(days=11)

    for article in articles:
        article.refresh_from_db()
        total = sum(
            ArticleDailyViews.objects.filter(article=article).values_list("views", flat=True)
        )
        assert total > 0 and article.view_count == total
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    changelist = client.get("/admin/kb/article/", HTTP_ACCEPT_LANGUAGE="en").text
    for article in Article.objects.all():
        assert f'<td class="field-view_count">{article.view_count}</td>' in changelist
