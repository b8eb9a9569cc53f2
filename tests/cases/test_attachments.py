"""Attachments through the services: the type read from the content, the limits, images
written again without what the camera put in them, processing once, and nothing lost."""

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone
from PIL import Image

from cases import selectors, services
from cases.models import Attachment, CaseEvent
from cases.services import IncomingFile
from cases.services.attachments import PROCESS_TASK
from tests import files

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("attachments_folder")]
MB = 1024 * 1024


def stored(name: str) -> bytes:
    with storages["attachments"].open(name, "rb") as stream:
        return stream.read()


def exists(name: str) -> bool:
    return storages["attachments"].exists(name)


def opening_event(case) -> CaseEvent:
    return case.events.get(kind=CaseEvent.Kind.OPENED)


def attach(case, *named: tuple[str, bytes], event=None, source="case_page"):
    return services.attach_files(
        event=event or opening_event(case),
        files=[IncomingFile.from_bytes(name, data) for name, data in named],
        source=source,
    )


def queued_tasks(callbacks) -> list[tuple[str, tuple]]:
    return [(callback.args[0], callback.args[1]) for callback in callbacks]


# --- What a file is -------------------------------------------------------------------------


def test_the_type_is_read_from_the_content_not_the_name(make_case):
    case = make_case()

    result = attach(
        case,
        ("foto.jpg", files.pdf()),  # a PDF named as a photo
        ("factura.pdf", files.program()),  # a program named as a PDF
        ("notas", "Pedido 118: llegó roto\n".encode()),
        ("informe.docx", files.docx()),
    )

    assert [(a.name, a.content_type) for a in result.attached] == [
        ("foto.pdf", "application/pdf"),
        ("notas.txt", "text/plain"),
        (
            "informe.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    ]
    assert [(r.name, r.code) for r in result.refused] == [("factura.pdf", "type")]
    assert "factura.pdf" in result.refused[0].message


def test_a_name_never_gives_a_program_its_extension(make_case):
    [attachment] = attach(make_case(), ("factura.pdf.exe", files.pdf())).attached

    assert attachment.name == "factura.pdf.pdf"


def test_empty_and_damaged_images_are_refused_in_the_request(make_case):
    result = attach(make_case(), ("vacío.pdf", b""), ("foto.jpg", files.phone_photo()[:200]))

    assert [r.code for r in result.refused] == ["empty", "unreadable"]
    assert result.attached == []


# --- The limits -----------------------------------------------------------------------------


def test_each_limit_refuses_with_its_reason(settings, make_case):
    settings.ATTACHMENT_MAX_FILE_BYTES = 2 * MB
    settings.ATTACHMENT_MAX_MESSAGE_BYTES = 3 * MB + MB // 2
    settings.ATTACHMENT_MAX_CASE_BYTES = 4 * MB
    settings.ATTACHMENT_MAX_FILES = 3
    case = make_case()
    big = files.pdf(b"x" * (MB + MB // 2))  # 1.5 MB

    first = attach(
        case, ("grande.pdf", files.pdf(b"x" * (3 * MB))), ("a.pdf", big), ("b.pdf", big),
        ("c.pdf", big),
    )  # fmt: skip
    assert [a.name for a in first.attached] == ["a.pdf", "b.pdf"]
    assert [r.code for r in first.refused] == ["too_large", "message_full"]
    assert (
        first.refused[0].message == "«grande.pdf» ocupa 3 MB; cada archivo puede ocupar hasta 2 MB."
    )

    second = attach(
        case, ("d.pdf", big), event=services.add_customer_message(case=case, body="Más")
    )
    assert [r.code for r in second.refused] == ["case_full"]
    assert "ya tiene 3 MB" in second.refused[0].message

    small = [(f"{n}.txt", b"hola\n") for n in range(4)]
    third = attach(case, *small, event=services.add_customer_message(case=case, body="y"))
    assert [r.code for r in third.refused] == ["too_many"]


def test_the_limits_are_stated_in_the_language_of_the_page(settings):
    from django.utils import translation

    with translation.override("es"):
        spanish = selectors.attachment_limits_text()
    with translation.override("en"):
        english = selectors.attachment_limits_text()

    assert "Hasta 5 archivos, 10 MB cada uno y 25 MB en total" in spanish
    assert "Up to 5 files, 10 MB each and 25 MB in all" in english
    assert "100 MB" in spanish and "100 MB" in english


# --- Images made safe -----------------------------------------------------------------------


def test_a_photo_is_written_again_without_exif_or_gps_and_gets_a_thumbnail(make_case):
    photo = files.phone_photo(1200, 900, orientation=6)
    [attachment] = attach(make_case(), ("IMG_2041.JPG", photo)).attached
    assert files.CAMERA.encode() in stored(attachment.upload_name)

    assert services.process_attachment(attachment_id=attachment.pk) == "ready"

    attachment.refresh_from_db()
    assert attachment.status == Attachment.Status.READY
    assert attachment.name == "IMG_2041.jpg"
    served = stored(attachment.file_name)
    image = Image.open(io.BytesIO(served))
    assert image.format == "JPEG" and not image.getexif()
    assert files.CAMERA.encode() not in served and b"Exif" not in served
    assert image.size == (900, 1200)  # turned upright, as the phone showed it
    assert (attachment.width, attachment.height) == (900, 1200)
    thumbnail = Image.open(io.BytesIO(stored(attachment.thumbnail_name)))
    assert max(thumbnail.size) <= 480 and not thumbnail.getexif()
    # The original, with the position in it, is gone.
    assert not exists(attachment.upload_name)


def test_a_screenshot_stays_a_sharp_png(make_case):
    [attachment] = attach(make_case(), ("captura.png", files.screenshot_png())).attached

    services.process_attachment(attachment_id=attachment.pk)

    attachment.refresh_from_db()
    assert attachment.content_type == "image/png" and attachment.file_name.endswith(".png")
    assert Image.open(io.BytesIO(stored(attachment.file_name))).format == "PNG"


def test_a_photo_that_does_not_decode_is_marked_failed_and_never_served(make_case):
    [attachment] = attach(make_case(), ("rota.jpg", files.damaged_photo())).attached

    assert services.process_attachment(attachment_id=attachment.pk) == "failed"

    attachment.refresh_from_db()
    assert attachment.status == Attachment.Status.FAILED and not attachment.file_name


def test_processing_twice_has_its_effect_once(make_case):
    [attachment] = attach(make_case(), ("foto.jpg", files.phone_photo())).attached

    assert services.process_attachment(attachment_id=attachment.pk) == "ready"
    first = Attachment.objects.get(pk=attachment.pk)
    assert services.process_attachment(attachment_id=attachment.pk) == "gone"

    again = Attachment.objects.get(pk=attachment.pk)
    assert (again.status, again.file_name, again.processed_at) == (
        first.status,
        first.file_name,
        first.processed_at,
    )
    assert exists(again.file_name) and exists(again.thumbnail_name)


def test_a_document_is_served_as_it_came(make_case):
    [attachment] = attach(make_case(), ("factura.pdf", files.pdf())).attached

    services.process_attachment(attachment_id=attachment.pk)

    attachment.refresh_from_db()
    assert attachment.status == "ready" and stored(attachment.file_name) == files.pdf()


# --- After commit, and swept ----------------------------------------------------------------


def test_processing_is_queued_after_the_message_commits(
    make_case, django_capture_on_commit_callbacks
):
    case = make_case()
    with django_capture_on_commit_callbacks() as callbacks:
        event = services.add_customer_message(
            case=case, body="", files=[IncomingFile.from_bytes("foto.jpg", files.phone_photo())]
        )

    [attachment] = event.attached.attached
    assert event.body == ""  # a message may be a photo alone
    assert (PROCESS_TASK, (attachment.pk,)) in queued_tasks(callbacks)


def test_a_message_of_refused_files_alone_is_not_written(make_case):
    case = make_case()

    with pytest.raises(ValidationError, match=r"x\.exe"):
        services.add_customer_message(
            case=case, body="", files=[IncomingFile.from_bytes("x.exe", files.program())]
        )

    assert not case.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()
    assert not Attachment.objects.exists()


def test_a_rolled_back_message_leaves_no_file(make_case, attachments_folder):
    case = make_case()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        attach(case, ("foto.jpg", files.phone_photo()))
        assert any(attachments_folder.rglob("upload"))
        raise Boom

    assert not Attachment.objects.exists()
    # What the request wrote before failing is found by the file sweeper (days later).
    later = timezone.now() + timedelta(days=3)
    assert services.sweep_attachment_files(now=later) == 1
    assert not any(path.is_file() for path in attachments_folder.rglob("*"))


def test_the_file_sweeper_keeps_every_file_a_row_names(make_case):
    [attachment] = attach(make_case(), ("factura.pdf", files.pdf())).attached
    services.process_attachment(attachment_id=attachment.pk)

    assert services.sweep_attachment_files(now=timezone.now() + timedelta(days=3)) == 0
    assert exists(attachment.upload_name)


def test_a_lost_task_is_queued_again_by_the_sweeper_with_a_growing_wait(
    make_case, django_capture_on_commit_callbacks
):
    [attachment] = attach(make_case(), ("factura.pdf", files.pdf())).attached
    now = timezone.now()

    assert services.sweep_attachments(now=now)["requeued"] == 0  # not due yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.sweep_attachments(now=now + timedelta(minutes=3))["requeued"] == 1
    assert queued_tasks(callbacks) == [(PROCESS_TASK, (attachment.pk,))]
    attachment.refresh_from_db()
    assert attachment.attempts == 1
    assert attachment.next_attempt_at == now + timedelta(minutes=3) + timedelta(minutes=4)

    services.process_attachment(attachment_id=attachment.pk)
    assert services.sweep_attachments(now=now + timedelta(days=1))["requeued"] == 0


def test_files_a_form_kept_for_a_message_never_sent_are_deleted_a_day_later():
    kept = services.stage_files(
        token="t" * 32,
        files=[IncomingFile.from_bytes("foto.jpg", files.phone_photo())],
        source="contact",
    )
    [attachment] = kept.attached

    assert services.sweep_attachments(now=timezone.now() + timedelta(hours=2))["abandoned"] == 0
    assert services.sweep_attachments(now=timezone.now() + timedelta(days=2))["abandoned"] == 1
    assert not Attachment.objects.exists() and not exists(attachment.upload_name)


def test_kept_files_go_with_the_message_that_claims_them(make_case):
    case = make_case()
    token = "k" * 32
    services.stage_files(
        token=token,
        files=[IncomingFile.from_bytes("foto.jpg", files.phone_photo())],
        source="case_page",
        case=case,
    )

    event = services.add_customer_message(case=case, body="", attachments_token=token)

    assert [a.name for a in event.attached.attached] == ["foto.jpg"]
    assert selectors.staged_files(token) == []
    assert Attachment.objects.get().event == event


def test_staged_files_count_against_the_limits(settings):
    settings.ATTACHMENT_MAX_FILES = 2
    token = "s" * 32
    for name in ("a.txt", "b.txt", "c.txt"):
        result = services.stage_files(
            token=token, files=[IncomingFile.from_bytes(name, b"hola\n")], source="contact"
        )

    assert [r.code for r in result.refused] == ["too_many"]
    assert [a.name for a in selectors.staged_files(token)] == ["a.txt", "b.txt"]


def test_an_orphan_written_outside_any_row_is_swept_only_when_old():
    storage = storages["attachments"]
    now = timezone.now()
    recent = storage.save(f"{now:%Y/%m/%d}/{'a' * 32}/upload", ContentFile(b"x"))
    old_day = now - timedelta(days=3)
    old = storage.save(f"{old_day:%Y/%m/%d}/{'b' * 32}/upload", ContentFile(b"x"))

    assert services.sweep_attachment_files(now=now) == 1

    assert storage.exists(recent) and not storage.exists(old)
