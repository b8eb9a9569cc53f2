"""Issue 16, item 1: contact-form suggestions for a subject said as a sentence, and the chosen
reason's linked articles first (real Whoosh index)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def refund_and_address(publish):
    refund = publish(
        title="¿Cuándo recibiré el reembolso de mi devolución?",
        summary="Plazos del reembolso según la forma de pago.",
        body="Cuando recibimos tu devolución, devolvemos el dinero a la misma forma de pago.",
        keywords="reembolso, dinero, devolución, tarjeta",
        language="es",
        translation_key="refund-times",
    )
    address = publish(
        title="Cambiar la dirección de entrega",
        summary="Hasta que el pedido sale del almacén.",
        body="Puedes cambiar la dirección desde tu cuenta mientras el pedido no haya salido.",
        language="es",
        translation_key="delivery-address",
    )
    return refund, address


def suggested(client, subject: str, reason=None) -> str:
    params = {"subject": subject, "reason": reason.pk if reason else ""}
    return client.get("/es/contact/suggestions/", params, HTTP_HX_REQUEST="true").text


def test_a_subject_said_as_a_sentence_finds_its_article(client, refund_and_address):
    # "llegado" is in no article; in a sentence it does not veto the word that is.
    text = suggested(client, "No me ha llegado el reembolso")

    assert "¿Cuándo recibiré el reembolso de mi devolución?" in text


def test_the_chosen_reasons_articles_come_first(client, reason, refund_and_address):
    reason.article_keys = ["delivery-address"]
    reason.save()

    text = suggested(client, "reembolso del pedido", reason)

    assert text.index("Cambiar la dirección de entrega") < text.index("¿Cuándo recibiré")
