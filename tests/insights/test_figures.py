"""Every figure of the insights page against a small hand-built data set whose answer is known."""

import csv
import io
from datetime import UTC, datetime, time, timedelta

import pytest

from cases.models import Case, CaseEvent, Deflection
from foundation.models import DailyCounter
from insights import services
from insights.models import DailyReasonStats
from insights.periods import Period, day_bounds, service_today, service_zone
from kb.models import Article, ArticleDailyViews, ArticleFeedback, SearchLog
from tests.factories import (
    ArticleFactory,
    CaseEventFactory,
    CaseFactory,
    ContactReasonFactory,
    ReasonGroupFactory,
    StaffFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def at(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=service_zone())


def make_case(reason, created_at, **fields) -> Case:
    due = created_at + timedelta(days=30)
    values = {"first_response_due": due, "resolution_due": due, **fields}
    return CaseFactory(reason=reason, created_at=created_at, **values)


def event(case, kind, when, **fields) -> CaseEvent:
    return CaseEventFactory(case=case, kind=kind, created_at=when, **{"body": "", **fields})


@pytest.fixture
def known_data():
    today = service_today()
    day, before = today - timedelta(days=2), today - timedelta(days=9)
    owner_a = StaffFactory(username="owner_a", first_name="Ana")
    owner_b = StaffFactory(username="owner_b")
    payments = TeamFactory(slug="payments", name_es="Pagos", name_en="Payments")
    shipping = TeamFactory(slug="shipping", name_es="Envíos", name_en="Shipping")
    group = ReasonGroupFactory(code="orders", name_es="Pedidos", name_en="Orders")
    reason_a = ContactReasonFactory(
        code="payment-failed", parent=group, name_es="Pago fallido", name_en="Payment failed",
        team=payments, owner=owner_a, article_keys=["pay-help"],
    )  # fmt: skip
    reason_b = ContactReasonFactory(
        code="late-delivery", parent=group, name_es="Entrega tardía", name_en="Late delivery",
        team=shipping, owner=owner_b,
    )  # fmt: skip

    noon = at(day, 12)
    c1 = make_case(
        reason_a, noon, opened_during_notice=True, saw_reason_article=False,
        first_response_due=noon + timedelta(hours=1),
        first_responded_at=noon + timedelta(minutes=30),
        resolution_due=noon + timedelta(hours=3), resolved_at=noon + timedelta(hours=2),
    )  # fmt: skip
    c2 = make_case(
        reason_a, noon, saw_reason_article=True,
        first_response_due=noon + timedelta(hours=1), first_responded_at=noon + timedelta(hours=2),
    )  # fmt: skip
    make_case(
        reason_a, noon, saw_reason_article=False, first_response_due=noon + timedelta(hours=1)
    )
    make_case(reason_b, noon)
    make_case(reason_a, at(before, 12))

    resolved, reopened = Case.Status.RESOLVED, Case.Status.REOPENED
    event(c1, CaseEvent.Kind.STATUS, noon + timedelta(hours=2), to_status=resolved)
    event(c1, CaseEvent.Kind.STATUS, noon + timedelta(hours=4), to_status=reopened)
    event(c2, CaseEvent.Kind.STATUS, noon + timedelta(hours=5), to_status=resolved)
    event(c1, CaseEvent.Kind.SATISFACTION, noon + timedelta(hours=6), rating=5, body="Muy rápido")
    event(
        c2, CaseEvent.Kind.SATISFACTION, noon + timedelta(hours=7), rating=2, body="=HYPERLINK(1)"
    )
    event(c1, CaseEvent.Kind.INTERNAL_NOTE, noon, public=False, body="not a figure")

    for kind, reason in [
        (Deflection.Kind.ARTICLE, reason_a),
        (Deflection.Kind.ARTICLE, reason_a),
        (Deflection.Kind.ARTICLE, None),
        (Deflection.Kind.STATUS_INQUIRY, reason_a),
        (Deflection.Kind.DUPLICATE, reason_b),
        (Deflection.Kind.INCIDENT, reason_a),  # followed a known problem instead of writing
        (Deflection.Kind.ARTICLE_UNREAD, reason_a),  # "this solved it" unread: not counted
    ]:
        Deflection.objects.create(kind=kind, reason=reason, created_at=noon)

    for name, value in [("visits", 200), ("contact_form_opened", 10), ("suggestions_shown", 6)]:
        DailyCounter.objects.create(day=day, name=name, value=value)
    DailyCounter.objects.create(day=before, name="visits", value=100)
    searches = [
        ("factura duplicada", 0, ""),
        ("factura duplicada", 0, ""),
        ("pago rechazado", 3, "payment-failed"),
        ("envio", 4, ""),
        ("horario", 2, ""),
    ]
    for query, results, followed in searches:
        SearchLog.objects.create(
            query=query, language="es", results_count=results, followed_by_contact=followed,
            created_at=noon,
        )  # fmt: skip
    article = ArticleFactory(
        translation_key="pay-help", slug="ayuda-pagos", title="Ayuda con los pagos",
        status=Article.Status.PUBLISHED, reviewed_at=None,
    )  # fmt: skip
    ArticleDailyViews.objects.create(article=article, day=day, views=40)
    for index, helpful in enumerate([True, True, True, False, False]):
        ArticleFeedback.objects.create(
            article=article, helpful=helpful, language="es", visitor_hash=f"v{index}",
            created_at=noon,
        )  # fmt: skip

    services.roll_up_recent_days(days=12)
    return {"reason_a": reason_a, "reason_b": reason_b, "owner_a": owner_a, "today": today}


def page(client, **params):
    response = client.get("/en/desk/insights/", {"period": "7", **params})
    assert response.status_code == 200
    return response.context["insights"]


def by_label(figures):
    return {figure.label: (figure.value, figure.previous) for figure in figures}


def test_funnel_counts_each_step_of_self_service(known_data, reader):
    funnel = by_label(page(reader).funnel)
    assert funnel == {
        "Help-center visits": (200, 100),
        "Searches": (5, 0),
        "Article views": (40, 0),
        "“Helpful” votes": (3, 0),
        "Contact form opened": (10, 0),
        "Suggestions shown": (6, 0),
        "“This solved it”": (3, 0),
        "Cases opened": (4, 1),
    }


def test_ratios_follow_their_definitions(known_data, reader):
    ratios = by_label(page(reader).ratios)
    assert ratios["Self-service ratio"] == (50.0, 100.0)  # 200 visits / 4 cases; 100 / 1
    # 5 avoided (3 solved, 1 status question, 1 duplicate) of 5 + 4 cases; none before.
    assert ratios["Deflection rate"] == (60.0, 0.0)  # 6 avoided, 4 opened
    assert ratios["Searches with no results"] == (40.0, None)


def test_needless_contacts(known_data, reader):
    assert by_label(page(reader).needless) == {
        "Status questions answered by the status page": (1, 0),
        "Duplicate cases avoided": (1, 0),
        "Contacts avoided by a known problem": (1, 0),
        "Contacts avoided by telling the customer first": (0, 0),
        "Cases opened while a notice about them was live": (1, 0),
        "Cases whose answer was in an article they never read": (2, 0),
    }


def test_demand_by_reason_with_previous_period_and_growth(known_data, reader):
    insights = page(reader)
    rows = {row["reason"]: row for row in insights.demand.rows}
    payment = rows["Orders / Payment failed"]
    assert (payment["cases"], payment["previous"], payment["change"]) == (3, 1, 2)
    assert payment["per_1000_visits"] == 15.0
    assert payment["change_percent"] == 200.0
    assert (payment["owner"], payment["team"]) == ("Ana", "Payments")
    late = rows["Orders / Late delivery"]
    assert (late["cases"], late["previous"], late["change_percent"]) == (1, 0, None)
    assert [row["reason"] for row in insights.growing] == [
        "Orders / Payment failed",
        "Orders / Late delivery",
    ]
    assert sum(row["cases"] for row in insights.demand_chart_table.rows) == 4
    assert sum(row["previous"] for row in insights.demand_chart_table.rows) == 1


def test_promises_kept_by_reason_and_team(known_data, reader):
    insights = page(reader)
    by_reason = {row["reason"]: row for row in insights.promises[0].rows}
    payment = by_reason["Orders / Payment failed"]
    assert payment["first_response_due"] == 3
    assert payment["first_response_on_time"] == 33.3  # one of three first replies in time
    assert (payment["resolution_due"], payment["resolution_on_time"]) == (1, 100.0)
    assert (payment["ratings"], payment["satisfaction"]) == (2, 3.5)
    assert (payment["rating_5"], payment["rating_2"], payment["rating_1"]) == (1, 1, 0)
    assert (payment["resolved"], payment["reopened"], payment["reopen_rate"]) == (2, 1, 50.0)
    late = by_reason["Orders / Late delivery"]
    assert (late["first_response_due"], late["first_response_on_time"]) == (0, None)
    by_team = {row["team"]: row for row in insights.promises[1].rows}
    assert by_team["Payments"]["first_response_due"] == 3
    assert by_team["Shipping"]["ratings"] == 0
    assert [bar.value for bar in insights.ratings] == [1, 0, 0, 1, 0]  # 5 stars down to 1
    assert [rating.body for rating in insights.comments] == ["=HYPERLINK(1)", "Muy rápido"]


def test_content_gaps(known_data, reader):
    gaps = {table.slug: table for table in page(reader).content_gaps}
    zero = gaps["zero-result-searches"].rows
    assert [(row["query"], row["searches"]) for row in zero] == [("factura duplicada", 2)]
    assert zero[0]["new_article_url"].startswith("/admin/kb/article/add/?title=factura+duplicada")
    before_case = gaps["searches-before-cases"].rows
    assert [(row["query"], row["reason_code"]) for row in before_case] == [
        ("pago rechazado", "payment-failed")
    ]
    assert [row["views"] for row in gaps["most-read-articles"].rows] == [40]
    least = gaps["least-helpful-articles"].rows
    assert [(row["title"], row["votes"], row["helpful_percent"]) for row in least] == [
        ("Ayuda con los pagos", 5, 60.0)
    ]
    assert least[0]["edit_url"].startswith("/admin/kb/article/")
    assert [row["title"] for row in gaps["stale-articles"].rows] == ["Ayuda con los pagos"]


def test_an_older_period_has_only_its_own_figures(known_data, reader):
    today = known_data["today"]
    first, last = today - timedelta(days=12), today - timedelta(days=6)
    insights = page(reader, period="custom", start=first.isoformat(), end=last.isoformat())
    assert by_label(insights.funnel)["Cases opened"][0] == 1
    assert by_label(insights.funnel)["Help-center visits"][0] == 100


def test_csv_has_the_rows_and_columns_of_the_table(known_data, reader):
    response = reader.get("/en/desk/insights/promises-by-reason.csv", {"period": "7"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Reason", "First replies due", "On time (%)"]
    assert ["Orders / Payment failed", "3", "33.3"] in [row[:3] for row in rows]
    comments = reader.get("/en/desk/insights/searches-before-cases.csv", {"period": "7"})
    assert "pago rechazado" in comments.content.decode()
    assert reader.get("/en/desk/insights/nothing-here.csv").status_code == 404


def test_csv_cells_that_look_like_formulas_are_quoted():
    from insights.views import _cell

    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _cell("-1") == "'-1"
    assert _cell(None) == ""
    assert _cell(3) == "3"


def test_rolling_up_twice_gives_the_same_rows(known_data):
    def rows():
        return sorted(DailyReasonStats.objects.values_list("day", "reason_id", "opened"), key=str)

    before = rows()
    services.roll_up_recent_days(days=12)
    assert rows() == before


def test_a_day_is_the_service_day_not_the_utc_day(known_data):
    """A case at 23:30 in Madrid is on that day; one at 00:30 on the next day is not, even
    though both are on the same UTC day."""
    reason = known_data["reason_b"]
    day = service_today() - timedelta(days=20)
    make_case(reason, at(day, 23, 30))
    make_case(reason, at(day + timedelta(days=1), 0, 30))
    services.roll_up_day(day)
    services.roll_up_day(day + timedelta(days=1))
    opened = dict(
        DailyReasonStats.objects.filter(
            reason=reason, day__in=[day, day + timedelta(days=1)]
        ).values_list("day", "opened")
    )
    assert opened == {day: 1, day + timedelta(days=1): 1}


def test_days_follow_the_clock_changes_of_the_service_time_zone():
    """Madrid: the last Sunday of March has 23 hours, the last Sunday of October 25; a case at
    00:30 on the long day, before the clocks go back, belongs to that day."""
    from datetime import date

    def hours(day):  # in UTC: Python subtracts same-zone datetimes by the wall clock
        start, end = day_bounds(day)
        return (end.astimezone(UTC) - start.astimezone(UTC)) / timedelta(hours=1)

    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    assert (hours(spring), hours(autumn), hours(autumn + timedelta(1))) == (23, 25, 24)
    assert day_bounds(autumn)[0].utcoffset() == timedelta(hours=2)  # summer time until 03:00


def test_a_case_on_the_day_the_clocks_go_back_counts_once(known_data):
    from datetime import date

    reason, autumn = known_data["reason_b"], date(2026, 10, 25)
    make_case(reason, at(autumn, 0, 30))
    make_case(reason, at(autumn, 23, 45))
    for day in (autumn - timedelta(days=1), autumn, autumn + timedelta(days=1)):
        services.roll_up_day(day)
    opened = dict(
        DailyReasonStats.objects.filter(
            reason=reason, opened__gt=0, day__lte=autumn + timedelta(1)
        ).values_list("day", "opened")
    )
    assert opened == {autumn: 2}


def test_periods_and_the_period_before():
    period = Period.last(7, today=service_today())
    assert period.days == 7
    assert period.previous.last_day == period.first_day - timedelta(days=1)
    assert period.previous.days == 7


def test_the_page_reads_a_fixed_number_of_queries(
    known_data, reader, django_assert_max_num_queries
):
    with django_assert_max_num_queries(30):
        page(reader, period="90")


@pytest.mark.parametrize("path", ["/en/desk/insights/", "/en/desk/insights/demand.csv"])
def test_only_insight_readers_get_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(UserFactory(username="customer"))
    assert client.get(path).status_code == 403
    client.force_login(StaffFactory(username="agent"))
    assert client.get(path).status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {"period": "custom", "start": "2026-02-01", "end": "2026-01-01"},
        {"period": "custom", "start": "nonsense"},
        {"period": "custom", "start": "2001-01-01", "end": "2026-01-01"},
        {"period": "999"},
        {"start": "\x00"},
    ],
)
def test_a_bad_period_shows_an_error_and_the_last_30_days(reader, params):
    response = reader.get("/en/desk/insights/", params)
    assert response.status_code == 200
    assert response.context["insights"].period.days == 30
    assert not response.context["form"].is_valid()
