"""Staff's list of inbound mail: what needs a person, the original as a download, and the
review actions only for desk staff."""

import pytest

from inbound.models import InboundMessage
from tests import files
from tests.factories import StaffFactory, UserFactory, grant
from tests.inbound.conftest import case_mail
from tests.inbound.mail import compose, reply_to

pytestmark = pytest.mark.django_db
Status = InboundMessage.Status


@pytest.fixture
def held(make_case, deliver) -> InboundMessage:
    case = make_case()
    return deliver(reply_to(case_mail(case), text="Soy otra persona.", sender="eva@example.org"))


def test_the_list_says_how_many_need_a_person_and_shows_them(client, held, deliver):
    deliver(b"not an email")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    page = client.get("/admin/inbound/inboundmessage/")

    assert page.status_code == 200
    assert "2 mensajes necesitan a una persona" in page.text
    assert "eva@example.org" in page.text


def test_the_original_is_a_download_never_a_page(client, held):
    client.force_login(grant(StaffFactory(), "inbound.view_inboundmessage"))

    response = client.get(f"/admin/inbound/inboundmessage/{held.pk}/original.eml")

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="message-{held.pk}.eml"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == bytes(held.raw)


def test_staff_without_the_permission_get_no_original(client, held):
    client.force_login(StaffFactory())

    response = client.get(f"/admin/inbound/inboundmessage/{held.pk}/original.eml")

    assert response.status_code == 403


def test_only_desk_staff_may_accept_a_held_message(client, held):
    viewer = grant(StaffFactory(username="viewer"), "inbound.view_inboundmessage")
    desk = grant(StaffFactory(username="desk"), "inbound.view_inboundmessage", "cases.change_case")
    data = {"action": "accept_selected", "_selected_action": [held.pk]}

    client.force_login(viewer)
    client.post("/admin/inbound/inboundmessage/", data)
    held.refresh_from_db()
    assert held.status == Status.HELD

    client.force_login(desk)
    client.post("/admin/inbound/inboundmessage/", data)
    held.refresh_from_db()
    assert held.status == Status.PROCESSED
    assert held.case_event.body == "Soy otra persona."


def test_the_detail_page_shows_the_headers_as_text(client, deliver, other_reason):
    message = deliver(compose(subject="<script>alert(1)</script>", text="Hola"))
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    page = client.get(f"/admin/inbound/inboundmessage/{message.pk}/change/")

    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


@pytest.mark.usefixtures("attachments_folder")
def test_a_refused_file_is_said_in_the_language_of_the_staff_reading_it(client, make_case, deliver):
    case = make_case()
    message = deliver(
        reply_to(
            case_mail(case),
            text="La factura.",
            attachments=(("factura.pdf", "application/pdf", files.program()),),
        )
    )
    assert message.attachments[0]["refused"] == "type"  # stored as a code, not words
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = f"/admin/inbound/inboundmessage/{message.pk}/change/"

    spanish = client.get(page, headers={"accept-language": "es"})
    english = client.get(page, headers={"accept-language": "en"})

    assert "«factura.pdf» no es un tipo de archivo que aceptemos" in spanish.text
    assert "“factura.pdf” is not a kind of file we accept" in english.text
