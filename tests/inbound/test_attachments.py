"""Issue 17, items 1 and 5 joined: the files of an email land on its case through the
attachment service (type read from the content, images written again without EXIF, with a
thumbnail), those refused are recorded for staff, and the mail is never lost."""

import io

import pytest
from PIL import Image

from cases import tasks as cases_tasks
from cases.models import Attachment, CaseEvent
from inbound import services, tasks
from inbound.models import InboundMessage
from inbound.sources.maildir import fetch_maildir
from tests import files
from tests.cases.test_attachments import stored
from tests.conftest import wait_for
from tests.inbound.conftest import case_mail
from tests.inbound.mail import compose, reply_to
from tests.inbound.test_sources import _pipe, drop_into

Status, Outcome = InboundMessage.Status, InboundMessage.Outcome
pytestmark = pytest.mark.usefixtures("attachments_folder")


def from_maildir(folder, raw: bytes) -> InboundMessage:
    """Dropped into the Maildir, read by the fetch job, processed by its task."""
    drop_into(folder, "message.eml", raw)
    assert fetch_maildir(folder) == 1
    message = InboundMessage.objects.get(source="maildir")
    tasks.process_inbound_message(message.pk)
    message.refresh_from_db()
    return message


@pytest.mark.django_db
def test_a_reply_with_a_photo_and_a_pdf_puts_both_on_its_case(make_case, tmp_path):
    case = make_case()
    photo = files.phone_photo(1200, 900)
    raw = reply_to(
        case_mail(case),
        text="Te mando la foto del paquete y la factura.",
        attachments=(
            ("IMG_2041.JPG", "image/jpeg", photo),
            ("factura.pdf", "application/pdf", files.pdf()),
        ),
    )

    message = from_maildir(tmp_path / "mail-in", raw)

    assert (message.status, message.outcome) == (Status.PROCESSED, Outcome.REPLY_ADDED)
    event = message.case_event
    assert event.kind == CaseEvent.Kind.CUSTOMER_MESSAGE and event.public
    photo_file, invoice = Attachment.objects.filter(event=event).order_by("pk")
    assert (photo_file.source, invoice.source) == ("email", "email")
    assert (invoice.name, invoice.content_type) == ("factura.pdf", "application/pdf")
    assert [row["attachment"] for row in message.attachments] == [
        str(photo_file.key),
        str(invoice.key),
    ]
    assert bytes(message.raw) == raw  # the original, files and all, stays for staff

    for attachment in (photo_file, invoice):
        assert cases_tasks.process_attachment(attachment.pk) == Attachment.Status.READY
    photo_file.refresh_from_db()
    served = stored(photo_file.file_name)
    assert files.CAMERA.encode() not in served and b"Exif" not in served
    assert not Image.open(io.BytesIO(served)).getexif()
    thumbnail = Image.open(io.BytesIO(stored(photo_file.thumbnail_name)))
    assert max(thumbnail.size) <= 480


@pytest.mark.django_db
def test_a_program_posing_as_a_pdf_is_refused_and_recorded_and_the_reply_still_lands(
    make_case, tmp_path
):
    case = make_case()
    raw = reply_to(
        case_mail(case),
        text="La factura y una foto.",
        attachments=(
            ("factura.pdf", "application/pdf", files.program()),
            ("foto.png", "image/png", files.screenshot_png()),
        ),
    )

    message = from_maildir(tmp_path / "mail-in", raw)

    assert message.status == Status.PROCESSED
    assert message.case_event.body == "La factura y una foto."
    [kept] = Attachment.objects.filter(case=case)
    assert kept.name == "foto.png"
    refused, accepted = message.attachments
    assert refused["name"] == "factura.pdf" and refused["refused"] == "type"
    assert refused["params"] == {"name": "factura.pdf"} and "attachment" not in refused
    assert accepted["attachment"] == str(kept.key)
    assert "files refused: factura.pdf (type)" in message.detail


@pytest.mark.django_db(transaction=True)
def test_a_new_email_with_a_photo_has_it_on_the_opening_message(other_reason):
    """Through ``manage.py receive_email`` on a real pipe, then the message's task."""
    raw = compose(
        subject="Paquete roto",
        text="El paquete llegó roto, os mando una foto.",
        attachments=(("paquete.jpg", "image/jpeg", files.phone_photo(800, 600)),),
    )
    piped = _pipe(raw)
    assert piped.returncode == 0, piped.stderr
    message = InboundMessage.objects.get(source="pipe")

    # Its task (or the session's worker, when one runs: the pipe queued it) processes it.
    tasks.process_inbound_message(message.pk)

    message = wait_for(
        lambda: InboundMessage.objects.filter(pk=message.pk, status=Status.PROCESSED).first()
    )
    assert message.outcome == Outcome.CASE_OPENED
    [attachment] = Attachment.objects.filter(case=message.case)
    assert attachment.event.kind == CaseEvent.Kind.OPENED and attachment.event.public
    assert attachment.source == Attachment.Source.EMAIL


@pytest.mark.django_db
def test_files_of_held_mail_are_seen_by_staff_only(make_case, deliver):
    case = make_case()
    raw = reply_to(
        case_mail(case),
        text="Soy su pareja, os mando la foto.",
        sender="Luis <luis@example.org>",
        attachments=(("foto.png", "image/png", files.screenshot_png()),),
    )

    message = deliver(raw)

    assert message.status == Status.HELD
    [attachment] = Attachment.objects.filter(case=case)
    assert attachment.event.kind == CaseEvent.Kind.INTERNAL_NOTE
    assert not attachment.event.public


@pytest.mark.django_db
def test_processing_a_message_twice_attaches_its_files_once(make_case):
    case = make_case()
    raw = reply_to(
        case_mail(case),
        text="Una foto.",
        attachments=(("foto.png", "image/png", files.screenshot_png()),),
    )
    stored_message = services.receive_message(raw=raw, source="t")
    services.receive_message(raw=raw, source="t")  # fetched twice: still one row

    assert tasks.process_inbound_message(stored_message.message.pk) == Status.PROCESSED
    assert tasks.process_inbound_message(stored_message.message.pk) == "skipped"
    assert Attachment.objects.filter(case=case).count() == 1


@pytest.mark.django_db
def test_accepting_held_mail_moves_its_files_to_the_message_and_they_count_once(
    make_case, deliver, settings
):
    case = make_case()
    photo, invoice = files.screenshot_png(), files.pdf()
    raw = reply_to(
        case_mail(case),
        text="Te escribo desde el trabajo, con la foto y la factura.",
        sender="ana@acme.test",
        attachments=(
            ("foto.png", "image/png", photo),
            ("factura.pdf", "application/pdf", invoice),
        ),
    )
    message = deliver(raw)
    held = list(Attachment.objects.filter(case=case).order_by("pk"))
    assert [a.event.kind for a in held] == [CaseEvent.Kind.INTERNAL_NOTE] * 2
    # The case's limit has room for these two files once, not twice.
    settings.ATTACHMENT_MAX_CASE_BYTES = len(photo) + len(invoice) + 10

    services.accept_held_message(message_id=message.pk, actor=None)

    message.refresh_from_db()
    event = message.case_event
    assert event.kind == CaseEvent.Kind.CUSTOMER_MESSAGE and event.public
    now_on_case = list(Attachment.objects.filter(case=case).order_by("pk"))
    assert [a.pk for a in now_on_case] == [a.pk for a in held]  # the same files, not copies
    assert {a.event_id for a in now_on_case} == {event.pk}
    assert [row["attachment"] for row in message.attachments] == [str(a.key) for a in held]
    assert all(row["event"] == event.pk and "refused" not in row for row in message.attachments)
    assert "refused" not in message.detail
