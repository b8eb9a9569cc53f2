"""Attachments on the pages: the contact form, the case page and desk replies take files
(without JavaScript, and with htmx); a refused file says why and nothing typed is lost; a file
is served only to whoever may see its case, with headers that keep the browser from running
or guessing it; replies name their files in the email and link to the case page."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cases import services
from cases.models import Attachment, Case, CaseEvent
from cases.services import IncomingFile
from notifications.models import OutgoingMessage
from tests import files
from tests.conftest import assert_page_queries
from tests.factories import StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("attachments_folder")]
MB = 1024 * 1024


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def contact(client, reason, attachments=(), **overrides):
    data = {"reason": reason.pk, "subject": "Paquete roto", "description": "Llegó aplastado",
            "name": "Ana", "email": "ana@example.com", "attachments": list(attachments),
            **overrides}  # fmt: skip
    return client.post("/es/contact/", data)


def process_all() -> None:
    """What the worker does after commit (the worker path has its own test)."""
    for pk in Attachment.objects.filter(status="pending").values_list("pk", flat=True):
        services.process_attachment(attachment_id=pk)


def file_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/[a-z]{2}(?:/desk)?/cases/[^"]+/files/[^"]+)"', html)


@pytest.fixture
def agent():
    user = StaffFactory(username="agente")
    user.user_permissions.add(Permission.objects.get(codename="change_case"))
    staff = Client()
    staff.force_login(user)
    staff.user = user
    return staff


@pytest.fixture
def proven(client, make_case, open_link):
    case = make_case()
    open_link(case)
    return case


# --- The contact form -----------------------------------------------------------------------


def test_the_contact_form_states_the_limits_next_to_the_field(client, reason):
    html = client.get("/es/contact/").text

    assert 'enctype="multipart/form-data"' in html and 'type="file"' in html
    assert "Hasta 5 archivos, 10 MB cada uno y 25 MB en total" in html


def test_a_photo_sent_with_the_contact_form_shows_as_a_thumbnail(client, reason):
    response = contact(client, reason, [upload("IMG_2041.JPG", files.phone_photo())])
    assert response.status_code == 302
    case = Case.objects.get()
    attachment = Attachment.objects.get()
    assert attachment.event == case.events.get(kind=CaseEvent.Kind.OPENED)
    assert attachment.source == Attachment.Source.CONTACT_FORM

    pending = client.get(f"/es/cases/{case.reference}/").text
    assert "IMG_2041.jpg" in pending and "en revisión" in pending
    process_all()
    html = client.get(f"/es/cases/{case.reference}/").text  # the browser that wrote it

    thumbnail = f"/es/cases/{case.reference}/files/{attachment.key}/thumbnail/"
    assert f'src="{thumbnail}"' in html
    response = client.get(thumbnail)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"


def test_a_refused_file_says_why_and_keeps_the_text_and_the_other_files(client, reason):
    response = contact(
        client,
        reason,
        [upload("foto.jpg", files.phone_photo()), upload("factura.pdf", files.program())],
        description="Mi descripción larga",
    )

    assert response.status_code == 200 and not Case.objects.exists()
    html = response.text
    assert "«factura.pdf» no es un tipo de archivo que aceptemos" in html
    assert "Mi descripción larga" in html and 'value="Paquete roto"' in html
    assert "foto.jpg" in html  # kept: no need to pick it again
    token = re.search(r'name="submission" value="([^"]+)"', html).group(1)

    # Sent again as it is (no file picked): the case opens with the photo.
    response = contact(client, reason, description="Mi descripción larga", submission=token)
    assert response.status_code == 302
    assert [a.name for a in Case.objects.get().attachments.all()] == ["foto.jpg"]


def test_a_file_too_large_is_dropped_while_read_and_named(client, reason, settings):
    settings.ATTACHMENT_MAX_FILE_BYTES = MB

    response = contact(client, reason, [upload("video.mp4", b"\0" * (2 * MB))])

    assert response.status_code == 200
    assert "«video.mp4» ocupa más de 1 MB" in response.text
    assert not Attachment.objects.exists()


def test_another_field_to_fix_keeps_the_files(client, reason):
    response = contact(
        client, reason, [upload("factura.pdf", files.pdf())], email="no-es-un-correo"
    )

    assert response.status_code == 200
    assert "factura.pdf" in response.text and "Adjuntos que se enviarán" in response.text


def test_the_unproven_browser_sees_only_the_files_it_sent(client, reason):
    contact(client, reason, [upload("foto.jpg", files.phone_photo())])
    case = Case.objects.get()
    reply = services.reply_to_customer(
        case=case,
        body="Mira esta etiqueta",
        actor=None,
        files=[IncomingFile.from_bytes("etiqueta.pdf", files.pdf())],
    )
    process_all()
    ours = Attachment.objects.get(event=reply)

    html = client.get(f"/es/cases/{case.reference}/").text

    assert "etiqueta.pdf" not in html
    assert client.get(f"/es/cases/{case.reference}/files/{ours.key}/").status_code == 404


# --- The case page --------------------------------------------------------------------------


def test_the_customer_sends_a_photo_alone_from_the_case_page(client, proven):
    response = client.post(
        f"/es/cases/{proven.reference}/message/",
        {"body": "", "attachments": [upload("rayón.png", files.screenshot_png())]},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200 and "<html" not in response.text
    event = proven.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE)
    assert [a.name for a in event.attachments.all()] == ["rayón.png"]


def test_a_refused_file_on_the_case_page_keeps_the_message(client, proven):
    response = client.post(
        f"/es/cases/{proven.reference}/message/",
        {"body": "Adjunto la factura", "attachments": [upload("f.pdf", files.program())]},
    )

    assert response.status_code == 400
    assert "Adjunto la factura" in response.text and "«f.pdf» no es un tipo" in response.text
    assert not proven.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()


def test_the_status_page_reads_the_files_in_one_query(client, proven):
    for number in range(3):
        services.add_customer_message(
            case=proven,
            body=f"Foto {number}",
            files=[IncomingFile.from_bytes(f"{number}.png", files.screenshot_png())],
        )
    process_all()
    url = f"/es/cases/{proven.reference}/"
    client.get(url)

    with assert_page_queries(4):  # session, case, public events, their files
        html = client.get(url).text
    assert len([u for u in file_urls(html) if u.endswith("/thumbnail/")]) == 3


# --- Serving --------------------------------------------------------------------------------


def test_files_are_served_only_to_whoever_may_see_the_case(client, proven, agent):
    event = services.add_customer_message(
        case=proven, body="Factura", files=[IncomingFile.from_bytes("factura.pdf", files.pdf())]
    )
    process_all()
    attachment = event.attachments.get()
    customer_url = f"/es/cases/{proven.reference}/files/{attachment.key}/"
    desk_url = f"/es/desk/cases/{proven.reference}/files/{attachment.key}/"

    assert client.get(customer_url).status_code == 200
    assert Client().get(customer_url).status_code == 404  # a stranger
    assert agent.get(desk_url).status_code == 200
    assert Client().get(desk_url).status_code == 302  # to the sign-in page
    announcer = Client()
    announcer.force_login(StaffFactory(username="anunciante"))
    assert announcer.get(desk_url).status_code == 403
    other = Case.objects.exclude(pk=proven.pk).first()
    assert other is None  # and with another case's reference:
    wrong = f"/es/cases/XXXX-XXXX/files/{attachment.key}/"
    assert client.get(wrong).status_code == 404

    services.revoke_links(case=proven)
    assert client.get(customer_url).status_code == 404


def test_a_document_is_a_download_and_the_browser_may_not_guess_or_run_it(client, proven):
    event = services.add_customer_message(
        case=proven, body="", files=[IncomingFile.from_bytes("nota.txt", b"<script>x</script>\n")]
    )
    process_all()
    attachment = event.attachments.get()

    response = client.get(f"/es/cases/{proven.reference}/files/{attachment.key}/")

    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == b"<script>x</script>\n"


def test_an_image_shows_inline(client, proven):
    event = services.add_customer_message(
        case=proven, body="", files=[IncomingFile.from_bytes("foto.jpg", files.phone_photo())]
    )
    process_all()
    attachment = event.attachments.get()

    response = client.get(f"/es/cases/{proven.reference}/files/{attachment.key}/")

    assert response["Content-Disposition"].startswith("inline;")
    assert response["Content-Type"] == "image/jpeg"


def test_a_file_not_checked_yet_is_not_served(client, proven):
    event = services.add_customer_message(
        case=proven, body="", files=[IncomingFile.from_bytes("foto.jpg", files.phone_photo())]
    )
    attachment = event.attachments.get()

    assert client.get(f"/es/cases/{proven.reference}/files/{attachment.key}/").status_code == 404


def test_there_is_no_public_address_for_the_files(client, proven):
    event = services.add_customer_message(
        case=proven, body="", files=[IncomingFile.from_bytes("factura.pdf", files.pdf())]
    )
    process_all()
    name = event.attachments.get().file_name

    for path in (f"/{name}", f"/media/{name}", f"/attachments/{name}", f"/static/{name}"):
        assert Client().get(path).status_code == 404


# --- The desk -------------------------------------------------------------------------------


def test_staff_reply_with_a_file_and_the_email_links_to_the_case_page(agent, make_case):
    case = make_case()
    response = agent.post(
        f"/es/desk/cases/{case.reference}/reply/",
        {"body": "Te mando la etiqueta", "status": "", "attachments": [
            upload("etiqueta.pdf", files.pdf())]},
    )  # fmt: skip
    assert response.status_code == 302
    reply = case.events.get(kind=CaseEvent.Kind.PUBLIC_REPLY)
    attachment = reply.attachments.get()
    assert attachment.source == "desk" and attachment.uploaded_by == agent.user
    process_all()

    services.send_pending_updates(case_ids=[case.pk])

    email = OutgoingMessage.objects.filter(recipient=case.customer_email).latest("pk")
    assert "📎 etiqueta.pdf" in email.body_text and "%%LINK:" in email.body_text
    assert "etiqueta.pdf</a>" in email.body_html
    assert "%PDF" not in email.body_text + email.body_html + str(email.headers)
    html = agent.get(f"/es/desk/cases/{case.reference}/").text
    assert f"/es/desk/cases/{case.reference}/files/{attachment.key}/" in html


def test_staff_see_the_customers_photo_as_a_thumbnail(agent, make_case):
    case = make_case()
    services.add_customer_message(
        case=case, body="", files=[IncomingFile.from_bytes("foto.jpg", files.phone_photo())]
    )
    process_all()

    html = agent.get(f"/es/desk/cases/{case.reference}/").text
    [thumbnail] = [u for u in file_urls(html) if u.endswith("/thumbnail/")]

    assert agent.get(thumbnail)["Content-Type"] == "image/jpeg"


def test_a_refused_file_in_a_desk_reply_keeps_the_reply(agent, make_case):
    case = make_case()
    response = agent.post(
        f"/es/desk/cases/{case.reference}/reply/",
        {"body": "Borrador largo", "status": "", "attachments": [
            upload("x.pdf", files.program()), upload("ok.pdf", files.pdf())]},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip

    assert response.status_code == 200
    assert "Borrador largo" in response.text and "«x.pdf» no es un tipo" in response.text
    assert "ok.pdf" in response.text
    assert not case.events.filter(kind=CaseEvent.Kind.PUBLIC_REPLY).exists()


def test_a_forged_form_token_is_replaced_and_never_queried(client, reason, proven):
    response = contact(
        client, reason, [upload("foto.jpg", files.phone_photo())], submission="\x00' OR 1=1",
        email="no-es-un-correo",
    )  # fmt: skip

    assert response.status_code == 200
    token = re.search(r'name="submission" value="([^"]+)"', response.text).group(1)
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token) and "foto.jpg" in response.text
    message = client.post(
        f"/es/cases/{proven.reference}/message/", {"body": "Hola", "upload_token": "\x00" * 70}
    )
    assert message.status_code == 302


def test_one_request_cannot_write_more_than_a_message_of_files_to_disk(rf, settings):
    """100 files each just under the per-file limit passed it one by one: a single anonymous
    request wrote a gigabyte of temporary files. Past what a message may hold plus one file,
    every further file is dropped while it is read, and named like any file too large."""
    from django.core.files.uploadhandler import load_handler
    from django.test.client import encode_multipart

    from foundation.uploads import OVERSIZED

    settings.ATTACHMENT_MAX_FILE_BYTES = MB
    settings.ATTACHMENT_MAX_MESSAGE_BYTES = 2 * MB
    parts = {f"file{number}": upload(f"{number}.txt", b"a" * (MB - 1000)) for number in range(8)}
    request = rf.post(
        "/", encode_multipart("XxX", parts), content_type="multipart/form-data; boundary=XxX"
    )
    request.upload_handlers = [
        load_handler(path, request) for path in settings.FILE_UPLOAD_HANDLERS
    ]

    kept = sum(upload.size for upload in request.FILES.values())

    assert kept <= 3 * MB and len(request.FILES) == 3
    assert [name for _field, name in getattr(request, OVERSIZED)] == [
        f"{number}.txt" for number in range(3, 8)
    ]
