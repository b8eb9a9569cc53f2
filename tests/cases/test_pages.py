import html
import re

import pytest
from django.test import Client

from cases import services
from cases.models import Case, CaseLinkRequest, ContactReason, Deflection
from notifications.models import Announcement
from notifications.services.announcements import publish_announcement
from tests.conftest import assert_page_queries, page_queries
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
DESK_QUEUE_QUERIES = 9  # session, user, 2 permissions, cases, alerts, alert count, reasons, teams
DESK_CASE_QUERIES = 13  # session, user, 2 permissions, case, events (authors joined), alerts
# seen, draft, other cases, alert count, saved replies, staff, teams


@pytest.fixture
def opened(client, make_case, open_link):
    case = make_case()
    open_link(case)
    return case


def status_page(client, case):
    return client.get(f"/es/cases/{case.reference}/")


def test_status_page_says_where_the_case_stands_and_when_next(client, opened):
    html = status_page(client, opened).text

    assert "Tenemos tu caso y te responderemos pronto." in html
    assert "Próxima novedad antes del" in html
    assert "Pagos lo leerá y te escribirá." in html


def test_overdue_case_says_so_and_gives_a_new_estimate(client, opened):
    Case.objects.filter(pk=opened.pk).update(
        first_response_due="2020-01-01T10:00:00Z", resolution_due="2020-01-02T10:00:00Z"
    )

    html = status_page(client, opened).text

    assert "Vamos con retraso" in html and "Nueva previsión" in html


def test_internal_notes_never_reach_the_page_or_its_source(client, opened):
    services.add_internal_note(case=opened, body="NOTA-INTERNA-CONFIDENCIAL", actor=None)
    services.reply_to_customer(case=opened, body="Respuesta pública", actor=None)

    html = status_page(client, opened).text

    assert "Respuesta pública" in html
    assert "NOTA-INTERNA-CONFIDENCIAL" not in html


def test_customer_message_with_htmx_returns_the_fragment_and_moves_waiting_back(client, opened):
    services.change_case_status(case=opened, status=Case.Status.WAITING_ON_CUSTOMER, actor=None)

    response = client.post(
        f"/es/cases/{opened.reference}/message/", {"body": "Aquí está"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200 and "<html" not in response.text
    assert "Aquí está" in response.text
    assert Case.objects.get(pk=opened.pk).status == Case.Status.IN_PROGRESS


def test_customer_actions_work_as_plain_forms_without_javascript(client, opened):
    response = client.post(f"/es/cases/{opened.reference}/confirm/", follow=True)

    assert response.redirect_chain[-1][0] == f"/es/cases/{opened.reference}/"
    assert Case.objects.get(pk=opened.pk).status == Case.Status.CLOSED
    client.post(f"/es/cases/{opened.reference}/rate/", {"rating": "5", "comment": "Genial"})
    assert Case.objects.get(pk=opened.pk).satisfaction == 5
    assert client.post(f"/es/cases/{opened.reference}/rate/", {"rating": "1"}).status_code == 400


def test_hostile_text_in_messages_is_escaped(client, opened):
    client.post(f"/es/cases/{opened.reference}/message/", {"body": HOSTILE})

    html = status_page(client, opened).text

    assert HOSTILE not in html
    assert "&lt;script&gt;" in html


def test_every_customer_form_requires_csrf(make_case):
    case = make_case()
    browser = Client(enforce_csrf_checks=True)
    # Even a visitor who holds the case in their session cannot post without the token.
    url = services.issue_access_link(case=case)
    browser.get("/" + url.split("://", 1)[1].split("/", 1)[1])
    for path, data in [
        ("/es/contact/", {}),
        ("/es/contact/solved/", {}),
        ("/es/cases/find/", {"email": "a@example.com"}),
        (f"/es/cases/{case.reference}/message/", {"body": "x"}),
        (f"/es/cases/{case.reference}/confirm/", {}),
        (f"/es/cases/{case.reference}/reopen/", {}),
        (f"/es/cases/{case.reference}/rate/", {"rating": "5"}),
        (f"/es/cases/{case.reference}/updates/", {"enabled": "0"}),
    ]:
        assert browser.post(path, data).status_code == 403, path


def test_status_page_shows_notices_and_articles_for_its_reason(client, opened, reason):
    ContactReason.objects.filter(pk=reason.pk).update(article_keys=["payment-declined"])
    publish_announcement(
        announcement=Announcement(
            slug="pagos-caidos",
            kind="incident",
            title_es="Pagos con tarjeta caídos",
            title_en="Card payments down",
            body_es="x",
            body_en="x",
            areas=["payments"],
        ),
        actor=None,
    )

    publish_announcement(
        announcement=Announcement(
            slug="navidad",
            kind="holiday",
            title_es="Navidad: cerrado",
            title_en="Christmas: closed",
            body_es="x",
            body_en="x",
        ),
        actor=None,
    )

    html = status_page(client, opened).text

    assert "Ya lo sabemos" in html and "Pagos con tarjeta caídos" in html
    aside = html.split("Ya lo sabemos", 1)[1]
    assert "Navidad: cerrado" not in aside  # holiday hours are for the banner, not this case


def test_status_page_query_count_does_not_grow_with_the_timeline(client, opened):
    def count() -> int:
        with page_queries() as queries:
            assert status_page(client, opened).status_code == 200
        return len(queries)

    status_page(client, opened)  # the process reads reasons, teams, notices, articles once
    few = count()
    for number in range(20):
        services.reply_to_customer(case=opened, body=f"Respuesta {number}", actor=None)
    assert count() == few
    assert few == 3  # session, case, public events (the rest: foundation.process_memo)


# --- Contact form -----------------------------------------------------------------------------


def contact(client, reason, **overrides):
    data = {"reason": reason.pk, "subject": "Mi tarjeta falla", "description": "Error 402 al pagar",
            "name": "Ana", "email": "ana@example.com", **overrides}  # fmt: skip
    return client.post("/es/contact/", data, follow=True)


def test_contact_form_opens_a_case_and_shows_its_reference_and_what_happens_next(client, reason):
    response = contact(client, reason)

    case = Case.objects.get()
    assert case.reference in response.text
    assert "Qué pasa ahora" in response.text and "te responderá antes del" in response.text
    assert case.reason == reason and case.team.slug == "payments"


def test_field_errors_are_clear_and_nothing_typed_is_lost(client, reason):
    response = contact(client, reason, email="not-an-email", description="Mi descripción larga")

    assert response.status_code == 200
    assert Case.objects.count() == 0
    assert "Mi descripción larga" in response.text and 'value="Mi tarjeta falla"' in response.text
    assert 'class="errorlist"' in response.text


def test_this_solved_it_counts_a_contact_avoided_only_after_the_article_was_opened(
    client, reason, publish
):
    publish(title="Tarjeta rechazada", slug="tarjeta-rechazada", translation_key="card-declined")
    solved = {"article": "card-declined", "reason": str(reason.pk)}

    response = client.post(
        "/es/contact/solved/", solved, HTTP_HX_REQUEST="true", HTTP_USER_AGENT="Never opened it"
    )
    assert response.status_code == 200
    assert Deflection.objects.get().kind == Deflection.Kind.ARTICLE_UNREAD  # recorded apart

    client.get("/es/articles/tarjeta-rechazada/", HTTP_USER_AGENT="Reader")
    client.post("/es/contact/solved/", solved, HTTP_HX_REQUEST="true", HTTP_USER_AGENT="Reader")
    read = Deflection.objects.exclude(kind=Deflection.Kind.ARTICLE_UNREAD).get()
    assert (read.kind, read.article_key) == (Deflection.Kind.ARTICLE, "card-declined")
    assert Case.objects.count() == 0


def test_a_status_question_gets_the_case_link_instead_of_a_new_case(
    client, reason, make_case, django_capture_on_commit_callbacks
):
    existing = make_case()
    with django_capture_on_commit_callbacks() as callbacks:
        response = contact(
            client,
            reason,
            subject=f"¿Cómo va el caso {existing.reference}?",
            description="¿Alguna novedad?",
        )

    assert Case.objects.count() == 1
    assert "El enlace a tu caso va de camino" in response.text
    assert Deflection.objects.get().kind == Deflection.Kind.STATUS_INQUIRY
    # The link is asked for as a row, sent to the worker after commit.
    link_request = CaseLinkRequest.objects.get()
    assert (link_request.email, link_request.reference) == ("ana@example.com", existing.reference)
    assert len(callbacks) == 1


def test_verified_customer_is_offered_to_add_to_the_open_case(client, reason, make_case, open_link):
    existing = make_case()
    open_link(existing)

    offer = contact(client, reason)
    assert "Ya tienes un caso sobre esto" in offer.text and existing.reference in offer.text

    contact(client, reason, duplicate_choice="add")
    assert Case.objects.count() == 1
    assert existing.events.filter(kind="message").exists()
    assert Deflection.objects.get().kind == Deflection.Kind.DUPLICATE


def test_an_unverified_visitor_learns_nothing_about_open_cases(client, reason, make_case):
    make_case()  # ana@example.com has an open case

    response = contact(Client(), reason)

    assert "Ya tienes un caso" not in response.text
    assert Case.objects.count() == 2


def test_known_customer_finds_name_and_email_filled_in(client, opened):
    html = client.get("/es/contact/").text

    assert 'value="ana@example.com"' in html and 'value="Ana"' in html


def test_contact_form_is_rate_limited(reason):
    for number in range(5):
        contact(Client(), reason, email=f"x{number}@example.com")

    response = contact(Client(), reason, email="other@example.com")

    assert response.status_code == 429
    assert Case.objects.count() == 5


def test_honeypot_opens_no_case(client, reason):
    contact(client, reason, website="spam")

    assert Case.objects.count() == 0


def test_suggestions_appear_while_typing(client, reason, publish):
    publish(title="Mi pago ha sido rechazado", slug="pago-rechazado", body="pago rechazado tarjeta")

    response = client.get(
        "/es/contact/suggestions/", {"subject": "pago rechazado"}, HTTP_HX_REQUEST="true"
    )

    assert "Mi pago ha sido rechazado" in response.text and "Esto lo ha resuelto" in response.text


def test_expected_reply_time_for_the_chosen_reason(client, reason):
    response = client.get("/es/contact/expectation/", {"reason": reason.pk})

    assert "te responderemos antes del" in response.text


SPANISH_DAY = r"(?:lunes|martes|miércoles|jueves|viernes|sábado|domingo) \d{1,2} de \w+"


def test_a_day_we_promise_is_that_day_not_the_day_before_in_spanish(client, reason):
    """ "Solved by Monday 7 December" is "como muy tarde, el lunes 7 de diciembre": "antes del
    lunes 7 de diciembre" promised the Sunday (found walking the contact form in chromium)."""
    expectation = client.get("/es/contact/expectation/", {"reason": reason.pk}).text
    assert re.search(rf"se resuelven, como muy tarde, el {SPANISH_DAY}\.", expectation)
    english = client.get("/en/contact/expectation/", {"reason": reason.pk}).text
    assert re.search(r"solved by \w+ \d{1,2} \w+\.", english)

    contact(client, reason)
    case = Case.objects.get()
    received = client.get(f"/es/contact/received/{case.reference}/").text
    assert re.search(rf"Esperamos resolverlo, como muy tarde, el {SPANISH_DAY}\.", received)
    for page in (expectation, received):  # a day alone never comes after "antes del"
        assert not re.search(rf"antes del {SPANISH_DAY}\.", html.unescape(page))


# --- Desk -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/es/desk/", "/es/desk/cases/{ref}/", "/es/desk/notices/"])
def test_anonymous_visitors_are_sent_to_login_and_customers_get_403(client, make_case, path):
    case = make_case()
    url = path.format(ref=case.reference)

    assert client.get(url).status_code == 302
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403
    assert client.get(url, HTTP_HX_REQUEST="true").status_code == 403


@pytest.mark.parametrize("action", ["reply", "note", "status", "assign"])
def test_non_staff_cannot_use_the_desk_htmx_endpoints(client, make_case, action):
    case = make_case()
    client.force_login(UserFactory())

    response = client.post(
        f"/es/desk/cases/{case.reference}/{action}/",
        {"body": "x", "status": "closed"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).status == Case.Status.RECEIVED


@pytest.fixture
def agent(client):
    from django.contrib.auth.models import Permission

    user = StaffFactory()
    user.user_permissions.add(Permission.objects.get(codename="change_case"))
    client.force_login(user)
    return user


def test_desk_queue_filters_and_sorts_by_due_date(client, agent, make_case):
    first, second = make_case("a@example.com"), make_case("b@example.com")
    services.change_case_status(case=second, status=Case.Status.WAITING_ON_CUSTOMER, actor=agent)

    waiting = client.get("/es/desk/", {"waiting": "1"}).context["cases"]
    everything = client.get("/es/desk/").context["cases"]

    assert waiting == [Case.objects.get(pk=second.pk)]
    assert [case.pk for case in everything] == [first.pk, second.pk]


def test_desk_reply_with_htmx_updates_the_workspace_and_queues_no_email_yet(
    client, agent, make_case
):
    case = make_case()

    response = client.post(
        f"/es/desk/cases/{case.reference}/reply/",
        {"body": "Hola Ana", "status": "waiting"},
        HTTP_HX_REQUEST="true",
    )

    assert (
        response.status_code == 200 and "<html" not in response.text and "Hola Ana" in response.text
    )
    case.refresh_from_db()
    assert case.status == Case.Status.WAITING_ON_CUSTOMER and case.update_pending_since is not None


def test_desk_shows_internal_notes_to_staff(client, agent, make_case):
    case = make_case()
    services.add_internal_note(case=case, body="Solo para el equipo", actor=agent)

    assert "Solo para el equipo" in client.get(f"/es/desk/cases/{case.reference}/").text


def test_bulk_status_change(client, agent, make_case):
    cases = [make_case(f"c{n}@example.com") for n in range(3)]

    client.post(
        "/es/desk/bulk-status/",
        {"cases": [case.reference for case in cases[:2]], "status": "in_progress"},
    )

    assert list(Case.objects.order_by("pk").values_list("status", flat=True)) == [
        "in_progress",
        "in_progress",
        "received",
    ]


def test_desk_escapes_customer_text(client, agent, make_case):
    case = make_case(subject=HOSTILE, description=HOSTILE)

    html = client.get(f"/es/desk/cases/{case.reference}/").text

    assert HOSTILE not in html
    assert re.search(r"&lt;script&gt;", html)


def test_desk_queue_query_count_does_not_grow_with_the_cases(client, agent, make_case):
    make_case()
    client.get("/es/desk/")  # the process reads reasons, teams and notices once
    with assert_page_queries(DESK_QUEUE_QUERIES):
        client.get("/es/desk/")
    for number in range(10):
        make_case(email=f"cliente{number}@example.com")
    with assert_page_queries(DESK_QUEUE_QUERIES):
        assert len(client.get("/es/desk/").context["cases"]) == 11


def test_desk_case_query_count_does_not_grow_with_the_timeline(client, agent, make_case):
    case = make_case()
    url = f"/es/desk/cases/{case.reference}/"
    client.get(url)
    with assert_page_queries(DESK_CASE_QUERIES):
        client.get(url)
    for number in range(10):
        services.reply_to_customer(case=case, body=f"Respuesta {number}", actor=agent)
        services.add_internal_note(case=case, body=f"Nota {number}", actor=agent)
    with assert_page_queries(DESK_CASE_QUERIES):
        assert client.get(url).status_code == 200
