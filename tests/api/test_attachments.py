"""Files through the API: attached to a case by the attachment service (type from the content,
the limits, processing after commit), once per Idempotency-Key; listed; downloaded only once
checked, with the site's headers, and only through their own case."""

import uuid
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from api.models import ApiWrite, Scope
from cases import services
from cases.models import Attachment, CaseEvent
from notifications.models import OutgoingMessage
from tests import files
from tests.api.conftest import assert_problem

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("attachments_folder")]
MB = 1024 * 1024


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def _open_case(reason, email: str = "ana@example.com"):
    return services.open_case(
        reason=reason,
        customer_email=email,
        customer_name=email.partition("@")[0].title(),
        language="es",
        subject="Tu pedido P-123456",
        description="¿Me mandáis la factura?",
    )


@pytest.fixture
def case(reason):
    return _open_case(reason)


def _attach(api, key, case, data=None, name="factura.pdf", idempotency_key="new", **fields):
    return api.upload(
        f"/cases/{case.reference}/attachments",
        {"file": upload(name, files.pdf() if data is None else data), **fields},
        key=key,
        idempotency_key=idempotency_key,
    )


def _process_all() -> None:
    """What the worker does after commit (the worker path has its own test in tests/cases)."""
    for pk in Attachment.objects.filter(status="pending").values_list("pk", flat=True):
        services.process_attachment(attachment_id=pk)


def test_a_pdf_attached_for_the_customer_is_on_their_case_and_they_are_told(
    api, key, case, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        response = _attach(api, key, case, message="Aquí tienes la factura.")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "factura.pdf" and body["content_type"] == "application/pdf"
    assert body["visibility"] == "public" and body["source"] == "api"
    attachment = Attachment.objects.get()
    assert str(attachment.key) == body["id"] and attachment.case == case
    event = attachment.event
    assert event.kind == CaseEvent.Kind.PUBLIC_REPLY and event.public
    assert event.body == "Aquí tienes la factura."
    assert event.author.last_name == "(API)"  # the key's own user: "Order system (API)"
    assert attachment.status == "pending" and len(queued) == 2  # its check, the email
    # What the worker does with them (the worker path has its own tests).
    _process_all()
    services.send_pending_updates(case_ids=[case.pk])
    attachment.refresh_from_db()
    assert attachment.status == "ready"
    # The customer is emailed, naming the file and linking to the case page.
    update = OutgoingMessage.objects.filter(recipient="ana@example.com").latest("pk")
    assert "factura.pdf" in update.body_text
    case.refresh_from_db()
    assert case.status == "received" and case.first_responded_at is None  # not an answer


def test_a_retried_upload_attaches_the_file_once(api, key, case):
    idempotency_key = str(uuid.uuid4())

    first = _attach(api, key, case, idempotency_key=idempotency_key)
    again = _attach(api, key, case, idempotency_key=idempotency_key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Attachment.objects.count() == 1
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.PUBLIC_REPLY).count() == 1
    assert ApiWrite.objects.get().resource == f"attachment:{first.json()['id']}"


def test_the_same_idempotency_key_with_another_file_is_refused(api, key, case):
    idempotency_key = str(uuid.uuid4())
    _attach(api, key, case, idempotency_key=idempotency_key)

    response = _attach(
        api, key, case, data=files.pdf(b"Otra factura"), idempotency_key=idempotency_key
    )

    assert_problem(response, 422, "idempotency_key_reused")
    assert Attachment.objects.count() == 1


def test_a_file_too_large_is_refused_with_the_services_code_and_nothing_is_kept(
    api, key, case, settings
):
    settings.ATTACHMENT_MAX_FILE_BYTES = MB
    idempotency_key = str(uuid.uuid4())
    big = files.pdf(b"x" * (2 * MB))

    response = _attach(api, key, case, data=big, idempotency_key=idempotency_key)

    body = assert_problem(response, 422, "too_large")
    assert "factura.pdf" in body["detail"]
    assert not Attachment.objects.exists() and not ApiWrite.objects.exists()
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.PUBLIC_REPLY).exists()
    # Refused, so nothing stored under the key: the same key with a smaller file goes through.
    assert _attach(api, key, case, idempotency_key=idempotency_key).status_code == 201


def test_a_program_posing_as_a_pdf_is_refused_as_a_type_we_do_not_take(api, key, case):
    response = _attach(api, key, case, data=files.program(), name="factura.pdf")

    body = assert_problem(response, 422, "type")
    assert body["errors"][0]["code"] == "type"
    assert not Attachment.objects.exists()
    assert list(case.events.values_list("kind", flat=True)) == [CaseEvent.Kind.OPENED]


def test_a_full_case_refuses_more_files(api, key, case, settings):
    settings.ATTACHMENT_MAX_CASE_BYTES = len(files.pdf()) + 10
    assert _attach(api, key, case).status_code == 201

    response = _attach(api, key, case, data=files.pdf(b"Segunda factura"))

    assert_problem(response, 422, "case_full")
    assert Attachment.objects.count() == 1


def test_a_request_without_a_file_is_invalid(api, key, case):
    response = api.upload(
        f"/cases/{case.reference}/attachments", {"message": "Sin archivo"}, key=key
    )

    assert_problem(response, 422, "invalid_request")


def test_an_internal_file_is_for_staff_only(api, key, case):
    response = _attach(api, key, case, visibility="internal", name="albaran.pdf")

    assert response.status_code == 201 and response.json()["visibility"] == "internal"
    event = Attachment.objects.get().event
    assert event.kind == CaseEvent.Kind.INTERNAL_NOTE and not event.public
    _process_all()
    customer = Client()
    link = services.issue_access_link(case=case)
    customer.get("/" + link.split("://", 1)[1].split("/", 1)[1])
    page = customer.get(f"/es/cases/{case.reference}/")
    assert page.status_code == 200 and "albaran.pdf" not in page.text


def test_attaching_needs_cases_write_and_reading_cases_read(api, make_key, case):
    reader = make_key(scopes=[Scope.CASES_READ])
    writer = make_key(scopes=[Scope.CASES_WRITE])

    assert_problem(_attach(api, reader, case), 403, "scope_missing")
    assert not Attachment.objects.exists()
    assert _attach(api, writer, case).status_code == 201
    key = Attachment.objects.get().key
    path = f"/cases/{case.reference}/attachments"
    assert_problem(api.get(path, key=writer), 403, "scope_missing")
    assert_problem(api.get(f"{path}/{key}", key=writer), 403, "scope_missing")
    assert api.get(path, key=reader).status_code == 200


def test_the_list_names_each_file_with_its_state_and_who_sees_it(api, key, case):
    _attach(api, key, case)
    _attach(api, key, case, data=files.screenshot_png(), name="captura", visibility="internal")
    _process_all()

    response = api.get(f"/cases/{case.reference}/attachments", key=key)

    assert response.status_code == 200
    items = response.json()["items"]
    assert [(i["name"], i["status"], i["visibility"]) for i in items] == [
        ("factura.pdf", "ready", "public"),
        ("captura.png", "ready", "internal"),
    ]
    # The case's history says which message carried which file.
    events = api.get(f"/cases/{case.reference}", key=key).json()["events"]
    files_by_event = [[file["name"] for file in event["files"]] for event in events]
    assert files_by_event == [[], ["factura.pdf"], ["captura.png"]]


def test_a_checked_file_downloads_with_the_sites_headers(api, key, case):
    attachment_id = _attach(api, key, case).json()["id"]
    _process_all()

    response = api.get(f"/cases/{case.reference}/attachments/{attachment_id}", key=key)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == files.pdf()
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="factura.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cache-Control"] == "private, no-store"


def test_a_photo_is_served_as_written_again_without_its_camera_data(api, key, case):
    attachment_id = _attach(api, key, case, data=files.phone_photo(), name="foto.jpg").json()["id"]
    _process_all()

    response = api.get(f"/cases/{case.reference}/attachments/{attachment_id}", key=key)

    data = b"".join(response.streaming_content)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert files.CAMERA.encode() not in data and data != files.phone_photo()


def test_a_file_not_yet_checked_or_held_back_is_not_served(api, key, case):
    attachment_id = _attach(api, key, case).json()["id"]
    path = f"/cases/{case.reference}/attachments/{attachment_id}"

    pending = api.get(path, key=key)
    assert_problem(pending, 409, "attachment_pending")
    assert pending["Retry-After"]

    # What the task records when clamd flags the file (tests/cases/test_attachment_scan.py
    # runs the real scanner).
    Attachment.objects.update(status="quarantined", scan_signature="Test.Virus")
    assert_problem(api.get(path, key=key), 410, "attachment_quarantined")
    Attachment.objects.update(status="failed")
    assert_problem(api.get(path, key=key), 410, "attachment_unreadable")


def test_another_cases_file_is_not_reachable_through_this_case(api, key, case, reason):
    other = _open_case(reason, "luis@example.com")
    attachment_id = _attach(api, key, case).json()["id"]
    _process_all()

    response = api.get(f"/cases/{other.reference}/attachments/{attachment_id}", key=key)

    assert_problem(response, 404, "not_found")
    assert api.get(f"/cases/{other.reference}/attachments", key=key).json() == {"items": []}
    assert_problem(
        api.get(f"/cases/{case.reference}/attachments/{uuid.uuid4()}", key=key), 404, "not_found"
    )
    assert_problem(
        api.get(f"/cases/{case.reference}/attachments/not-a-key", key=key), 404, "not_found"
    )
    assert_problem(_attach(api, key, SimpleNamespace(reference="ZZZZ-ZZZZ")), 404, "not_found")


def test_a_request_that_is_not_a_proper_upload_is_invalid_not_an_error(api, key, case):
    path = f"/cases/{case.reference}/attachments"

    as_json = api.post(path, {"file": "JVBERi0xLjQK"}, key=key)
    odd_visibility = _attach(api, key, case, visibility="secret")
    no_idempotency_key = _attach(api, key, case, idempotency_key=None)

    assert_problem(as_json, 422, "invalid_request")
    assert_problem(odd_visibility, 422, "invalid_request")
    assert_problem(no_idempotency_key, 422, "invalid_request")
    assert not Attachment.objects.exists()
