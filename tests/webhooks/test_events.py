"""Each event type, produced by the real service calls, reaches the endpoint signed (the
receiver verifies with the standardwebhooks library), written in the change's transaction."""

import pytest
from django.db import transaction

from cases.models import Case
from cases.services import lifecycle
from kb.services import articles
from notifications.services import announcements
from tests.factories import (
    AnnouncementFactory,
    ArticleFactory,
    CategoryFactory,
    ContactReasonFactory,
)
from tests.webhooks.conftest import deliver_pending
from webhooks import services
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db


def open_case() -> Case:
    return lifecycle.open_case(
        reason=ContactReasonFactory(code="pagos"),
        customer_email="ana@example.com",
        customer_name="Ana",
        language="es",
        subject="No puedo pagar",
        description="La tarjeta da error.",
    )


def test_every_event_type_reaches_the_endpoint_signed(endpoint, receiver):
    case = open_case()
    lifecycle.reply_to_customer(
        case=case, body="¿Qué error sale?", actor=None, status=Case.Status.WAITING_ON_CUSTOMER
    )
    lifecycle.add_customer_message(case=case, body="Sale «tarjeta rechazada».")
    lifecycle.change_case_status(case=case, status=Case.Status.RESOLVED, actor=None)
    lifecycle.rate_case(case=case, rating=5, comment="Rápido")
    notice = announcements.publish_announcement(
        announcement=AnnouncementFactory.build(), actor=None
    )
    announcements.post_update(
        announcement=notice,
        phase="identified",
        body_es="Lo tenemos.",
        body_en="Found it.",
        notify_subscribers=False,
        actor=None,
    )
    announcements.resolve_announcement(
        announcement=notice,
        body_es="Ya va.",
        body_en="Fixed.",
        notify_subscribers=False,
        actor=None,
    )
    articles.publish_article(
        article=ArticleFactory.build(category=CategoryFactory(), title="Pagar con Bizum"),
        actor=None,
    )

    outcomes = deliver_pending()

    assert outcomes["delivered"] == Delivery.objects.count() and not receiver.rejected
    types = [body["type"] for body in receiver.bodies]
    assert types == [
        "case.opened",
        "case.status_changed",  # received → waiting on customer (the reply)
        "case.customer_replied",
        "case.status_changed",  # waiting → in progress (the customer wrote)
        "case.status_changed",  # → resolved
        "case.rated",
        "announcement.published",
        "announcement.updated",
        "announcement.resolved",
        "article.published",
    ]
    by_type = {body["type"]: body["data"] for body in receiver.bodies}
    assert by_type["case.opened"]["case"]["reference"] == case.reference
    assert by_type["case.opened"]["case"]["customer"] == {"email": "ana@example.com", "name": "Ana"}
    assert by_type["case.customer_replied"]["message"]["body"] == "Sale «tarjeta rechazada»."
    assert by_type["case.status_changed"]["to_status"] == "resolved"
    assert (by_type["case.rated"]["rating"], by_type["case.rated"]["comment"]) == (5, "Rápido")
    assert by_type["announcement.resolved"]["announcement"]["resolved_at"]
    assert by_type["announcement.updated"]["update"]["body"] == {
        "es": "Lo tenemos.",
        "en": "Found it.",
    }
    assert by_type["article.published"]["article"]["title"] == "Pagar con Bizum"
    ids = receiver.ids()
    assert len(set(ids)) == len(ids) and all(webhook_id.startswith("msg_") for webhook_id in ids)


def test_publishing_an_article_again_is_not_a_new_event(endpoint):
    article = articles.publish_article(
        article=ArticleFactory.build(category=CategoryFactory()), actor=None
    )
    articles.publish_article(article=article, actor=None)

    assert Delivery.objects.filter(event_type="article.published").count() == 1


def test_a_rolled_back_change_leaves_no_delivery(endpoint):
    with pytest.raises(RuntimeError), transaction.atomic():
        open_case()
        raise RuntimeError("the request failed after opening the case")

    assert not Case.objects.exists()
    assert not Delivery.objects.exists()


def test_sending_is_queued_only_after_commit(endpoint, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        open_case()
        assert Delivery.objects.count() == 1

    assert len(callbacks) >= 1  # the delivery's task among the case's own


def test_the_events_of_one_transaction_are_queued_together(
    endpoint, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            services.record_event(event_type="case.rated", data={"n": 0})
            raise RuntimeError("a savepoint rolled back: its row and its queueing go")
        for number in range(1, 4):
            services.record_event(event_type="case.rated", data={"n": number})

    queued = [callback for callback in callbacks if isinstance(callback, services._Collected)]
    assert len(queued) == 1
    assert sorted(queued[0]) == sorted(Delivery.objects.values_list("pk", flat=True))
    assert Delivery.objects.count() == 3


def test_one_row_per_event_and_endpoint_only_for_subscribed_active_endpoints(endpoint, receiver):
    other = services.create_endpoint(
        name="Chat", url=receiver.url, event_types=["case.rated"], owner=None
    ).endpoint
    disabled = services.create_endpoint(
        name="Old", url=receiver.url, event_types=["case.opened"], owner=None
    ).endpoint
    Endpoint.objects.filter(pk=disabled.pk).update(disabled_at="2026-01-01T00:00Z")

    open_case()

    assert list(Delivery.objects.values_list("endpoint", flat=True)) == [endpoint.pk]
    assert not Delivery.objects.filter(endpoint=other).exists()


def test_the_body_is_frozen_when_the_event_happens(endpoint, receiver):
    case = open_case()
    Case.objects.filter(pk=case.pk).update(subject="Cambiado después")

    deliver_pending()

    assert receiver.bodies[0]["data"]["case"]["subject"] == "No puedo pagar"


def test_a_delivery_run_twice_is_posted_once(endpoint, receiver):
    open_case()
    delivery = Delivery.objects.get()

    assert services.deliver(delivery_id=delivery.pk) == "delivered"
    assert services.deliver(delivery_id=delivery.pk) == "skipped"

    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == (
        "delivered",
        1,
        204,
    )
    assert delivery.attempt_log.count() == 1


def test_the_secret_is_stored_encrypted_and_signs_what_the_receiver_verifies(endpoint, receiver):
    stored = Endpoint.objects.values_list("secret_encrypted", flat=True).get()
    assert receiver.secret.startswith("whsec_") and receiver.secret not in stored
    assert services.endpoint_secret(endpoint) == receiver.secret

    receiver.secret = services.new_secret()  # the receiver holds another secret
    open_case()
    deliver_pending()

    assert not receiver.received and len(receiver.rejected) == 1
    assert Delivery.objects.get().last_response_code == 400


def test_endpoints_must_be_http_and_public_unless_allowed(db, settings):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.check_url("ftp://example.com/hook")
    with pytest.raises(ValidationError):
        services.check_url("file:///etc/passwd")
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    for private in (
        "http://127.0.0.1:8000/",
        "http://10.0.0.5/",
        "http://[::1]/",
        "http://169.254.169.254/",
    ):
        with pytest.raises(ValidationError):
            services.check_url(private)
    services.check_url("https://93.184.215.14/hooks")  # a public address (never contacted)


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",  # 127.0.0.1 written as one decimal number
        "http://0x7f.1/",  # and in hex, shortened
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
        "http://[::ffff:7f00:1]/",
        "http://[::127.0.0.1]/",  # IPv4-compatible (deprecated, still parsed)
        "http://[::10.0.0.5]/",
        "http://[64:ff9b::127.0.0.1]/",  # NAT64's well-known prefix: a gateway reaches 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/",  # ... or the cloud's metadata service
        "http://[64:ff9b:1::a00:5]/",  # NAT64's local-use prefix: this network's own
        "http://[2002:7f00:1::]/",  # 6to4 wrapping 127.0.0.1
        "http://[2002:a00:5::1]/",  # 6to4 wrapping 10.0.0.5
        "http://[fe80::1%25eth0]/",  # link-local with a zone
        "http://[ff02::1]/",  # multicast
        "http://0.0.0.0/",
        "http://100.64.0.1/",  # carrier-grade NAT
    ],
)
def test_no_spelling_of_a_private_address_passes_for_a_public_one(db, settings, url):
    """IPv6 forms that carry an IPv4 address inside (mapped, compatible, NAT64, 6to4) are
    judged by the IPv4 address they lead to: Python calls ``::127.0.0.1`` or
    ``64:ff9b::7f00:1`` global, but a host or a NAT64 gateway takes them to loopback."""
    from django.core.exceptions import ValidationError

    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(ValidationError) as refused:
        services.check_url(url)
    assert refused.value.code in ("private", "unresolvable")


@pytest.mark.parametrize(
    "address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8", "2a00:1450:4001::1"]
)
def test_a_public_ipv4_address_in_ipv6_form_is_public(db, settings, address):
    """A DNS64 network answers public names with 64:ff9b:: addresses: those still go out."""
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    services.check_url(f"https://[{address}]/hooks")  # never contacted


def test_an_endpoint_address_holds_no_user_name_or_password(db):
    """A password in the URL was never sent (deliveries are signed, not logged in) and showed
    in the endpoint list and the delivery log to whoever may read them: refused, and said."""
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        services.check_url("https://crm:s3cret@93.184.215.14/hooks")
    assert refused.value.code == "credentials"
    with pytest.raises(ValidationError):
        services.check_url("https://crm@93.184.215.14/hooks")
