"""The weekly digest: each reason owner, once per week, in their language, through the outbox."""

import time as clock
from datetime import datetime, time, timedelta

import pytest

from cases.models import Case, CaseEvent
from insights import services
from insights.models import DigestPreference
from insights.periods import service_zone
from insights.tasks import send_weekly_digests
from kb.models import SearchLog
from notifications.models import OutgoingMessage
from tests.conftest import wait_for
from tests.factories import (
    CaseEventFactory,
    CaseFactory,
    ContactReasonFactory,
    ReasonGroupFactory,
    StaffFactory,
)

MONDAY = datetime(2026, 11, 16, 8, 0, tzinfo=service_zone())  # last week: 9 to 15 November


@pytest.fixture
def owned_reasons(db):
    owner = StaffFactory(username="marta", first_name="Marta", email="marta@example.com")
    reason = ContactReasonFactory(
        code="payment-failed", name_es="Pago fallido", name_en="Payment failed", owner=owner
    )
    other = ReasonGroupFactory(code="other", name_es="Otro", name_en="Other")
    wednesday = datetime(2026, 11, 11, 12, 0, tzinfo=service_zone())
    for index, (when, which) in enumerate(
        [(wednesday, reason), (wednesday, reason), (wednesday - timedelta(days=7), reason),
         (wednesday, other)]
    ):  # fmt: skip
        CaseFactory(reference=f"D{index:03d}-TEST", reason=which, team=None, created_at=when)
    CaseEventFactory(
        case=Case.objects.get(reference="D000-TEST"), kind=CaseEvent.Kind.SATISFACTION,
        rating=2, body="Tardaron mucho en contestar", created_at=wednesday,
    )  # fmt: skip
    SearchLog.objects.create(
        query="tarjeta rechazada", language="es", results_count=0,
        followed_by_contact="payment-failed", created_at=wednesday,
    )  # fmt: skip
    services.roll_up_recent_days(days=30, now=MONDAY)
    return owner


def test_last_complete_week_is_monday_to_sunday():
    week = services.last_complete_week(MONDAY.date())
    assert (week.first_day.isoformat(), week.last_day.isoformat()) == ("2026-11-09", "2026-11-15")
    assert services.last_complete_week(MONDAY.date() + timedelta(days=6)) == week


@pytest.mark.django_db
def test_digest_tells_the_owner_their_week(owned_reasons):
    assert services.send_due_weekly_digests(now=MONDAY) == 1
    message = OutgoingMessage.objects.get(recipient="marta@example.com")
    assert message.kind == OutgoingMessage.Kind.DIGEST
    assert message.language == "es"
    assert (
        message.subject == "Tus motivos de contacto, semana del 9 de noviembre al 15 de noviembre"
    )
    text = message.body_text
    assert "Pago fallido: 2 casos" in text  # the other reason is not hers
    assert "semana anterior: 1" in text
    assert "tarjeta rechazada" in text
    assert "Tardaron mucho en contestar" in text
    assert "/desk/insights/" in text and "<table" in message.body_html


@pytest.mark.django_db
def test_digest_is_in_the_owner_language_and_can_be_turned_off(owned_reasons):
    DigestPreference.objects.create(user=owned_reasons, language="en")
    services.send_due_weekly_digests(now=MONDAY)
    message = OutgoingMessage.objects.get(recipient="marta@example.com")
    assert message.language == "en"
    assert "Payment failed: 2 cases" in message.body_text

    DigestPreference.objects.filter(user=owned_reasons).update(weekly_digest=False)
    assert services.send_due_weekly_digests(now=MONDAY + timedelta(days=7)) == 0


@pytest.mark.django_db
def test_no_digest_before_monday_morning(owned_reasons):
    early = datetime.combine(MONDAY.date(), time(6, 30), tzinfo=service_zone())
    assert services.send_due_weekly_digests(now=early) == 0
    assert not OutgoingMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_job_run_twice_sends_one_digest_per_owner(owned_reasons, celery_worker, smtp_server):
    sink, _ = smtp_server
    sink.clear()
    send_weekly_digests.delay()
    send_weekly_digests.delay()
    wait_for(lambda: "marta@example.com" in sink.recipients())
    wait_for(
        lambda: not OutgoingMessage.objects.exclude(status=OutgoingMessage.Status.SENT).exists()
    )
    clock.sleep(1)  # room for a second email, were one on its way
    assert sink.recipients() == ["marta@example.com"]
    assert OutgoingMessage.objects.filter(kind=OutgoingMessage.Kind.DIGEST).count() == 1
