"""The README's order-system example runs as written, against a live server: it opens one
case and sends one delay notice, however often it runs."""

import re
import subprocess
import sys

import pytest

from cases.demo import TAXONOMY
from cases.models import Attachment, Case, CustomerNotice
from notifications.services import announcements
from tests.conftest import ROOT
from tests.factories import AnnouncementFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("attachments_folder"),
]


def _example() -> str:
    readme = (ROOT / "README.md").read_text()
    return re.search(r"<!-- api-example -->\n```python\n(.*?)\n```", readme, re.S).group(1)


def _run(live_server, key: str) -> str:
    env = {"HELPCENTER_URL": live_server.url, "HELPCENTER_API_KEY": key, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", _example()], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_readme_script_opens_one_case_tells_one_delay_attaches_one_invoice_however_often(
    live_server, key, reason
):
    first = _run(live_server, key)
    again = _run(live_server, key)

    case, notice = Case.objects.get(), CustomerNotice.objects.get()
    invoice = Attachment.objects.get()
    assert (
        first
        == again
        == (f"201 opened {case.reference}\n201 {notice.pk}\n201 factura-P-123456.pdf\n")
    )
    assert case.customer_email == notice.customer_email == "ana@example.com"
    assert invoice.case == case and invoice.event.public
    assert invoice.content_type == "application/pdf"
    assert invoice.event.body == "Aquí tienes la factura de tu pedido."


def test_the_readme_script_names_a_reason_that_make_run_has():
    demo_codes = {code for *_, reasons in TAXONOMY for code, *_ in reasons}
    assert set(re.findall(r'"reason": "([a-z-]+)"', _example())) <= demo_codes


def test_the_readme_script_opens_the_case_past_a_live_incident(live_server, key, reason):
    incident = announcements.publish_announcement(
        announcement=AnnouncementFactory(areas=["orders"]), actor=None
    )

    output = _run(live_server, key)

    case = Case.objects.get()
    assert output.startswith(f"201 opened {case.reference}\n")
    assert case.incident_id == incident.pk
