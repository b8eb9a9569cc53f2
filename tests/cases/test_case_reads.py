"""Reads and rules that only read (``cases.selectors``), each at a moment the test chooses."""

from datetime import datetime, timedelta
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from cases import selectors, services
from cases.models import Case

pytestmark = pytest.mark.django_db
MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=MADRID)  # a Monday, within opening hours


def new_session():
    return import_module(settings.SESSION_ENGINE).SessionStore()


def test_a_case_can_be_reopened_for_14_days_after_it_was_solved(make_case):
    case = make_case()
    case.status, case.resolved_at = Case.Status.RESOLVED, NOW

    assert selectors.can_reopen(case, now=NOW + timedelta(days=settings.CASE_REOPEN_DAYS))
    assert not selectors.can_reopen(case, now=NOW + timedelta(days=15))
    case.status = Case.Status.IN_PROGRESS
    assert not selectors.can_reopen(case, now=NOW)


def test_the_expected_reply_time_of_an_active_reason(reason):
    expectation = selectors.contact_expectation(reason.pk, now=NOW)

    assert expectation == selectors.Expectation(
        reason=reason,
        first_response=datetime(2026, 12, 7, 14, 0, tzinfo=MADRID),
        resolution=datetime(2026, 12, 9, 18, 0, tzinfo=MADRID),
    )
    assert selectors.contact_expectation(None, now=NOW) is None
    reason.active = False
    reason.save()
    assert selectors.contact_expectation(reason.pk, now=NOW) is None


def test_a_session_opens_its_cases_for_as_long_as_its_grants_last(make_case):
    first, second = make_case(), make_case()
    session = new_session()
    services.grant_session_access(session, first, now=NOW)
    services.grant_session_access(session, second, now=NOW + timedelta(minutes=1))
    later = NOW + timedelta(hours=1)
    too_late = NOW + timedelta(hours=settings.CASE_SESSION_HOURS, minutes=2)

    assert selectors.has_case_grants(session)
    assert selectors.session_case_ids(session, now=later) == [second.pk, first.pk]
    assert len(selectors.session_token_ids(session, now=later)) == 2
    assert selectors.known_customer_case(session, now=later) == second
    assert selectors.case_for_session(session, first.reference.lower(), now=later) == first
    assert selectors.session_case_ids(session, now=too_late) == []
    assert selectors.case_for_session(session, first.reference, now=too_late) is None
    assert selectors.known_customer_case(session, now=too_late) is None


def test_a_revoked_link_ends_the_grant_it_opened(make_case):
    case = make_case()
    session = new_session()
    services.grant_session_access(session, case, now=NOW)

    services.revoke_links(case=case, now=NOW + timedelta(minutes=1))

    later = NOW + timedelta(minutes=2)
    assert selectors.session_case_ids(session, now=later) == []
    assert selectors.case_for_session(session, case.reference, now=later) is None


def test_an_empty_or_malformed_session_opens_nothing(make_case):
    session = new_session()
    assert not selectors.has_case_grants(session)
    assert selectors.known_customer_case(session, now=NOW) is None

    session[selectors.SESSION_KEY] = [make_case().pk, "x", [1, 2]]  # an older format
    assert selectors.session_grants(session) == []
    assert selectors.session_case_ids(session, now=NOW) == []
