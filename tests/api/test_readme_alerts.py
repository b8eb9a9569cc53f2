"""The README's monitoring examples work as written: the curl command opens an incident on a
live server, and the Alertmanager receiver points at the endpoint with the key as Bearer."""

import json
import re
import subprocess

import pytest
import yaml
from pydantic import TypeAdapter

from api.models import Scope
from api.v1.schemas import AlertIn, AlertsIn, GenericAlertsIn
from notifications.models import Announcement
from tests.conftest import ROOT
from tests.factories import AlertRuleFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _section() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme[readme.index("### Incidents from monitoring") :]


def test_the_readme_curl_example_opens_an_incident_on_a_live_server(live_server, make_key, reason):
    AlertRuleFactory(name="Pasarela de pago", title_es="Los pagos fallan ({labels.instance})")
    command = re.search(r"<!-- alert-example -->\n```sh\n(.*?)\n```", _section(), re.S).group(1)
    env = {
        "HELPCENTER_URL": live_server.url,
        "HELPCENTER_API_KEY": make_key([Scope.NOTICES_WRITE], name="Monitoring"),
        "PATH": "/usr/bin:/bin",
    }

    result = subprocess.run(
        ["bash", "-c", command + " --silent --show-error --fail-with-body"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    (answer,) = json.loads(result.stdout)["alerts"]
    assert answer["outcome"] == "opened" and answer["rule"] == "Pasarela de pago"
    assert answer["incident"]["title_es"] == "Los pagos fallan (pay-1)"
    assert Announcement.objects.get().publication == "draft"


def test_the_readme_alertmanager_receiver_sends_the_key_as_bearer_to_the_endpoint():
    config = yaml.safe_load(re.search(r"```yaml\n(.*?)\n```", _section(), re.S).group(1))

    (receiver,) = config["receivers"]
    (webhook,) = receiver["webhook_configs"]
    assert config["route"]["receiver"] == receiver["name"]
    assert webhook["url"].endswith("/api/v1/alerts/alertmanager")
    assert webhook["send_resolved"] is True
    assert webhook["http_config"]["authorization"]["type"] == "Bearer"
    assert webhook["http_config"]["authorization"]["credentials"].startswith("hc_")


def test_the_readme_generic_examples_are_the_format_the_endpoint_reads():
    one, several = (
        json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", _section(), re.S)
    )

    assert AlertIn.model_validate(one).labels["service"] == "payments"
    body = TypeAdapter(GenericAlertsIn)
    assert isinstance(body.validate_python(one), AlertIn)
    batch = body.validate_python(several)
    assert isinstance(batch, AlertsIn) and [a.status for a in batch.alerts] == [
        "firing",
        "resolved",
    ]
