"""One service decides what a contact form submission needs: ``services.submit_contact``."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from cases import selectors, services
from cases.models import Case, CaseEvent, CaseLinkRequest, Deflection
from cases.services import ContactOutcome, DuplicateChoice
from cases.services.contact import STATUS_QUESTION_MAX_CHARACTERS

pytestmark = pytest.mark.django_db
MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=MADRID)  # a Monday, within opening hours
Kind = ContactOutcome.Kind


def submit(reason, **overrides) -> ContactOutcome:
    values = {
        "reason": reason,
        "subject": "Mi tarjeta falla",
        "description": "Error 402 al pagar",
        "name": "Ana",
        "email": "ana@example.com",
        "language": "es",
        "address_key": "203.0.113.7",
        "now": NOW,
    }
    return services.submit_contact(**{**values, **overrides})


def test_a_new_question_opens_a_case_due_within_opening_hours(reason):
    outcome = submit(reason)

    case = Case.objects.get()
    assert outcome == ContactOutcome(Kind.OPENED, case=case) and not outcome.deflected
    assert case.created_at == NOW
    assert (case.first_response_due, case.resolution_due) == selectors.due_dates(reason, NOW)
    assert case.first_response_due == datetime(2026, 12, 7, 14, 0, tzinfo=MADRID)  # 4 hours
    assert not Deflection.objects.exists()


def test_a_short_message_naming_a_case_gets_its_link_instead_of_a_new_case(
    reason, make_case, django_capture_on_commit_callbacks
):
    existing = make_case()

    with django_capture_on_commit_callbacks() as callbacks:
        outcome = submit(
            reason, subject=f"¿Cómo va {existing.reference.lower()}?", description="¿Novedades?"
        )

    assert outcome == ContactOutcome(Kind.STATUS_LINK_SENT) and outcome.deflected
    assert Case.objects.count() == 1
    link_request = CaseLinkRequest.objects.get()
    assert (link_request.email, link_request.reference, link_request.created_at) == (
        "ana@example.com",
        existing.reference,
        NOW,
    )
    deflection = Deflection.objects.get()
    assert (deflection.kind, deflection.reason, deflection.created_at) == (
        Deflection.Kind.STATUS_INQUIRY,
        reason,
        NOW,
    )
    assert len(callbacks) == 1  # the link's task, queued once the transaction commits


def test_a_long_message_naming_a_case_is_a_new_case(reason, make_case):
    existing = make_case()

    outcome = submit(
        reason, subject=existing.reference, description="x" * STATUS_QUESTION_MAX_CHARACTERS
    )

    assert outcome.kind == Kind.OPENED and Case.objects.count() == 2


def test_a_status_question_reason_never_opens_a_case(reason):
    reason.is_status_inquiry = True
    reason.save()

    outcome = submit(reason)

    assert outcome.kind == Kind.STATUS_LINK_SENT
    assert not Case.objects.exists()
    assert CaseLinkRequest.objects.get().reference == ""


def test_an_open_case_the_visitor_proved_is_theirs_is_offered_before_a_new_one(reason, make_case):
    existing = make_case()

    outcome = submit(reason, verified_case_ids=[existing.pk])

    assert outcome == ContactOutcome(Kind.DUPLICATE_FOUND, case=existing)
    assert Case.objects.count() == 1 and not Deflection.objects.exists()


def test_adding_the_message_to_the_open_case(reason, make_case):
    existing = make_case()

    outcome = submit(reason, verified_case_ids=[existing.pk], duplicate_choice=DuplicateChoice.ADD)

    assert outcome == ContactOutcome(Kind.ADDED_TO_CASE, case=existing) and outcome.deflected
    message = existing.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE)
    assert (message.body, message.created_at) == ("Mi tarjeta falla\n\nError 402 al pagar", NOW)
    assert Case.objects.count() == 1
    assert Deflection.objects.get().kind == Deflection.Kind.DUPLICATE


def test_it_is_something_else_opens_a_new_case(reason, make_case):
    existing = make_case()

    outcome = submit(reason, verified_case_ids=[existing.pk], duplicate_choice=DuplicateChoice.NEW)

    assert outcome.kind == Kind.OPENED and outcome.case != existing
    assert Case.objects.count() == 2


def test_open_cases_the_visitor_has_not_proved_are_never_mentioned(reason, make_case):
    make_case()  # ana@example.com's, but this visitor never opened its link
    closed = make_case()
    services.change_case_status(case=closed, status=Case.Status.CLOSED, actor=None)
    other = make_case("bea@example.com")

    outcome = submit(reason, verified_case_ids=[closed.pk, other.pk])

    assert outcome.kind == Kind.OPENED and Case.objects.count() == 4


def test_past_the_limits_nothing_is_done(reason):
    kinds = [submit(reason, email=f"x{number}@example.com").kind for number in range(5)]
    from_the_same_address = submit(reason, email="other@example.com")
    kinds += [submit(reason, address_key=f"198.51.100.{n}").kind for n in range(5)]
    for_the_same_email = submit(reason, address_key="192.0.2.1")

    assert kinds == [Kind.OPENED] * 10
    assert from_the_same_address == ContactOutcome(Kind.LIMITED)
    assert for_the_same_email == ContactOutcome(Kind.LIMITED)
    assert Case.objects.count() == 10
