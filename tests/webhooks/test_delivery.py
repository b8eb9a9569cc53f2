"""Retries and back-off, the day-long failure that disables an endpoint (and emails its
owner through the outbox), the sweeper, and the admin: registration and redelivery."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from notifications.models import OutgoingMessage
from notifications.services.webhook_owners import tell_owners_of_disabled_webhooks
from tests.conftest import wait_for
from tests.factories import StaffFactory, grant
from tests.harness import free_port
from tests.webhooks.conftest import deliver_pending
from tests.webhooks.test_events import open_case
from webhooks import services
from webhooks.models import Delivery, DisabledReason, Endpoint
from webhooks.services import DELIVER_BATCH_TASK

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_failures_are_retried_on_the_schedule_then_the_delivery_fails(endpoint, receiver):
    receiver.answer = 503
    with time_machine.travel(START, tick=False) as clock:
        open_case()
        delivery = Delivery.objects.get()
        assert services.deliver(delivery_id=delivery.pk) == "retry"
        for wait in services.RETRY_SCHEDULE:
            delivery.refresh_from_db()
            assert delivery.next_attempt_at == timezone.now() + wait
            assert services.deliver(delivery_id=delivery.pk) == "skipped"  # not due yet
            clock.shift(wait)
            if wait <= services.PROMPT_RETRY_WITHIN:
                # Queued for its moment when the attempt failed: the sweeper leaves it alone.
                assert services.requeue_due_deliveries() == 0
            else:
                assert services.requeue_due_deliveries() == 1  # the beat queues the retry
                assert services.requeue_due_deliveries() == 0  # once
            outcome = services.deliver(delivery_id=delivery.pk)
        assert outcome == "failed"

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", services.MAX_ATTEMPTS)
    assert delivery.last_error == "HTTP 503" and delivery.attempt_log.count() == 8
    assert set(receiver.ids()) == {delivery.event_id} and len(receiver.ids()) == 8


def test_a_prompt_retry_is_queued_for_its_moment_and_swept_only_if_lost(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    receiver.answer = 503
    with time_machine.travel(START, tick=False) as clock:
        open_case()
        delivery = Delivery.objects.get()
        with django_capture_on_commit_callbacks() as callbacks:
            assert services.deliver(delivery_id=delivery.pk) == "retry"
        # The one task, for the retry's moment (5 s), not for the sweeper's next round.
        (queued,) = [callback.args for callback in callbacks]
        assert queued == (services.DELIVER_TASK, (delivery.pk,), {}, START + timedelta(seconds=5))

        clock.shift(timedelta(seconds=5))
        assert services.requeue_due_deliveries() == 0  # the eta task is on its way
        clock.shift(services.SWEEP_GRACE)  # ... or was lost with a worker: the sweeper's
        assert services.requeue_due_deliveries() == 1
        assert services.requeue_due_deliveries() == 0
        receiver.answer = 204
        assert services.deliver(delivery_id=delivery.pk) == "delivered"
        assert services.deliver(delivery_id=delivery.pk) == "skipped"  # its second task
    assert len(receiver.ids()) == 2


def test_a_retry_that_succeeds_is_delivered_and_the_endpoint_is_healthy_again(endpoint, receiver):
    receiver.answer = 500
    with time_machine.travel(START, tick=False) as clock:
        open_case()
        deliver_pending()
        assert Endpoint.objects.get().failing_since == START
        receiver.answer = 200
        clock.shift(timedelta(seconds=5))
        assert deliver_pending()["delivered"] == 1

    assert Endpoint.objects.get().failing_since is None
    assert [attempt.response_code for attempt in Delivery.objects.get().attempt_log.all()] == [
        200,
        500,
    ]


def test_an_endpoint_failing_for_a_day_is_disabled_and_its_owner_emailed_once(endpoint, receiver):
    receiver.answer = 500
    with time_machine.travel(START, tick=False) as clock:
        open_case()
        deliver_pending()
        clock.shift(timedelta(hours=23))
        open_case()
        deliver_pending()
        assert Endpoint.objects.get().disabled_at is None  # 23 hours: not yet
        clock.shift(timedelta(hours=1, seconds=1))
        open_case()
        deliver_pending()

        endpoint.refresh_from_db()
        assert endpoint.disabled_at == timezone.now()
        assert endpoint.disabled_reason_code == "failing"
        assert endpoint.disabled_reason_params == {"hours": 24}
        assert not Delivery.objects.filter(status="pending").exists()  # the rest failed
        open_case()
        assert Delivery.objects.count() == 3  # a disabled endpoint gets no new rows

        assert tell_owners_of_disabled_webhooks() == 1
        assert tell_owners_of_disabled_webhooks() == 0

    email = OutgoingMessage.objects.get(recipient="integraciones@example.com")
    assert "CRM" in email.subject and endpoint.url in email.body_text
    assert f"/admin/webhooks/endpoint/{endpoint.pk}/change/" in email.body_text
    assert email.language == "es"  # the endpoint's language, Spanish unless chosen
    assert "todas las entregas fallaron durante 24 horas" in email.body_text


def test_the_owner_is_written_to_in_the_endpoints_language(endpoint):
    Endpoint.objects.filter(pk=endpoint.pk).update(language="en")
    services.disable_endpoint(
        endpoint_id=endpoint.pk,
        reason=DisabledReason.FAILING,
        reason_params={"hours": 24},
        tell_owner=True,
        now=START,
    )

    assert tell_owners_of_disabled_webhooks() == 1
    email = OutgoingMessage.objects.get()
    assert email.language == "en"
    assert email.subject == "Webhook endpoint “CRM” was disabled"
    assert "was disabled on " in email.body_text
    assert ": every delivery failed for 24 hours." in email.body_text


def test_enabling_again_starts_afresh(endpoint, receiver):
    services.disable_endpoints(endpoint_ids=[endpoint.pk])
    assert tell_owners_of_disabled_webhooks() == 0  # staff disabled it: nobody to warn
    services.enable_endpoints(endpoint_ids=[endpoint.pk])

    open_case()
    assert deliver_pending()["delivered"] == 1


def test_sweeper_queues_what_a_lost_task_left_and_a_killed_worker_held(endpoint, receiver):
    with time_machine.travel(START, tick=False) as clock:
        open_case()
        open_case()
        lost, held = Delivery.objects.order_by("pk")
        Delivery.objects.filter(pk=held.pk).update(
            status="sending", sending_started_at=timezone.now(), attempts=1
        )
        assert services.requeue_due_deliveries() == 0  # the live tasks get their time
        assert services.deliver(delivery_id=held.pk) == "skipped"  # another worker holds it
        clock.shift(services.SENDING_LEASE + timedelta(seconds=1))
        assert services.requeue_due_deliveries() == 2
        assert services.requeue_due_deliveries() == 0
        assert services.deliver_many(delivery_ids=[lost.pk, held.pk])["delivered"] == 2

    assert sorted(receiver.ids()) == sorted([lost.event_id, held.event_id])


@pytest.fixture
def admin_client(client):
    admin = StaffFactory(email="jefa@example.com")
    grant(
        admin,
        "webhooks.add_endpoint",
        "webhooks.change_endpoint",
        "webhooks.view_endpoint",
        "webhooks.view_delivery",
        "webhooks.change_delivery",
    )
    client.force_login(admin)
    client.admin = admin
    return client


def test_staff_register_an_endpoint_and_see_its_secret_once(admin_client, receiver):
    response = admin_client.post(
        "/admin/webhooks/endpoint/add/",
        {
            "name": "CRM",
            "url": receiver.url,
            "event_types": ["case.opened", "case.rated"],
            "language": "es",
        },
    )

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    secret = re.search(r'value="(whsec_[^"]+)"', response.text).group(1)
    endpoint = Endpoint.objects.get()
    assert endpoint.event_types == ["case.opened", "case.rated"]
    assert endpoint.owner == admin_client.admin  # whoever registered it, by default
    assert secret not in admin_client.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/").text

    receiver.secret = secret
    open_case()
    deliver_pending()
    assert [body["type"] for body in receiver.bodies] == ["case.opened"]


def test_a_new_endpoint_is_in_the_language_of_who_registers_it(admin_client, receiver):
    english = admin_client.get("/admin/webhooks/endpoint/add/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<option value="en" selected>' in english.text
    spanish = admin_client.get("/admin/webhooks/endpoint/add/", HTTP_ACCEPT_LANGUAGE="es")
    assert '<option value="es" selected>' in spanish.text

    admin_client.post(
        "/admin/webhooks/endpoint/add/",
        {"name": "CRM", "url": receiver.url, "event_types": ["case.opened"], "language": "en"},
        HTTP_ACCEPT_LANGUAGE="es",
    )
    endpoint = Endpoint.objects.get()
    assert endpoint.language == "en"  # what the form said: it can be changed

    admin_client.post(
        f"/admin/webhooks/endpoint/{endpoint.pk}/change/",
        {
            "name": "CRM",
            "url": receiver.url,
            "event_types": ["case.opened"],
            "owner": admin_client.admin.pk,
            "language": "es",
        },
    )
    endpoint.refresh_from_db()
    assert endpoint.language == "es"


@pytest.mark.parametrize(
    ("language", "failing", "staff"),
    [
        ("es", "todas las entregas fallaron durante 24 horas", "desactivado por el equipo"),
        ("en", "every delivery failed for 24 hours", "disabled by staff"),
    ],
)
def test_why_an_endpoint_was_disabled_is_said_in_the_readers_language(
    admin_client, receiver, language, failing, staff
):
    failed = services.create_endpoint(
        name="CRM", url=receiver.url, event_types=["case.opened"], owner=None
    ).endpoint
    stopped = services.create_endpoint(
        name="ERP", url=receiver.url, event_types=["case.opened"], owner=None
    ).endpoint
    services.disable_endpoint(
        endpoint_id=failed.pk,
        reason=DisabledReason.FAILING,
        reason_params={"hours": 24},
        tell_owner=True,
    )
    services.disable_endpoints(endpoint_ids=[stopped.pk])

    for endpoint, reason in ((failed, failing), (stopped, staff)):
        page = admin_client.get(
            f"/admin/webhooks/endpoint/{endpoint.pk}/change/", HTTP_ACCEPT_LANGUAGE=language
        )
        assert page.status_code == 200 and reason in page.text

    services.enable_endpoints(endpoint_ids=[failed.pk])
    failed.refresh_from_db()
    assert (failed.disabled_reason_code, failed.disabled_reason_params) == ("", {})


def test_a_private_address_is_refused_in_the_admin(admin_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = admin_client.post(
        "/admin/webhooks/endpoint/add/",
        {"name": "Intranet", "url": "http://127.0.0.1:9/", "event_types": ["case.opened"]},
    )

    assert response.status_code == 200 and not Endpoint.objects.exists()
    assert "private network" in response.text or "red privada" in response.text


def test_a_new_secret_is_shown_once_and_signs_from_then_on(admin_client, endpoint, receiver):
    response = admin_client.post(f"/admin/webhooks/endpoint/{endpoint.pk}/rotate-secret/")

    receiver.secret = re.search(r'value="(whsec_[^"]+)"', response.text).group(1)
    open_case()
    assert deliver_pending()["delivered"] == 1


def test_redeliver_from_the_admin_sends_again_once(admin_client, endpoint, receiver):
    open_case()
    deliver_pending()
    delivery = Delivery.objects.get()
    action = {"action": "redeliver", "_selected_action": [delivery.pk]}

    admin_client.post("/admin/webhooks/delivery/", action)
    admin_client.post("/admin/webhooks/delivery/", action)  # asked twice before it left
    deliver_pending()

    assert receiver.ids() == [delivery.event_id, delivery.event_id]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_log.count()) == ("delivered", 2)
    page = admin_client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/")
    assert page.status_code == 200 and delivery.event_id in page.text


def test_the_delivery_log_filters_by_status_endpoint_and_event(admin_client, endpoint):
    open_case()
    for query in (
        "status__exact=pending",
        f"endpoint__id__exact={endpoint.pk}",
        "event_type=case.opened",
    ):
        page = admin_client.get(f"/admin/webhooks/delivery/?{query}")
        assert page.status_code == 200 and "case.opened" in page.text


def test_old_delivered_and_failed_rows_leave_the_log(endpoint, receiver, settings):
    settings.WEBHOOKS_LOG_RETENTION_DAYS = 30
    with time_machine.travel(START, tick=False) as clock:
        open_case()
        deliver_pending()
        open_case()  # still pending: kept, whatever its age
        clock.shift(timedelta(days=31))
        open_case()
        recent = Delivery.objects.latest("pk")
        services.deliver(delivery_id=recent.pk)

        assert services.purge_old_deliveries() == 1
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["delivered", "pending"]
    assert Delivery.objects.filter(pk=recent.pk).exists()


def test_an_endpoint_that_does_not_answer_is_a_failed_attempt_in_words(db, receiver):
    from tests.harness import free_port

    services.create_endpoint(
        name="Apagado",
        url=f"http://127.0.0.1:{free_port()}/hooks/",
        event_types=["case.opened"],
        owner=None,
    )
    open_case()

    assert deliver_pending()["retry"] == 1
    delivery = Delivery.objects.get()
    assert delivery.last_error.startswith("NewConnectionError: Failed to establish")
    assert delivery.last_response_code is None and delivery.status == "pending"


def test_a_receiver_too_slow_to_answer_is_a_failed_attempt(endpoint, receiver, settings):
    settings.WEBHOOKS_READ_TIMEOUT = 0.3
    receiver.delay = 1.0
    open_case()

    assert deliver_pending()["retry"] == 1
    assert Delivery.objects.get().last_error.startswith("timed out")
    # The receiver took it all the same, late: its webhook-id is how it knows the retry.
    wait_for(lambda: receiver.ids() == [Delivery.objects.get().event_id], timeout=10)


def test_a_secret_that_cannot_be_decrypted_sends_nothing_unsigned(endpoint, receiver, settings):
    settings.WEBHOOKS_ENCRYPTION_KEY = "x" * 43 + "="  # another key: the old secret is unreadable
    open_case()

    assert deliver_pending()["retry"] == 1
    assert not receiver.received
    assert Delivery.objects.get().last_error == "secret_unreadable"  # in the reader's words


@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_the_stored_sentences_into_codes():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("webhooks", "0001_initial")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    OldEndpoint = executor.loader.project_state(before).apps.get_model("webhooks", "Endpoint")
    for name, reason in (
        ("a", "todas las entregas fallaron durante 24 horas"),
        ("b", "every delivery failed for 24 hours"),
        ("c", "desactivado por el equipo"),
        ("d", "por otra cosa"),
        ("e", ""),
    ):
        OldEndpoint.objects.create(
            name=name,
            url="https://example.com/",
            secret_encrypted="-",
            disabled_at=START if reason else None,
            disabled_reason=reason,
        )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert {
        endpoint.name: (endpoint.disabled_reason_code, endpoint.disabled_reason_params)
        for endpoint in Endpoint.objects.all()
    } == {
        "a": ("failing", {"hours": 24}),
        "b": ("failing", {"hours": 24}),
        "c": ("staff", {}),
        "d": ("", {"text": "por otra cosa"}),
        "e": ("", {}),
    }
    assert Endpoint.objects.get(name="d").language == "es"


def test_a_chunk_holds_one_endpoints_rows_so_a_slow_one_holds_up_only_its_own(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    """Posted one after another, a chunk behind an endpoint that times out on every row would
    make every other endpoint wait; chunks are made per endpoint."""
    slow = services.create_endpoint(
        name="ERP", url=receiver.url + "slow/", event_types=["case.opened"], owner=None
    ).endpoint
    for _ in range(3):
        open_case()
    ids = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))
    assert len(ids) == 6

    # What the commit, or the sweeper, does with them.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.queue_deliveries(ids)

    chunks = [callback.args[1][0] for callback in queued if callback.args[0] == DELIVER_BATCH_TASK]
    assert len(chunks) == 2
    by_chunk = [
        set(Delivery.objects.filter(pk__in=ids).values_list("endpoint", flat=True))
        for ids in chunks
    ]
    assert sorted(by_chunk, key=min) == [{endpoint.pk}, {slow.pk}]
    assert sorted(pk for ids in chunks for pk in ids) == sorted(
        Delivery.objects.values_list("pk", flat=True)
    )


def test_an_endpoint_that_does_not_answer_rests_instead_of_a_timeout_per_delivery(
    endpoint, receiver, django_capture_on_commit_callbacks
):
    """An endpoint that is down would cost every delivery its own timeout, one after another,
    holding a worker all along: after one attempt with no answer at all, its other deliveries
    wait for that attempt's retry, and the first answer ends the wait."""
    created = services.create_endpoint(
        name="ERP", url=f"http://127.0.0.1:{free_port()}/hooks/", event_types=["case.opened"],
        owner=None,
    )  # fmt: skip
    down = created.endpoint
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(4):
            open_case()
        outcomes = deliver_pending()

        # One attempt to the endpoint that is down; the healthy one got all four at once.
        assert outcomes == {"delivered": 4, "retry": 1, "failed": 0, "postponed": 3, "skipped": 0}
        assert len(receiver.ids()) == 4
        down.refresh_from_db()
        waiting = Delivery.objects.filter(endpoint=down)
        assert down.resting_until == START + services.RETRY_SCHEDULE[0]
        assert sorted(waiting.values_list("attempts", flat=True)) == [0, 0, 0, 1]
        assert set(waiting.values_list("next_attempt_at", flat=True)) == {down.resting_until}

        # Its retry is still refused: the rest grows with the back-off, still one attempt.
        clock.shift(services.RETRY_SCHEDULE[0])
        assert deliver_pending() == {
            "delivered": 0, "retry": 1, "failed": 0, "postponed": 3, "skipped": 0
        }  # fmt: skip
        down.refresh_from_db()
        assert down.resting_until == timezone.now() + services.RETRY_SCHEDULE[1]
        assert sorted(waiting.values_list("attempts", flat=True)) == [0, 0, 0, 2]

        # It answers again: its retry is delivered, the rest ends, and what waited for it is
        # queued at once (not at the sweeper's next pass).
        Endpoint.objects.filter(pk=down.pk).update(url=receiver.url)
        receiver.secret = created.secret  # the receiver checks this endpoint's signatures now
        clock.shift(services.RETRY_SCHEDULE[1])
        (probe,) = waiting.filter(attempts=2)
        with django_capture_on_commit_callbacks() as queued:
            assert services.deliver(delivery_id=probe.pk) == "delivered"
        down.refresh_from_db()
        assert down.resting_until is None and down.failing_since is None
        (chunk,) = [callback.args[1][0] for callback in queued]
        assert sorted(chunk) == sorted(waiting.exclude(pk=probe.pk).values_list("pk", flat=True))
        assert services.deliver_many(delivery_ids=chunk)["delivered"] == 3
    assert waiting.filter(status="delivered").count() == 4


def test_an_endpoint_answering_errors_does_not_rest(endpoint, receiver):
    """An answer, even an error, is an endpoint that is up: each delivery gets its attempt
    (and its own back-off), as the Standard Webhooks schedule says."""
    receiver.answer = 503
    for _ in range(3):
        open_case()

    assert deliver_pending()["retry"] == 3
    endpoint.refresh_from_db()
    assert endpoint.resting_until is None


def test_redelivering_from_the_admin_tries_at_once_even_while_the_endpoint_rests(
    admin_client, endpoint, receiver
):
    open_case()
    deliver_pending()
    delivery = Delivery.objects.get()
    Endpoint.objects.filter(pk=endpoint.pk).update(
        resting_until=timezone.now() + timedelta(hours=2)
    )

    assert services.redeliver(delivery_ids=[delivery.pk]) == 1
    assert services.deliver(delivery_id=delivery.pk) == "delivered"
    assert len(receiver.ids()) == 2
