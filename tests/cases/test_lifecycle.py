from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases import selectors, services
from cases.models import Case, CaseEvent
from notifications.models import CalendarException, OutgoingMessage
from notifications.services import outbox

pytestmark = pytest.mark.django_db
MADRID = ZoneInfo("Europe/Madrid")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=MADRID)


def test_due_dates_count_opening_hours_across_a_weekend(reason):
    # Friday 27 Nov 2026, 16:00: 4 business hours = 2 on Friday + 2 on Monday.
    first, resolution = selectors.due_dates(reason, at(2026, 11, 27, 16, 0))

    assert first == at(2026, 11, 30, 11, 0)
    # 2 business days after Friday (which does not count): Monday and Tuesday.
    assert resolution == at(2026, 12, 1, 18, 0)


def test_due_dates_skip_a_holiday(reason):
    CalendarException.objects.create(
        date=date(2026, 12, 8), label_es="Inmaculada", label_en="Immaculate Conception"
    )
    # Monday 7 Dec 17:00 + 4 business hours: 1 on Monday, the 8th is closed, 3 on Wednesday 9th.
    first, resolution = selectors.due_dates(reason, at(2026, 12, 7, 17, 0))

    assert first == at(2026, 12, 9, 12, 0)
    assert resolution == at(2026, 12, 10, 18, 0)  # after Monday: Wednesday and Thursday


def test_reopened_case_gets_new_due_dates(make_case):
    case = make_case()
    services.reply_to_customer(
        case=case, body="Solucionado", status=Case.Status.RESOLVED, actor=None
    )
    old_due = Case.objects.get(pk=case.pk).resolution_due
    Case.objects.filter(pk=case.pk).update(resolved_at=timezone.now() - timedelta(days=3))

    case = services.reopen_case(case=case, body="Sigue fallando")

    assert case.status == Case.Status.REOPENED
    assert case.resolution_due >= old_due
    assert case.first_response_due > timezone.now()
    assert case.first_responded_at is None


def test_reopening_is_only_possible_within_14_days(make_case):
    case = make_case()
    services.change_case_status(case=case, status=Case.Status.RESOLVED, actor=None)
    Case.objects.filter(pk=case.pk).update(resolved_at=timezone.now() - timedelta(days=15))

    with pytest.raises(ValidationError):
        services.reopen_case(case=case)


def test_customer_message_moves_a_waiting_case_back_to_us(make_case):
    case = make_case()
    services.change_case_status(case=case, status=Case.Status.WAITING_ON_CUSTOMER, actor=None)

    services.add_customer_message(case=case, body="Aquí tenéis el dato")

    assert Case.objects.get(pk=case.pk).status == Case.Status.IN_PROGRESS


def test_invalid_status_changes_are_refused_with_a_clear_error(make_case):
    case = make_case()
    services.change_case_status(case=case, status=Case.Status.CLOSED, actor=None)

    with pytest.raises(ValidationError) as error:
        services.change_case_status(case=case, status=Case.Status.WAITING_ON_CUSTOMER, actor=None)
    assert error.value.code == "invalid_transition"


def test_rating_is_taken_once_after_resolution(make_case):
    case = make_case()
    with pytest.raises(ValidationError):
        services.rate_case(case=case, rating=5)
    services.change_case_status(case=case, status=Case.Status.RESOLVED, actor=None)

    services.rate_case(case=case, rating=4, comment="Rápidos")

    with pytest.raises(ValidationError):
        services.rate_case(case=case, rating=1)
    assert Case.objects.get(pk=case.pk).satisfaction == 4


def test_a_reply_leaves_at_once_with_its_status_and_never_the_notes(make_case):
    case = make_case()
    services.reply_to_customer(case=case, body="Primera respuesta", actor=None)
    services.add_internal_note(case=case, body="NOTA-SECRETA", actor=None)
    services.change_case_status(case=case, status=Case.Status.WAITING_ON_CUSTOMER, actor=None)

    assert services.send_pending_updates() == 1  # a reply does not wait for a quiet period
    assert services.send_pending_updates(now=timezone.now() + timedelta(minutes=10)) == 0

    updates = OutgoingMessage.objects.filter(dedupe_key__contains=":update:")
    assert updates.count() == 1
    body = updates.get().body_text
    assert "Primera respuesta" in body and "Esperando tu respuesta" in body
    assert "NOTA-SECRETA" not in body and outbox.link_placeholder("case", case.pk) in body


def test_no_update_email_when_the_customer_opted_out(make_case):
    case = make_case()
    services.set_customer_updates(case=case, enabled=False)
    services.reply_to_customer(case=case, body="Hola", actor=None)

    assert services.send_pending_updates(now=timezone.now() + timedelta(minutes=5)) == 0


def test_update_email_is_in_the_customers_language(make_case):
    case = make_case(language="en")
    services.reply_to_customer(case=case, body="Hello", actor=None)
    services.send_pending_updates(now=timezone.now() + timedelta(minutes=5))

    message = OutgoingMessage.objects.get(dedupe_key__contains=":update:")
    sent = outbox._with_minted_links(message, now=timezone.now())  # what the worker sends
    assert (
        message.language == "en"
        and "your case" in message.subject
        and "/en/cases/access/" in sent.body_text
    )


def test_idle_cases_resolve_and_then_close(make_case):
    case = make_case()
    services.change_case_status(case=case, status=Case.Status.WAITING_ON_CUSTOMER, actor=None)
    Case.objects.filter(pk=case.pk).update(updated_at=timezone.now() - timedelta(days=15))

    assert services.advance_idle_cases()["resolved"] == 1
    Case.objects.filter(pk=case.pk).update(resolved_at=timezone.now() - timedelta(days=15))
    assert services.advance_idle_cases()["closed"] == 1
    assert Case.objects.get(pk=case.pk).status == Case.Status.CLOSED


def test_reference_is_readable_and_unambiguous(make_case):
    references = {make_case(f"c{n}@example.com").reference for n in range(30)}

    assert len(references) == 30
    for reference in references:
        assert len(reference) == 9 and reference[4] == "-"
        assert not set(reference) & set("01OIL5S8B")  # nothing to misread


def test_opening_a_case_records_the_event_and_queues_the_link_email(make_case):
    case = make_case()

    assert list(case.events.values_list("kind", flat=True)) == [CaseEvent.Kind.OPENED]
    email = OutgoingMessage.objects.get(dedupe_key=f"case:{case.pk}:opened")
    assert case.reference in email.subject
    assert outbox.link_placeholder("case", case.pk) in email.body_text


def test_open_cases_in_an_affected_reason_hear_about_an_incident_once(make_case, reason):
    from notifications.models import Announcement
    from notifications.services.announcements import publish_announcement

    affected = make_case("a@example.com")
    opted_out = make_case("b@example.com")
    services.set_customer_updates(case=opted_out, enabled=False)
    closed = make_case("c@example.com")
    services.change_case_status(case=closed, status=Case.Status.CLOSED, actor=None)
    publish_announcement(
        announcement=Announcement(
            slug="pagos", kind="incident", title_es="Pagos caídos", title_en="Payments down",
            body_es="x", body_en="x", areas=[reason.parent.code],
        ),
        actor=None,
    )  # fmt: skip

    services.lifecycle.tell_cases_about_incidents()
    services.lifecycle.tell_cases_about_incidents()

    told = OutgoingMessage.objects.filter(dedupe_key__startswith="incident:")
    assert list(told.values_list("recipient", flat=True)) == [affected.customer_email]
    assert "Pagos caídos" in told.get().body_text


def test_a_case_waiting_three_business_days_gets_one_reminder(make_case):
    case = make_case()
    services.change_case_status(case=case, status=Case.Status.WAITING_ON_CUSTOMER, actor=None)
    waiting_since = case.events.get(kind=CaseEvent.Kind.STATUS).created_at

    assert services.advance_idle_cases(now=waiting_since + timedelta(days=1))["reminded"] == 0
    assert services.advance_idle_cases(now=waiting_since + timedelta(days=7))["reminded"] == 1
    assert services.advance_idle_cases(now=waiting_since + timedelta(days=8))["reminded"] == 0
    reminder = OutgoingMessage.objects.get(dedupe_key__contains=":reminder:")
    assert "esperando tu respuesta" in reminder.subject
    assert outbox.link_placeholder("case", case.pk) in reminder.body_text
