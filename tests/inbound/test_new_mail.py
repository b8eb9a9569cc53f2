"""Issue 17, item 2: a new email to the support address is a contact like the form's: its
reason guessed by the engine behind the form's suggestions ("Other" when unsure), the same
acknowledgement with the case link, the same answer to a status question (real Whoosh index)."""

import pytest

from cases.models import Case, CaseLinkRequest, ContactReason
from inbound.models import InboundMessage
from notifications.models import OutgoingMessage
from tests.factories import ContactReasonFactory, ReasonGroupFactory
from tests.inbound.conftest import case_mail
from tests.inbound.mail import compose

pytestmark = pytest.mark.django_db
Status, Outcome = InboundMessage.Status, InboundMessage.Outcome


@pytest.fixture
def refunds(publish, opening_hours) -> ContactReason:
    publish(
        title="¿Cuándo recibiré el reembolso de mi devolución?",
        summary="Plazos del reembolso según la forma de pago.",
        body="Cuando recibimos tu devolución, devolvemos el dinero a la misma forma de pago.",
        keywords="reembolso, dinero, devolución",
        language="es",
        translation_key="refund-times",
    )
    publish(
        title="Cambiar la dirección de entrega",
        summary="Hasta que el pedido sale del almacén.",
        body="Puedes cambiar la dirección desde tu cuenta mientras el pedido no haya salido.",
        language="es",
        translation_key="delivery-address",
    )
    group = ReasonGroupFactory(code="care", name_es="Pedidos", name_en="Orders")
    ContactReasonFactory(code="delivery-address", parent=group, article_keys=["delivery-address"])
    return ContactReasonFactory(
        code="refund-not-received", parent=group, article_keys=["refund-times"]
    )


def test_a_new_email_opens_a_case_with_the_guessed_reason_and_the_acknowledgement(
    refunds, other_reason, deliver
):
    raw = compose(
        sender="Ana García <ana@example.com>",
        subject="No me ha llegado el reembolso",
        text="Devolví el pedido hace dos semanas y aún no tengo el dinero.\n\nUn saludo,\nAna",
    )

    message = deliver(raw)

    assert (message.status, message.outcome) == (Status.PROCESSED, Outcome.CASE_OPENED)
    case = message.case
    assert case.reason == refunds
    assert (case.customer_email, case.customer_name) == ("ana@example.com", "Ana García")
    assert case.subject == "No me ha llegado el reembolso"
    assert case.description == "Devolví el pedido hace dos semanas y aún no tengo el dinero."
    assert case.language == "es"
    acknowledgement = case_mail(case)
    assert acknowledgement["To"] == "ana@example.com"
    assert acknowledgement["Auto-Submitted"] == "auto-generated"  # no auto-reply answers it
    assert "%%LINK:case:" in acknowledgement.get_body(("plain",)).get_content()


def test_a_message_nobody_can_place_goes_to_other(refunds, other_reason, deliver):
    message = deliver(compose(subject="Una pregunta", text="¿Tenéis tienda física en Bilbao?"))

    assert message.case.reason == other_reason


def test_english_mail_opens_an_english_case(refunds, other_reason, deliver):
    message = deliver(
        compose(subject="A question", text="Hello, could you tell me when the shop opens?")
    )

    assert message.case.language == "en"


def test_a_status_question_gets_the_case_links_not_a_new_case(make_case, other_reason, deliver):
    case = make_case()
    cases_before = Case.objects.count()
    raw = compose(subject=f"¿Cómo va mi caso {case.reference}?", text="¿Hay novedades?")

    message = deliver(raw)

    assert (message.status, message.outcome) == (Status.PROCESSED, Outcome.LINKS_SENT)
    assert Case.objects.count() == cases_before
    assert CaseLinkRequest.objects.filter(email="ana@example.com").exists()


def test_too_many_new_cases_from_one_address_are_held_not_lost(other_reason, deliver):
    outcomes = [
        deliver(compose(subject=f"Pregunta {n}", text=f"Una pregunta distinta, la {n}.")).outcome
        for n in range(7)
    ]

    assert outcomes.count(Outcome.CASE_OPENED) == 5  # what the contact form allows an hour
    assert outcomes[5:] == [Outcome.TOO_MANY, Outcome.TOO_MANY]
    assert InboundMessage.objects.filter(status=Status.HELD).count() == 2


def test_an_email_from_our_own_address_opens_nothing(other_reason, deliver):
    message = deliver(compose(sender="Centro de ayuda <ayuda@example.com>", text="Eco"))

    assert (message.status, message.outcome) == (Status.IGNORED, Outcome.LOOP)
    assert not Case.objects.exists() and not OutgoingMessage.objects.exists()


@pytest.fixture
def status_reason(publish, opening_hours) -> ContactReason:
    publish(
        title="¿Cómo va mi caso?",
        summary="Dónde ver en qué punto está tu caso.",
        body="Abre el enlace de tu caso para ver su estado, o pide uno nuevo.",
        keywords="caso, estado, cómo va",
        language="es",
        translation_key="check-case-status",
    )
    return ContactReasonFactory(
        code="case-status",
        parent=ReasonGroupFactory(code="existing-case"),
        article_keys=["check-case-status"],
        is_status_inquiry=True,
    )


def test_a_guessed_status_question_from_a_customer_gets_the_links(
    status_reason, other_reason, make_case, deliver
):
    make_case(email="ana@example.com")

    message = deliver(compose(subject="¿Cómo va mi caso?", text="Escribí la semana pasada."))

    assert message.outcome == Outcome.LINKS_SENT


def test_a_guessed_status_question_from_someone_without_cases_is_read_by_a_person(
    status_reason, other_reason, deliver
):
    message = deliver(compose(subject="¿Cómo va mi caso?", text="Escribí la semana pasada."))

    assert message.outcome == Outcome.CASE_OPENED and message.case.reason == other_reason


def test_a_subject_that_says_nothing_does_not_choose_the_reason(
    status_reason, other_reason, make_case, deliver
):
    make_case(email="ana@example.com")  # a status question would be answered with links

    message = deliver(compose(subject="Hola", text="¿Tenéis tienda física en Bilbao?"))

    assert message.outcome == Outcome.CASE_OPENED and message.case.reason == other_reason
