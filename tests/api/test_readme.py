"""The README's order-system example runs as written, against a live server: it opens one
case and sends one delay notice, however often it runs."""

import re
import subprocess
import sys

import pytest

from cases.models import Case, CustomerNotice
from notifications.models import OutgoingMessage
from notifications.services import announcements
from tests.conftest import ROOT
from tests.factories import AnnouncementFactory

pytestmark = pytest.mark.django_db(transaction=True)


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


def test_the_readme_script_opens_one_case_and_tells_one_delay_however_often_it_runs(
    live_server, key, reason
):
    first = _run(live_server, key)
    again = _run(live_server, key)

    case, notice = Case.objects.get(), CustomerNotice.objects.get()
    assert first == again == f"201 opened {case.reference}\n201 {notice.pk}\n"
    assert case.customer_email == notice.customer_email == "ana@example.com"
    assert OutgoingMessage.objects.filter(recipient="ana@example.com").count() == 2


def test_the_readme_script_opens_the_case_past_a_live_incident(live_server, key, reason):
    incident = announcements.publish_announcement(
        announcement=AnnouncementFactory(areas=["orders"]), actor=None
    )

    output = _run(live_server, key)

    case = Case.objects.get()
    assert output.startswith(f"201 opened {case.reference}\n")
    assert case.incident_id == incident.pk
