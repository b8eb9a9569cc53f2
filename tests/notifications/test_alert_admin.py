"""Monitoring rules and the alert log in the admin, in both languages."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from notifications.models import Alert, AlertRule
from tests.factories import (
    AlertRuleFactory,
    ContactReasonFactory,
    ReasonGroupFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db
ADD = "/admin/notifications/alertrule/add/"

RULE = {
    "name": "Pasarela de pago",
    "enabled": "on",
    "position": "10",
    "matchers": 'service="payments"\nseverity=~"critical|page"',
    "kind": "incident",
    "severity": "3",
    "areas": ["payments"],
    "title_es": "Los pagos fallan ({labels.instance})",
    "title_en": "Payments are failing ({labels.instance})",
    "body_es": "Estamos investigando: {annotations.summary}",
    "body_en": "We are looking into it: {annotations.summary}",
    "resolution_es": "",
    "resolution_en": "",
    "min_duration": "120",
    "reopen_within": "900",
}


@pytest.fixture
def reasons(db):
    ContactReasonFactory(code="card-declined", parent=ReasonGroupFactory(code="payments"))


def test_a_rule_is_written_in_the_admin_with_its_areas_ticked_from_the_contact_reasons(
    admin_client, reasons
):
    form = admin_client.get(ADD, headers={"accept-language": "es"})
    assert "Condiciones sobre las etiquetas" in form.text and 'value="card-declined"' in form.text

    admin_client.post(ADD, RULE)

    rule = AlertRule.objects.get()
    assert rule.areas == ["payments"] and rule.min_duration == 120
    assert rule.resolve_after_silence is None  # empty: only a resolution sent resolves
    assert not rule.publish_at_once  # a draft for a person unless asked
    listing = admin_client.get("/admin/notifications/alertrule/", headers={"accept-language": "en"})
    assert "Monitoring rules" in listing.text and "Pasarela de pago" in listing.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("matchers", "service=payments", "La línea 1 no es una condición"),
        ("matchers", 'service=~"pay(?=ments)"', "no existen en las expresiones regulares"),
        ("title_en", "Payments are failing ({label.instance})", "no es un marcador"),
        ("title_es", "Dos\nlíneas", "Escríbelo en una sola línea"),
        ("resolve_after_silence", "4", "Al menos 5 minutos"),
        ("resolve_after_silence", "20000", "Como mucho una semana"),
    ],
)
def test_a_rule_that_cannot_work_is_refused_saying_why(
    admin_client, reasons, field, value, message
):
    response = admin_client.post(
        ADD,
        {**RULE, field: value},
        headers={"accept-language": "es"},
    )

    assert response.status_code == 200 and message in response.text
    assert AlertRule.objects.count() == 0


def test_the_alert_log_is_read_only_and_announcers_may_read_it(client):
    rule = AlertRuleFactory()
    alert = Alert.objects.create(
        rule=rule,
        fingerprint="a1b2c3",
        source="alertmanager",
        status=Alert.Status.PENDING,
        labels={"service": "payments"},
        starts_at=timezone.now(),
    )
    announcer = StaffFactory()
    announcer.groups.add(Group.objects.get(name="Announcers"))
    client.force_login(announcer)

    listing = client.get("/admin/notifications/alert/", headers={"accept-language": "es"})
    assert "Esperando su duración mínima" in listing.text
    change = client.get(f"/admin/notifications/alert/{alert.pk}/change/")
    assert change.status_code == 200 and 'name="_save"' not in change.text
    assert client.get("/admin/notifications/alert/add/").status_code == 403
    assert client.get(f"/admin/notifications/alertrule/{rule.pk}/change/").status_code == 200
    assert client.get("/admin/notifications/alertrule/add/").status_code == 403


def test_a_rule_resolves_after_a_silence_explained_in_both_languages(admin_client, reasons):
    form = admin_client.get(ADD, headers={"accept-language": "es"}).text
    assert "Resolver tras un silencio de (minutos)" in form and "repeat_interval" in form
    assert (
        "Resolve when silent for (minutes)"
        in admin_client.get(ADD, headers={"accept-language": "en"}).text
    )

    admin_client.post(ADD, {**RULE, "resolve_after_silence": "30"})

    assert AlertRule.objects.get().resolve_after_silence == 30
