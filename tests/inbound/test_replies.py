"""Issue 17, item 1 (and 8): every case email names its case in an address nobody can guess,
and a reply becomes the customer's message on that case, as if written on the case page."""

import pytest

from cases import selectors as cases_selectors
from cases import services as cases_services
from cases.models import Attachment, Case, CaseEvent, DeskAlert
from inbound import services, tasks
from inbound.models import InboundMessage
from notifications.models import OutgoingMessage
from tests import files
from tests.factories import StaffFactory, grant
from tests.inbound.conftest import case_mail
from tests.inbound.mail import compose, reply_to

pytestmark = pytest.mark.django_db
Status, Outcome = InboundMessage.Status, InboundMessage.Outcome


def test_case_mail_carries_a_reply_address_and_message_id_that_name_the_case(make_case):
    case = make_case()
    sent = case_mail(case)

    reply_address = sent["Reply-To"]
    assert reply_address.startswith("ayuda+") and reply_address.endswith("@example.com")
    assert case.reference.replace("-", "").lower() in reply_address
    assert cases_selectors.cases_named_in(reply_address) == [case]
    assert cases_selectors.cases_named_in(sent["Message-ID"]) == [case]
    assert sent["Auto-Submitted"] == "auto-generated"  # the acknowledgement is a machine's


def test_a_reply_address_cannot_be_made_up_from_the_reference(make_case):
    case = make_case()
    compact = case.reference.replace("-", "").lower()
    forged = f"ayuda+{compact}-aaaaaaaaaaaaaaaa@example.com"

    assert cases_selectors.cases_named_in(forged) == []
    assert cases_selectors.cases_named_in(f"ayuda+{compact}@example.com") == []


def test_case_mail_says_reply_to_this_email_in_both_languages(make_case):
    spanish = case_mail(make_case(language="es"))
    english = case_mail(make_case(email="bo@example.com", language="en"))

    assert "responde a este correo" in spanish.get_body(("plain",)).get_content()
    assert "reply to this email" in english.get_body(("plain",)).get_content()


def test_a_reply_becomes_the_customers_message_without_the_quoted_history(make_case, deliver):
    case = make_case()
    raw = reply_to(case_mail(case), text="Ya lo he probado con otra tarjeta y sigue fallando.")

    message = deliver(raw)

    assert (message.status, message.outcome) == (Status.PROCESSED, Outcome.REPLY_ADDED)
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.CUSTOMER_MESSAGE)
    assert event.by_customer and event.public
    assert event.body == "Ya lo he probado con otra tarjeta y sigue fallando."
    assert message.case_event == event
    assert bytes(message.raw) == raw  # the original, intact, for staff


def test_a_reply_moves_a_waiting_case_back_to_the_team_and_alerts_the_assignee(make_case, deliver):
    agent = grant(StaffFactory(username="lucia", email="lucia@example.com"), "cases.change_case")
    case = make_case()
    cases_services.assign_case(case=case, assignee=agent, actor=None)
    cases_services.reply_to_customer(
        case=case, body="¿Nos mandas el número de pedido?", actor=agent,
        status=Case.Status.WAITING_ON_CUSTOMER,
    )  # fmt: skip
    cases_services.send_pending_updates(case_ids=[case.pk])

    deliver(reply_to(case_mail(case, "update"), text="Es el P-2381904."))

    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS
    assert DeskAlert.objects.filter(user=agent, case=case, kind=DeskAlert.Kind.REPLIED).exists()


def test_a_client_that_drops_the_reply_to_still_threads_by_in_reply_to(make_case, deliver):
    case = make_case()
    sent = case_mail(case)
    raw = compose(
        to="ayuda@example.com",
        subject="Re: tu caso",
        text="Sigue igual.",
        headers={"In-Reply-To": sent["Message-ID"], "References": sent["Message-ID"]},
    )

    message = deliver(raw)

    assert message.case == case and message.outcome == Outcome.REPLY_ADDED


def test_signatures_and_english_quotes_are_removed(make_case, deliver):
    case = make_case(language="en")
    sent = case_mail(case)
    text = (
        "It worked with the other card, thanks.\n\n-- \nAna García\nACME Ltd.\n\n"
        "On Mon, 7 Dec 2026 at 10:00, Help center <ayuda@example.com> wrote:\n> Hello Ana,\n"
    )
    raw = compose(to=sent["Reply-To"], subject="Re: your case", text=text)

    deliver(raw)

    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.CUSTOMER_MESSAGE)
    assert event.body == "It worked with the other card, thanks."


def test_a_reply_from_another_address_is_held_for_staff_not_added(make_case, deliver):
    case = make_case()
    raw = reply_to(case_mail(case), text="Soy su pareja, ¿cómo va?", sender="eva@example.org")

    message = deliver(raw)

    assert (message.status, message.outcome) == (Status.HELD, Outcome.OTHER_SENDER)
    assert message.case == case
    assert not CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()
    note = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.INTERNAL_NOTE)
    assert not note.public  # staff see it on the desk; the customer never does
    assert "eva@example.org" in note.body and "retenido" in note.body
    assert f"/admin/inbound/inboundmessage/{message.pk}/change/" in note.body


def test_staff_can_accept_a_held_reply_as_the_customers(make_case, deliver):
    case = make_case()
    raw = reply_to(case_mail(case), text="Te escribo desde el trabajo.", sender="ana@acme.test")
    message = deliver(raw)
    staff = StaffFactory()

    services.accept_held_message(message_id=message.pk, actor=staff)

    message.refresh_from_db()
    assert (message.status, message.outcome) == (Status.PROCESSED, Outcome.REPLY_ADDED)
    assert message.case_event.body == "Te escribo desde el trabajo."


def test_an_auto_reply_to_a_case_email_adds_nothing_and_sends_nothing(make_case, deliver):
    case = make_case()
    before, emails = case.events.count(), OutgoingMessage.objects.count()
    raw = reply_to(
        case_mail(case),
        text="Estoy de vacaciones hasta el lunes.",
        headers={"Auto-Submitted": "auto-replied"},
    )

    message = deliver(raw)

    assert (message.status, message.outcome) == (Status.IGNORED, Outcome.AUTOMATIC)
    assert message.case == case
    assert case.events.count() == before
    assert OutgoingMessage.objects.count() == emails


def test_a_reply_to_a_closed_case_opens_a_new_one_about_the_same_thing(make_case, deliver):
    case = make_case()
    cases_services.change_case_status(case=case, status=Case.Status.CLOSED, actor=None)

    message = deliver(reply_to(case_mail(case), text="Me vuelve a pasar lo mismo."))

    assert message.outcome == Outcome.FOLLOW_UP_OPENED
    follow_up = message.case
    assert follow_up != case and follow_up.reason == case.reason
    assert follow_up.customer_email == case.customer_email
    assert follow_up.description == "Me vuelve a pasar lo mismo."


def test_the_same_reply_fetched_twice_is_one_message(make_case, deliver):
    case = make_case()
    raw = reply_to(case_mail(case), text="Una sola vez, por favor.")

    first = deliver(raw)
    # The same message through another route: a different trace header in front of it.
    second = deliver(b"Received: from mx2.example.net by imap\r\n" + raw, source="imap")

    assert first.pk == second.pk and second.times_received == 2
    assert case.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).count() == 1


def test_processing_a_message_twice_has_its_effect_once(make_case):
    case = make_case()
    stored = services.receive_message(
        raw=reply_to(case_mail(case), text="Dos veces no."), source="t"
    )

    assert tasks.process_inbound_message(stored.message.pk) == Status.PROCESSED
    assert tasks.process_inbound_message(stored.message.pk) == "skipped"
    assert case.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).count() == 1


def test_attachments_are_recorded_and_named_on_the_case(make_case, deliver):
    case = make_case()
    photo = files.phone_photo(400, 300)
    raw = reply_to(
        case_mail(case),
        text="Te mando la foto del paquete.",
        attachments=(("paquete.jpg", "image/jpeg", photo),),
    )

    message = deliver(raw)

    [attachment] = Attachment.objects.filter(event=message.case_event)
    assert message.attachments == [
        {
            "name": "paquete.jpg",
            "content_type": "image/jpeg",
            "size": len(photo),
            "event": message.case_event.pk,
            "attachment": str(attachment.key),
        }
    ]
    assert message.case_event.body == "Te mando la foto del paquete."


def test_files_sent_without_a_word_are_named_in_the_message(make_case, deliver):
    case = make_case()
    mail = case_mail(case)
    raw = compose(
        to=mail["Reply-To"],
        subject=f"Re: {mail['Subject']}",
        text=None,
        headers={"In-Reply-To": mail["Message-ID"]},
        attachments=(("caja.png", "image/png", files.screenshot_png()),),
    )

    message = deliver(raw)

    assert message.case_event.body == "Adjunto en el correo: caja.png"
    assert Attachment.objects.filter(event=message.case_event).count() == 1
