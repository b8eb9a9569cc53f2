"""Requests for case links are rows: a down broker or a lost task loses none."""

import logging
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cases import services, tasks
from cases.models import CaseAccessToken, CaseLinkRequest
from cases.services import link_requests
from notifications.models import OutgoingMessage
from tests.conftest import broker_unreachable, wait_for

pytestmark = pytest.mark.django_db


def link_emails(email: str = "ana@example.com"):
    return OutgoingMessage.objects.filter(recipient=email, dedupe_key__startswith="case-links:")


def test_find_writes_the_request_in_the_request_and_queues_its_task_after_commit(
    make_case, django_capture_on_commit_callbacks
):
    case = make_case()

    with django_capture_on_commit_callbacks() as callbacks:
        response = Client().post(
            "/es/cases/find/", {"email": "ANA@example.com ", "reference": case.reference.lower()}
        )

    assert response.status_code == 200
    # The row is written in the request's transaction; its task is sent only once that
    # transaction commits (an on-commit callback, captured here and not run).
    assert len(callbacks) == 1
    row = CaseLinkRequest.objects.get()
    assert (row.email, row.reference, row.attempts) == ("ANA@example.com", case.reference, 1)
    assert not link_emails().exists()  # the lookup is the task's, not the page's


def test_every_request_is_recorded_and_answered_alike_whether_or_not_a_case_matches(
    make_case, django_capture_on_commit_callbacks
):
    case = make_case()
    strip = lambda html: re.sub(r"[A-Za-z0-9]{64}", "", html)  # noqa: E731 (CSRF tokens)

    with django_capture_on_commit_callbacks() as callbacks:
        known = Client().post("/es/cases/find/", {"email": case.customer_email})
        unknown = Client().post("/es/cases/find/", {"email": "nadie@example.com"})

    assert known.status_code == unknown.status_code == 200
    assert strip(known.text) == strip(unknown.text)
    assert len(callbacks) == 2
    assert sorted(CaseLinkRequest.objects.values_list("email", flat=True)) == [
        "ana@example.com",
        "nadie@example.com",
    ]


def test_an_expired_link_records_a_request_for_its_case_without_showing_the_email(
    client, make_case, django_capture_on_commit_callbacks
):
    case = make_case()
    url = services.issue_access_link(case=case)
    CaseAccessToken.objects.update(expires_at=timezone.now())
    token = url.rstrip("/").rsplit("/", 1)[1]

    with django_capture_on_commit_callbacks() as callbacks:
        renewed = client.post(f"/es/cases/access/{token}/renew/")
        garbage = client.post(f"/es/cases/access/{'x' * 43}/renew/")

    assert renewed.status_code == garbage.status_code == 200
    strip = lambda html: re.sub(r"[A-Za-z0-9]{64}", "", html)  # noqa: E731 (CSRF tokens)
    # Only the URL that was posted to is echoed (in the language switcher).
    assert strip(renewed.text).replace(token, "X") == strip(garbage.text).replace("x" * 43, "X")
    assert case.customer_email not in renewed.text
    row = CaseLinkRequest.objects.get()  # a token that opens nothing has no email to send to
    assert (row.email, row.reference) == (case.customer_email, case.reference)
    assert len(callbacks) == 1


def test_the_task_run_twice_sends_one_email_and_leaves_no_address_behind(make_case):
    case = make_case()
    tokens = CaseAccessToken.objects.count()
    request = services.request_case_links(email="ana@example.com", reference=case.reference)

    tasks.answer_case_link_request(request.pk)
    tasks.answer_case_link_request(request.pk)

    assert link_emails().count() == 1
    # The link is minted when the one email is sent, not when it is queued.
    assert CaseAccessToken.objects.count() == tokens
    assert case.reference in link_emails().get().body_text
    assert not CaseLinkRequest.objects.exists()


def test_a_request_that_matches_nothing_sends_nothing_and_keeps_nothing():
    request = services.request_case_links(email="nadie@example.com")

    assert services.answer_case_link_request(request_id=request.pk) == 0
    assert not OutgoingMessage.objects.exists()
    assert not CaseLinkRequest.objects.exists()


def test_sweeper_requeues_what_a_lost_task_left_with_a_growing_wait(
    django_capture_on_commit_callbacks,
):
    request = services.request_case_links(email="ana@example.com")
    now = timezone.now()

    assert services.requeue_case_link_requests(now=now) == 0  # its task may still be coming
    later = now + link_requests.SWEEP_AFTER
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.requeue_case_link_requests(now=later) == 1
    assert len(callbacks) == 1
    request.refresh_from_db()
    assert request.attempts == 2
    assert request.next_attempt_at == later + 2 * link_requests.SWEEP_AFTER
    assert services.requeue_case_link_requests(now=later + link_requests.SWEEP_AFTER) == 0


def test_sweeper_stops_after_the_last_attempt_and_then_drops_the_address(caplog):
    request = services.request_case_links(email="ana@example.com")
    CaseLinkRequest.objects.update(attempts=link_requests.MAX_ATTEMPTS)
    later = timezone.now() + timedelta(hours=2)

    assert services.requeue_case_link_requests(now=later) == 0
    assert CaseLinkRequest.objects.filter(pk=request.pk).exists()  # a queued task may still run

    caplog.set_level(logging.ERROR)
    services.requeue_case_link_requests(now=timezone.now() + link_requests.ABANDON_AFTER)
    assert not CaseLinkRequest.objects.exists()
    assert "Dropped 1 case link requests" in caplog.text
    assert "ana@example.com" not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_find_my_case_with_the_broker_down_is_emailed_once_the_sweeper_runs(
    celery_worker, smtp_server, make_case, caplog
):
    sink, _ = smtp_server
    sink.clear()
    case = make_case()
    wait_for(lambda: "ana@example.com" in sink.recipients())  # the "case opened" email
    sink.clear()

    with broker_unreachable():
        response = Client().post(
            "/es/cases/find/", {"email": "ana@example.com", "reference": case.reference}
        )

    assert response.status_code == 200
    assert "Could not queue cases.tasks.answer_case_link_request" in caplog.text
    assert CaseLinkRequest.objects.filter(email="ana@example.com").exists()

    # The broker is back; the beat sweeper runs a couple of minutes later.
    assert services.requeue_case_link_requests(now=timezone.now() + link_requests.SWEEP_AFTER) == 1

    wait_for(lambda: sink.recipients() == ["ana@example.com"], timeout=60)
    body = sink.messages[0].get_body(("plain",)).get_content()
    assert case.reference in body and "/cases/access/" in body
    wait_for(lambda: not CaseLinkRequest.objects.exists())
