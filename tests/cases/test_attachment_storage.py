"""Where attachments live and how they get checked: an S3-compatible store (moto's server mode,
started here) through Django's storage API, exactly as the filesystem default; and the real
worker checking a file after commit, with the broker down in between."""

import subprocess
import sys

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import Client
from django.utils import timezone

from cases import services
from cases.models import Attachment, CaseEvent
from cases.services import IncomingFile
from cases.services.attachments import SWEEP_AFTER
from tests import files
from tests.conftest import ROOT, broker_unreachable, subprocess_env, wait_for
from tests.harness import S3Server

BUCKET = "helpcenter-attachments"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    server = S3Server(tmp_path_factory.mktemp("s3"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_storage(s3_server, settings):
    client = s3_server.client()
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {**settings.STORAGES, "attachments": s3_server.storage(BUCKET)}
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def keys(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


@pytest.mark.django_db
def test_on_s3_a_photo_is_kept_checked_and_served_like_on_disk(
    s3_storage, client, make_case, open_link
):
    case = make_case()
    open_link(case)
    event = services.add_customer_message(
        case=case, body="", files=[IncomingFile.from_bytes("foto.jpg", files.phone_photo())]
    )
    attachment = event.attachments.get()
    assert keys(s3_storage) == [f"attachments/{attachment.upload_name}"]

    assert services.process_attachment(attachment_id=attachment.pk) == "ready"

    attachment.refresh_from_db()
    folder = attachment.upload_name.rsplit("/", 1)[0]
    # The original (with its GPS position) is gone from the bucket; what is left is clean.
    assert keys(s3_storage) == [
        f"attachments/{folder}/file.jpg",
        f"attachments/{folder}/thumbnail.jpg",
    ]
    response = client.get(f"/es/cases/{case.reference}/files/{attachment.key}/")
    served = b"".join(response.streaming_content)
    assert response.status_code == 200 and served[:2] == b"\xff\xd8"
    assert files.CAMERA.encode() not in served


@pytest.mark.django_db
def test_on_s3_the_file_sweeper_finds_what_a_failed_request_left(s3_storage, make_case):
    make_case()
    now = timezone.now()
    old_day = now - timezone.timedelta(days=3)
    orphan = storages["attachments"].save(
        f"{old_day:%Y/%m/%d}/{'c' * 32}/upload", ContentFile(b"x")
    )

    assert services.sweep_attachment_files(now=now) == 1

    assert f"attachments/{orphan}" not in keys(s3_storage)


def test_the_settings_pick_s3_when_a_bucket_is_named():
    code = (
        "from django.conf import settings; from django.core.files.storage import storages;"
        "s = storages['attachments']; print(type(s).__name__, s.bucket_name, s.endpoint_url)"
    )
    env = subprocess_env(
        ATTACHMENTS_S3_BUCKET="cases-files", ATTACHMENTS_S3_ENDPOINT_URL="http://127.0.0.1:9"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip

    assert out.splitlines()[-1].split() == ["S3Storage", "cases-files", "http://127.0.0.1:9"]


@pytest.mark.django_db(transaction=True)
def test_the_worker_checks_a_file_after_commit_and_a_broker_outage_loses_none(
    celery_worker, reason
):
    # The worker and this process share VAR_DIR, so the default attachments folder too.
    customer = Client()
    with broker_unreachable():
        response = customer.post(
            "/es/contact/",
            {"reason": reason.pk, "subject": "Paquete roto", "description": "Llegó aplastado",
             "name": "Ana", "email": "ana@example.com",
             "attachments": [ContentFile(files.phone_photo(), name="IMG_1.jpg")]},
        )  # fmt: skip
    assert response.status_code == 302  # the customer never noticed
    attachment = Attachment.objects.get()
    assert attachment.status == "pending"
    assert attachment.event.kind == CaseEvent.Kind.OPENED

    # The broker is back; the beat sweeper runs a couple of minutes later.
    assert services.sweep_attachments(now=timezone.now() + SWEEP_AFTER)["requeued"] == 1

    wait_for(lambda: Attachment.objects.get().status == "ready", timeout=60)
    attachment.refresh_from_db()
    assert storages["attachments"].exists(attachment.thumbnail_name)
    assert not storages["attachments"].exists(attachment.upload_name)
