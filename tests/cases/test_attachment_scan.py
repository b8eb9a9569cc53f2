"""The virus scan: a real clamd (Debian's clamav-daemon) started here with a database of one
test signature. A flagged file is quarantined and never served; a clean one is; while the
scanner is down a file waits, unserved, and is checked once it is back."""

import io

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from cases import services
from cases.models import Attachment
from cases.services import IncomingFile
from foundation.virus_scan import ClamdScanner, ScannerUnavailable
from tests import files
from tests.factories import StaffFactory
from tests.harness import ClamdServer

pytestmark = pytest.mark.django_db
SIGNATURE = "Helpcenter.Test.Mark"


@pytest.fixture(scope="session")
def clamd(tmp_path_factory):
    if not ClamdServer.available():
        pytest.skip(ClamdServer.MISSING)
    server = ClamdServer(tmp_path_factory.mktemp("clamd"), {SIGNATURE: files.TEST_VIRUS_MARK})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def scanning(clamd, settings, attachments_folder):
    settings.ATTACHMENT_CLAMD_URL = clamd.url
    return clamd


def test_clamd_answers_clean_and_flagged(clamd):
    scanner = ClamdScanner(str(clamd.socket))
    assert scanner.scan(io.BytesIO(files.pdf())).clean
    flagged = scanner.scan(io.BytesIO(files.pdf(files.TEST_VIRUS_MARK)))
    assert not flagged.clean and flagged.signature.startswith(SIGNATURE)


def test_a_flagged_file_is_quarantined_and_never_served(scanning, client, make_case, open_link):
    case = make_case()
    open_link(case)
    event = services.add_customer_message(
        case=case,
        body="La factura",
        files=[
            IncomingFile.from_bytes("factura.pdf", files.pdf(files.TEST_VIRUS_MARK)),
            IncomingFile.from_bytes("recibo.pdf", files.pdf()),
        ],
    )
    flagged, clean = event.attachments.order_by("pk")

    assert services.process_attachment(attachment_id=flagged.pk) == "quarantined"
    assert services.process_attachment(attachment_id=clean.pk) == "ready"

    flagged.refresh_from_db()
    assert flagged.scan_signature.startswith(SIGNATURE) and not flagged.file_name
    assert client.get(f"/es/cases/{case.reference}/files/{flagged.key}/").status_code == 404
    assert client.get(f"/es/cases/{case.reference}/files/{clean.key}/").status_code == 200
    html = client.get(f"/es/cases/{case.reference}/").text
    assert "retenido: el análisis antivirus lo ha marcado" in html


def test_staff_see_what_the_scanner_found(scanning, make_case):
    case = make_case()
    services.add_customer_message(
        case=case,
        body="",
        files=[IncomingFile.from_bytes("x.pdf", files.pdf(files.TEST_VIRUS_MARK))],
    )
    services.process_attachment(attachment_id=Attachment.objects.get().pk)
    agent = StaffFactory()
    agent.user_permissions.add(Permission.objects.get(codename="change_case"))
    staff = Client()
    staff.force_login(agent)

    html = staff.get(f"/es/desk/cases/{case.reference}/").text

    assert SIGNATURE in html


def test_while_the_scanner_is_down_a_file_waits_unserved(
    settings, scanning, tmp_path, client, make_case, open_link
):
    settings.ATTACHMENT_CLAMD_URL = f"unix://{tmp_path}/nobody-listens.sock"
    case = make_case()
    open_link(case)
    event = services.add_customer_message(
        case=case, body="", files=[IncomingFile.from_bytes("recibo.pdf", files.pdf())]
    )
    attachment = event.attachments.get()

    assert services.process_attachment(attachment_id=attachment.pk) == "later"
    assert client.get(f"/es/cases/{case.reference}/files/{attachment.key}/").status_code == 404
    assert "en revisión" in client.get(f"/es/cases/{case.reference}/").text

    # The scanner is back; the sweeper queues the file again and it is checked.
    settings.ATTACHMENT_CLAMD_URL = scanning.url
    later = timezone.now() + timezone.timedelta(minutes=3)
    assert services.sweep_attachments(now=later)["requeued"] == 1
    assert services.process_attachment(attachment_id=attachment.pk) == "ready"


def test_an_unreachable_scanner_is_no_verdict(tmp_path):
    with pytest.raises(ScannerUnavailable):
        ClamdScanner(str(tmp_path / "none.sock")).scan(io.BytesIO(b"x"))
