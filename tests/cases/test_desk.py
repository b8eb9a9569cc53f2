"""The staff desk of issue 15, items 1-6: search, the customer, saved replies, drafts, alerts,
honest labels and its own header (view tests, in Spanish and English)."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases import selectors, services
from cases.models import Case, DeskAlert, DeskPreferences, ReplyDraft, SavedReply
from kb import services as kb_services
from notifications.models import OutgoingMessage
from tests import files
from tests.factories import StaffFactory, TeamFactory

pytestmark = pytest.mark.django_db

WORDS = {
    "es": {
        "waiting": "Esperando al cliente",
        "customer_waiting": "Esperando tu respuesta",
        "overdue": "Con retraso",
        "signed_in": "Sesión iniciada como Marta",
        "sign_out": "Cerrar sesión",
        "matching": "Casos que coinciden con",
        "writes_in": "Escribe en español",
        "first_due": "Primera respuesta prevista",
    },
    "en": {
        "waiting": "Waiting on customer",
        "customer_waiting": "Waiting for you",
        "overdue": "Overdue",
        "signed_in": "Signed in as Marta",
        "sign_out": "Sign out",
        "matching": "Cases matching",
        "writes_in": "Writes in Spanish",
        "first_due": "First reply due",
    },
}
LANGUAGES = ["es", "en"]


@pytest.fixture
def agent(client):
    user = StaffFactory(username="marta", first_name="Marta", email="marta@example.com")
    user.user_permissions.add(Permission.objects.get(codename="change_case"))
    client.force_login(user)
    return user


# --- 1. Find anything -------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_one_search_finds_cases_by_reference_email_name_and_message_text(
    client, agent, make_case, language
):
    ana = make_case("Ana.Lopez@example.com", customer_name="Ana López", subject="Tarjeta")
    luis = make_case("luis@example.com", customer_name="Luis Gil", subject="Envío perdido")
    services.add_customer_message(case=luis, body="El paquete llegó roto por la esquina")
    services.change_case_status(case=ana, status=Case.Status.CLOSED, actor=agent)

    def found(query: str) -> list[str]:
        response = client.get(f"/{language}/desk/", {"q": query})
        assert WORDS[language]["matching"] in response.text
        return [case.reference for case in response.context["cases"]]

    assert found(ana.reference) == [ana.reference]
    assert found(ana.reference.replace("-", "").lower()) == [ana.reference]
    assert found("ana.lopez@EXAMPLE.com") == [ana.reference]  # closed cases too
    assert found("luis gil") == [luis.reference]
    assert found("llegó roto") == [luis.reference]
    assert found("nadie escribió esto") == []


def test_search_answers_any_input_without_error(client, agent, make_case):
    make_case()
    for query in ["", "x", "%", "_", "\x00", "'; DROP TABLE cases_case; --", "é" * 5000]:
        assert client.get("/es/desk/", {"q": query}).status_code == 200


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_desk_page_has_the_search_box(client, agent, make_case, language):
    case = make_case()
    for path in ["desk/", f"desk/cases/{case.reference}/", "desk/preferences/"]:
        html = client.get(f"/{language}/{path}").text
        assert re.search(rf'<form[^>]*role="search"[^>]*action="/{language}/desk/"', html)
        assert 'name="q"' in html


# --- 2. Know the customer ---------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_case_shows_the_customers_other_cases_articles_read_and_search_before(
    client, agent, make_case, publish, language
):
    article = publish(
        title="Pagar con otra tarjeta", language="es", translation_key="other-card", body="x"
    )
    visitor = "a" * 64
    kb_services.record_search(
        visitor_hash=visitor,
        query="pago rechazado",
        language="es",
        category="",
        results_count=0,
        used_fuzzy=False,
    )
    kb_services.record_article_read(
        article_id=article.pk, translation_key="other-card", visitor_hash=visitor
    )
    older = make_case(subject="Un pedido anterior")
    services.change_case_status(case=older, status=Case.Status.CLOSED, actor=agent)
    still_open = make_case(subject="Otra cosa abierta")
    case = make_case(visitor_hash=visitor)

    assert case.seen_article_keys == ["other-card"] and case.search_before == "pago rechazado"
    html = client.get(f"/{language}/desk/cases/{case.reference}/").text
    customer = html.split('id="customer-title"', 1)[1]
    assert "pago rechazado" in customer and "Pagar con otra tarjeta" in customer
    assert still_open.reference in customer and older.reference in customer
    assert WORDS[language]["writes_in"] in html


# --- 3. Saved replies, article links, drafts --------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_saved_reply_fills_the_reply_box_and_its_link_is_minted_when_sent(
    client, agent, make_case, language
):
    case = make_case(customer_name="Ana", language=language)
    reply = SavedReply.objects.create(
        title="Reembolso" if language == "es" else "Refund",
        language=language,
        body="Hola {customer_name}, sobre {reference}: {case_link}",
    )
    SavedReply.objects.create(title="Other language", language="xx", body="-")

    url = f"/{language}/desk/cases/{case.reference}/"
    page = client.get(url).text
    assert reply.title in page and "Other language" not in page
    # Filled in on the page for desk.js, which inserts it where the cursor is, with no request.
    assert f'data-insert="Hola Ana, sobre {case.reference}: {{case_link}}"' in page
    # Without JavaScript the button posts the box: the text goes after what was typed.
    inserted = client.post(url + "insert/", {"body": "Buenas.", "saved_reply": reply.pk})
    assert inserted.status_code == 302 and inserted["Location"].endswith("#reply")
    filled = client.get(url).text
    assert f"Buenas.\n\nHola Ana, sobre {case.reference}: {{case_link}}" in filled

    client.post(f"/{language}/desk/cases/{case.reference}/reply/", {"body": "Hola {case_link}"})
    services.send_pending_updates(now=timezone.now() + timedelta(hours=1))

    message = OutgoingMessage.objects.get(dedupe_key__contains=":update:")
    assert "{case_link}" not in message.body_text
    assert f"Hola %%LINK:case:{case.pk}%%" in message.body_text  # minted by the outbox
    assert "/cases/access/" not in case.events.get(kind="reply").body


def test_the_reply_box_keeps_a_draft_across_reloads(client, agent, make_case):
    case = make_case()
    url = f"/es/desk/cases/{case.reference}/"

    saved = client.post(url + "draft/", {"body": "Estoy mirando tu pedido"}, HTTP_HX_REQUEST="true")
    assert "Borrador guardado" in saved.text and "<html" not in saved.text
    assert "Estoy mirando tu pedido" in client.get(url).text
    client.post(url + "draft/", {"body": "Estoy mirando tu pedido 4411"})  # no JavaScript
    assert "Estoy mirando tu pedido 4411" in client.get(url).text

    client.post(url + "reply/", {"body": "Estoy mirando tu pedido 4411"})
    assert not ReplyDraft.objects.exists()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_link_to_an_article_is_found_and_inserted(
    client, agent, make_case, publish, settings, language
):
    settings.SITE_URL = "https://help.example.com"
    article = publish(
        title="Cambiar la tarjeta de pago", language="es", translation_key="card", body="tarjeta"
    )
    case = make_case()
    url = f"/{language}/desk/cases/{case.reference}/"

    found = client.get(url, {"articles": "tarjeta"})
    assert "Cambiar la tarjeta de pago" in found.text
    link = f"https://help.example.com/es/articles/{article.slug}/"
    assert f'data-insert="Cambiar la tarjeta de pago: {link}"' in found.text
    inserted = client.post(url + "insert/", {"body": "Mira esto:", "article": article.pk})

    assert inserted.status_code == 302
    assert f"Mira esto:\n\nCambiar la tarjeta de pago: {link}" in client.get(url).text
    assert selectors.reply_draft(user_id=agent.pk, case_id=case.pk).endswith(link)


@pytest.mark.parametrize("language", LANGUAGES)
def test_finding_an_article_without_javascript_keeps_what_was_typed(
    client, agent, make_case, publish, language
):
    publish(title="Cambiar la tarjeta de pago", language="es", translation_key="card")
    case = make_case()
    url = f"/{language}/desk/cases/{case.reference}/"
    page = client.get(url).text
    # The search box and its button belong to the reply box's form, and the button comes first
    # in it: Enter in the search box looks for articles, it inserts nothing.
    form = page.split('<form id="reply-box"', 1)[1].split("</form>", 1)[0]
    first_button = re.search(r"<button [^>]*>", form).group(0)
    assert 'name="find"' in first_button and f'formaction="{url}insert/#reply"' in first_button
    assert 'name="articles"' in form

    found = client.post(
        url + "insert/", {"body": "Hola, mira esto:", "articles": "tarjeta", "find": "1"}
    )

    assert found.status_code == 302 and found["Location"] == f"{url}?articles=tarjeta#reply"
    page = client.get(found["Location"]).text
    assert ">Hola, mira esto:</textarea>" in page
    assert "Cambiar la tarjeta de pago" in page and 'value="tarjeta"' in page
    assert selectors.reply_draft(user_id=agent.pk, case_id=case.pk) == "Hola, mira esto:"


def test_finding_an_article_or_saving_a_draft_without_javascript_keeps_the_files_picked(
    client, agent, make_case, publish, attachments_folder
):
    publish(title="Cambiar la tarjeta de pago", language="es", translation_key="card")
    case = make_case()
    url = f"/es/desk/cases/{case.reference}/"
    pdf = SimpleUploadedFile("factura.pdf", files.pdf(), content_type="application/pdf")

    found = client.post(
        url + "insert/",
        {"body": "Te adjunto", "articles": "tarjeta", "find": "1", "status": "waiting",
         "attachments": [pdf]},
    )  # fmt: skip

    # Drawn in answer (a redirect would drop the files' one-time token): all of it is there.
    assert found.status_code == 200
    assert ">Te adjunto</textarea>" in found.text and "factura.pdf" in found.text
    assert "Cambiar la tarjeta de pago" in found.text
    assert '<option value="waiting" selected>' in found.text
    assert f'name="next" value="{url}?articles=tarjeta"' in found.text  # the language switch
    token = re.search(r'name="upload_token" value="([^"]+)"', found.text).group(1)
    # "Save draft" without JavaScript keeps them too.
    saved = client.post(url + "draft/", {"body": "Te adjunto la factura", "upload_token": token})
    assert saved.status_code == 200 and "factura.pdf" in saved.text
    assert ">Te adjunto la factura</textarea>" in saved.text
    client.post(url + "reply/", {"body": "Te adjunto", "upload_token": token})
    assert case.events.get(kind="reply").attachments.get().name == "factura.pdf"


def test_a_reply_refused_without_javascript_is_shown_again_with_its_reason(
    client, agent, make_case, attachments_folder
):
    case = make_case()
    url = f"/es/desk/cases/{case.reference}/"
    program = SimpleUploadedFile("x.pdf", files.program(), content_type="application/pdf")

    refused = client.post(
        url + "reply/", {"body": "Te mando la etiqueta", "status": "", "attachments": [program]}
    )

    assert refused.status_code == 200
    assert "«x.pdf» no es un tipo" in refused.text
    assert ">Te mando la etiqueta</textarea>" in refused.text
    assert not case.events.filter(kind="reply").exists()
    # The language switch goes back to the case page, not to the address of the POST.
    assert f'name="next" value="{url}"' in refused.text
    empty = client.post(url + "reply/", {"body": ""})
    assert empty.status_code == 200 and 'class="field field--error"' in empty.text


@pytest.mark.parametrize(
    ("language", "refused_words", "sent_words"),
    [
        ("es", "Un caso no puede pasar de «Cerrado» a «En curso».", "Respuesta enviada."),
        ("en", "A case cannot go from “Closed” to “In progress”.", "Reply sent."),
    ],
)
def test_with_javascript_what_a_change_says_is_drawn_in_the_part_htmx_redraws(
    client, agent, make_case, language, refused_words, sent_words
):
    """htmx redraws only the case's workspace: a status the workflow refuses says so there at
    once (the page's message area is not redrawn, so the words used to wait for the next page),
    and a reply sent says so and brings the person back to the top of the case."""
    case = make_case()
    url = f"/{language}/desk/cases/{case.reference}/"
    client.post(url + "status/", {"status": "closed"}, HTTP_HX_REQUEST="true")

    refused = client.post(url + "status/", {"status": "in_progress"}, HTTP_HX_REQUEST="true")

    assert refused.status_code == 200 and "<html" not in refused.text
    assert refused_words in refused.text and 'role="status"' in refused.text
    assert refused_words not in client.get(f"/{language}/desk/").text  # said once, not later
    client.post(url + "status/", {"status": "reopened"}, HTTP_HX_REQUEST="true")
    sent = client.post(url + "reply/", {"body": "Ya está", "status": ""}, HTTP_HX_REQUEST="true")
    assert sent_words in sent.text and sent["HX-Reswap"] == "innerHTML show:#workspace:top"
    empty = client.post(url + "reply/", {"body": "", "status": ""}, HTTP_HX_REQUEST="true")
    assert "HX-Reswap" not in empty and sent_words not in empty.text


def test_looking_for_an_article_leaves_the_reply_box_being_typed_in_alone(
    client, agent, make_case, publish
):
    publish(title="Cambiar la tarjeta de pago", language="es", translation_key="card")
    SavedReply.objects.create(title="Saludo", language="es", body="Hola {customer_name}")
    case = make_case()

    fragment = client.get(
        f"/es/desk/cases/{case.reference}/", {"articles": "tarjeta"}, HTTP_HX_REQUEST="true"
    ).text

    assert "Cambiar la tarjeta de pago" in fragment and "Insertar enlace" in fragment
    assert "<textarea" not in fragment and 'id="reply-box"' not in fragment
    page = client.get(f"/es/desk/cases/{case.reference}/").text
    assert 'hx-target="#article-results"' in page
    assert "hx-get" not in page.split('class="saved-replies"', 1)[1].split("</ul>", 1)[0]


# --- 4. Be told -------------------------------------------------------------------------------


def _alert_emails() -> list[OutgoingMessage]:
    return list(OutgoingMessage.objects.filter(dedupe_key__startswith="desk-alert:"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_assignee_is_emailed_and_counted_when_the_customer_replies(
    client, agent, make_case, language
):
    case = make_case()
    services.assign_case(case=case, assignee=agent, actor=agent)
    DeskPreferences.objects.create(user=agent, language=language)

    services.add_customer_message(case=case, body="¿Alguna novedad?")
    services.add_customer_message(case=case, body="¿Y ahora?")  # same half hour: one email

    (email,) = _alert_emails()
    assert email.recipient == "marta@example.com" and case.reference in email.subject
    assert f"/{language}/desk/cases/{case.reference}/" in email.body_text
    header = client.get(f"/{language}/desk/").text.split("</header>", 1)[0]
    assert ("1 aviso nuevo" if language == "es" else "1 new alert") in header
    client.get(f"/{language}/desk/cases/{case.reference}/")  # seen
    assert selectors.unseen_alert_count(agent.pk) == 0
    header = client.get(f"/{language}/desk/").text.split("</header>", 1)[0]
    assert ("Sin avisos nuevos" if language == "es" else "No new alerts") in header


@pytest.mark.parametrize(
    ("count", "es", "en"),
    [(1, "1 aviso nuevo", "1 new alert"), (3, "3 avisos nuevos", "3 new alerts")],
)
def test_the_header_counts_alerts_in_words_that_agree_with_the_number(
    client, agent, make_case, count, es, en
):
    for number in range(count):
        case = make_case(f"c{number}@example.com")
        DeskAlert.objects.create(user=agent, case=case, kind=DeskAlert.Kind.REPLIED)

    assert es in client.get("/es/desk/").text.split("</header>", 1)[0]
    assert en in client.get("/en/desk/").text.split("</header>", 1)[0]


def test_bulk_status_says_how_many_cases_changed_in_words_that_agree(client, agent, make_case):
    one = make_case("a@example.com")
    closed = make_case("b@example.com")
    services.change_case_status(case=closed, status=Case.Status.CLOSED, actor=agent)

    page = client.post(
        "/es/desk/bulk-status/",
        {"cases": [one.reference, closed.reference], "status": Case.Status.RESOLVED},
        follow=True,
    ).text
    assert "1 caso cambiado. 1 no podía pasar a ese estado." in page
    page = client.post(
        "/en/desk/bulk-status/", {"cases": [one.reference], "status": "closed"}, follow=True
    ).text
    assert "1 case changed." in page and "could not move" not in page


def test_an_unassigned_case_tells_its_team_and_a_low_rating_or_reopening_tells_too(
    agent, make_case, reason
):
    team = TeamFactory()
    colleague = StaffFactory(email="pablo@example.com")
    quiet = StaffFactory(email="quiet@example.com")
    for member in (colleague, quiet):  # alerts go only to those who may open the case
        member.user_permissions.add(Permission.objects.get(codename="change_case"))
    team.members.add(colleague, quiet)
    DeskPreferences.objects.create(user=quiet, email_alerts=False)
    case = make_case()
    Case.objects.filter(pk=case.pk).update(team=team, assignee=None)
    case.refresh_from_db()

    services.change_case_status(case=case, status=Case.Status.RESOLVED, actor=agent)
    services.rate_case(case=case, rating=2)
    services.reopen_case(case=case, body="Sigue sin funcionar")

    kinds = set(DeskAlert.objects.filter(user=colleague).values_list("kind", flat=True))
    assert kinds == {DeskAlert.Kind.LOW_RATING, DeskAlert.Kind.REOPENED}
    assert DeskAlert.objects.filter(user=quiet).count() == 2  # counted, not emailed
    assert sorted(email.recipient for email in _alert_emails()) == ["pablo@example.com"] * 2


def test_a_good_rating_tells_no_one(agent, make_case):
    case = make_case()
    services.assign_case(case=case, assignee=agent, actor=agent)
    services.change_case_status(case=case, status=Case.Status.RESOLVED, actor=agent)
    services.rate_case(case=case, rating=5)
    assert not DeskAlert.objects.exists() and not _alert_emails()


@pytest.mark.parametrize("language", LANGUAGES)
def test_preferences_page_turns_the_emails_off(client, agent, make_case, language):
    page = client.get(f"/{language}/desk/preferences/")
    assert page.status_code == 200
    client.post(f"/{language}/desk/preferences/", {"language": "en"})
    case = make_case()
    services.assign_case(case=case, assignee=agent, actor=agent)
    services.add_customer_message(case=case, body="Hola")
    assert not _alert_emails() and selectors.unseen_alert_count(agent.pk) == 1


# --- 5 and 6. Honest labels, the desk's own header, the language ------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_staff_read_waiting_on_customer_and_the_first_reply_due_goes_once_answered(
    client, agent, make_case, language
):
    case = make_case()
    words = WORDS[language]
    page = client.get(f"/{language}/desk/cases/{case.reference}/").text
    assert words["first_due"] in page.split("desk-aside", 1)[1]

    services.reply_to_customer(
        case=case, body="¿Nos mandas el ticket?", status="waiting", actor=agent
    )

    page = client.get(f"/{language}/desk/cases/{case.reference}/").text
    assert words["waiting"] in page and words["customer_waiting"] not in page
    assert words["first_due"] not in page.split("desk-aside", 1)[1]
    queue = client.get(f"/{language}/desk/").text
    assert words["waiting"] in queue and words["customer_waiting"] not in queue


@pytest.mark.parametrize("language", LANGUAGES)
def test_overdue_rows_say_so_in_words_and_the_queue_shows_the_language(
    client, agent, make_case, language
):
    late = make_case(language="en")
    Case.objects.filter(pk=late.pk).update(first_response_due=timezone.now() - timedelta(hours=1))
    make_case()
    html = client.get(f"/{language}/desk/").text
    rows = re.findall(r"<tr( class=\"is-overdue\")?>(.*?)</tr>", html, re.S)[1:]
    overdue = [row for cls, row in rows if cls]
    assert len(overdue) == 1 and late.reference in overdue[0]
    assert WORDS[language]["overdue"] in overdue[0]
    assert '<span lang="en">EN</span>' in html and '<span lang="es">ES</span>' in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_desk_has_its_own_header_with_who_is_signed_in_and_no_customer_banners(
    client, agent, make_case, language
):
    html = client.get(f"/{language}/desk/").text
    header = html.split("<header", 1)[1].split("</header>", 1)[0]
    assert WORDS[language]["signed_in"] in header
    assert re.search(r'<form action="/admin/logout/" method="post">', header)
    assert WORDS[language]["sign_out"] in header
    assert 'id="banners"' not in html and "/contact/" not in header
