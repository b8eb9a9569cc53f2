"""Issue 14, items 1, 2, 7, 8 and 11: the contact form and the case page without dead ends."""

import pytest

from cases import services
from cases.models import Case, CaseLinkRequest, Deflection
from notifications.models import Announcement, IncidentFollower, OutgoingMessage
from notifications.services.announcements import post_update, publish_announcement
from tests.factories import AnnouncementFactory, ContactReasonFactory, StaffFactory

pytestmark = pytest.mark.django_db

FORM = {"subject": "Mi tarjeta falla", "description": "Error 402 al pagar", "name": "Ana",
        "email": "ana@example.com", "submission": "token-de-prueba-1234567890"}  # fmt: skip


@pytest.fixture
def incident(reason) -> Announcement:
    return publish_announcement(
        announcement=AnnouncementFactory(
            kind=Announcement.Kind.INCIDENT,
            title_es="Los pagos con tarjeta fallan",
            areas=[reason.parent.code],  # the reason's group: affects the reason
        ),
        actor=StaffFactory(),
    )


def test_reloading_or_resubmitting_the_form_opens_one_case_and_sends_one_email(client, reason):
    first = client.post("/es/contact/", {**FORM, "reason": reason.pk})
    again = client.post("/es/contact/", {**FORM, "reason": reason.pk})  # reload, back, double

    case = Case.objects.get()
    received = f"/es/contact/received/{case.reference}/"
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] == received
    assert OutgoingMessage.objects.filter(dedupe_key__startswith=f"case:{case.pk}:").count() == 1
    page = client.get(received)  # reloading the confirmation does nothing either
    assert case.reference in page.text and f'href="/es/cases/{case.reference}/"' in page.text
    assert client.get(f"/es/cases/{case.reference}/").status_code == 200  # this browser may
    assert Case.objects.count() == 1


def test_the_confirmation_page_is_only_for_the_browser_that_wrote(client, reason):
    client.post("/es/contact/", {**FORM, "reason": reason.pk})
    case = Case.objects.get()
    from django.test import Client

    assert Client().get(f"/es/contact/received/{case.reference}/").status_code == 403


def test_a_live_incident_comes_first_and_a_case_opened_anyway_is_linked_to_it(
    client, reason, incident
):
    stopped = client.post("/es/contact/", {**FORM, "reason": reason.pk})
    assert stopped.status_code == 200 and not Case.objects.exists()
    assert "Los pagos con tarjeta fallan" in stopped.text
    assert "No hemos enviado tu mensaje" in stopped.text
    assert f'name="incident" value="{incident.pk}"' in stopped.text

    client.post("/es/contact/", {**FORM, "reason": reason.pk, "incident": incident.pk})
    assert Case.objects.get().incident == incident


def test_choosing_an_affected_reason_shows_the_incident_and_how_to_follow_it(
    client, reason, incident
):
    response = client.get(f"/es/contact/expectation/?reason={reason.pk}", HTTP_HX_REQUEST="true")
    assert "Los pagos con tarjeta fallan" in response.text
    assert "Avísame cuando esté arreglado" in response.text
    # What following sends, said plainly: its news too, and every mail can stop them.
    assert "Te escribimos con cada novedad y cuando esté arreglado" in response.text
    assert "Cada correo trae un enlace para dejar de recibirlos" in response.text


def test_following_an_incident_mails_each_update_once_and_ends_with_the_fix(
    client, reason, incident, django_capture_on_commit_callbacks
):
    data = {"incident": incident.pk, "email": "luis@example.com", "reason": reason.pk}
    done = client.post("/es/contact/follow/", data)
    assert done.status_code == 200
    assert "te escribiremos con cada novedad y cuando «Los pagos con tarjeta fallan»" in done.text
    client.post("/es/contact/follow/", data)  # twice: one follower, one contact avoided
    assert IncidentFollower.objects.get().email == "luis@example.com"
    assert Deflection.objects.get().kind == Deflection.Kind.INCIDENT

    news = post_update(announcement=incident, phase="identified", body_es="Visto.",
                       body_en="Found.", notify_subscribers=True, actor=None)  # fmt: skip
    fixed = post_update(announcement=incident, phase="resolved", body_es="Arreglado.",
                        body_en="Fixed.", notify_subscribers=False, actor=None)  # fmt: skip
    from notifications.services.incidents import mail_incident_followers

    mail_incident_followers(update=fixed)  # again: nothing new
    mails = OutgoingMessage.objects.filter(recipient="luis@example.com").order_by("pk")
    assert [mail.dedupe_key.split(":")[3] for mail in mails] == [str(news.pk), str(fixed.pk)]
    assert mails[1].subject.startswith("Arreglado")
    assert IncidentFollower.objects.get().done_at is not None


def test_a_case_linked_to_an_incident_hears_its_updates_once(make_case, incident):
    case = make_case(incident_id=incident.pk)
    update = post_update(announcement=incident, phase="monitoring", body_es="Vigilando.",
                         body_en="Watching.", notify_subscribers=False, actor=None)  # fmt: skip
    services.tell_cases_about_incidents()
    services.tell_cases_about_incidents()
    key = f"incident:{incident.pk}:update:{update.pk}:case:{case.pk}"
    assert OutgoingMessage.objects.filter(dedupe_key=key).count() == 1
    # It was opened knowing the incident: no "we know about a problem" email besides.
    assert not OutgoingMessage.objects.filter(dedupe_key=f"incident:{incident.pk}:case:{case.pk}")


def test_search_and_suggestions_show_the_incident_first(client, reason, incident, search_index):
    search = client.get("/es/search/?q=no+puedo+pagar+con+tarjeta")
    assert search.text.index("Los pagos con tarjeta fallan") < search.text.index("search-results")
    suggestions = client.get("/es/contact/suggestions/?subject=no+puedo+pagar+con+tarjeta")
    assert "Los pagos con tarjeta fallan" in suggestions.text


def test_how_is_my_case_going_asks_only_for_the_email(client, reason):
    status = ContactReasonFactory(code="case-status", parent=reason.parent, is_status_inquiry=True)
    response = client.post(
        "/es/contact/", {"reason": status.pk, "email": "ana@example.com", "reference": ""}
    )
    assert response.status_code == 302 and response["Location"] == "/es/contact/sent/"
    assert CaseLinkRequest.objects.get().email == "ana@example.com"
    assert not Case.objects.exists()
    page = client.get(f"/es/contact/?reason={status.pk}")
    assert "data-case-only hidden" in page.text and "Envíame el enlace" in page.text


def test_errors_are_summed_up_at_the_top_linked_to_their_fields_in_tu(client, reason):
    response = client.post("/es/contact/", {"reason": reason.pk, "email": "no-es-un-email"})
    text = response.text
    assert 'id="error-summary"' in text and 'tabindex="-1"' in text and "autofocus" in text
    for field in ("id_subject", "id_description", "id_name", "id_email"):
        assert f'href="#{field}"' in text
    assert "Escribe una dirección de correo válida" in text
    assert "Introduzca" not in text and "Asegúrese" not in text and "Escoja" not in text
    assert 'aria-invalid="true"' in text


def test_the_resolved_case_page_leads_with_the_resolution_and_asks_one_question(
    client, make_case, open_link
):
    case = make_case()
    services.reply_to_customer(case=case, body="Devuelto a tu tarjeta.", actor=None,
                               status=Case.Status.RESOLVED)  # fmt: skip
    open_link(case)
    page = client.get(f"/es/cases/{case.reference}/").text
    assert page.index("Devuelto a tu tarjeta.") < page.index("¿Está resuelto?")
    assert page.count("<textarea") == 2  # the answer's one box, and "write to us"
    assert 'name="rating"' not in page  # rating comes after the answer
    assert "hasta el" in page  # until when it can be reopened

    client.post(f"/es/cases/{case.reference}/answer/", {"solved": "yes"})
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED
    assert 'name="rating"' in client.get(f"/es/cases/{case.reference}/").text


def test_answering_not_solved_reopens_with_what_is_still_wrong(client, make_case, open_link):
    case = make_case()
    services.change_case_status(case=case, status=Case.Status.RESOLVED, actor=None)
    open_link(case)
    client.post(f"/es/cases/{case.reference}/answer/", {"solved": "no", "body": "Sigue igual."})
    case.refresh_from_db()
    assert case.status == Case.Status.REOPENED
    assert case.events.filter(body="Sigue igual.").exists()
