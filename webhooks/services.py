"""Webhooks out: events recorded as delivery rows in the change's transaction, then posted
signed (Standard Webhooks) by workers, once each.

``record_event`` writes one ``Delivery`` per active endpoint subscribed to the event type, in
the caller's transaction (the rows exist if and only if the change committed), and queues
their sending after commit. ``deliver`` claims a row with one UPDATE whose WHERE says it is
still due (pending and due, or "sending" under a lease that ran out: a killed worker's), posts
it outside any transaction, and records the outcome: a delivered row is never claimed again.
Failures wait for the next step of ``RETRY_SCHEDULE``: a retry due within
``PROMPT_RETRY_WITHIN`` is queued for its moment as the attempt fails; the beat sweeper
(``requeue_due_deliveries``) queues the later ones as they fall due and what a lost task or a
down broker left behind. An endpoint that has failed every attempt for ``DISABLE_AFTER`` is
disabled (notifications emails its owner, see ``webhooks.selectors``).

A worker killed in the middle of a post leaves that one row "sending": the sweeper posts it
again after the lease, with the same ``webhook-id`` (the receiver may have had it: the spec's
receivers drop an id they have processed). No other row is posted twice.
"""

import base64
import functools
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import urllib3
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from foundation.i18n import Language
from foundation.queueing import enqueue_after_commit, enqueue_at_after_commit
from webhooks.models import (
    Attempt,
    Delivery,
    DeliveryError,
    DisabledReason,
    Endpoint,
    EventType,
)

# Queued by name (foundation.queueing): webhooks.tasks imports the services, never the reverse.
DELIVER_TASK = "webhooks.tasks.deliver_webhook"
DELIVER_BATCH_TASK = "webhooks.tasks.deliver_webhook_batch"
BATCH_SIZE = 200
# After attempt n fails, the next waits RETRY_SCHEDULE[n - 1] (the Standard Webhooks / Svix
# schedule): 8 attempts over about 27.5 hours; then the delivery has failed.
RETRY_SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
# A retry due this soon is queued for its moment (a Celery eta) when the attempt fails: the
# sweeper's 30-second round would make "5 seconds" up to 35. Later retries are the sweeper's
# alone (an eta task lives in a worker's memory until it runs, and Redis hands one out again
# after its hour-long visibility timeout); it is also the backstop for a lost eta task.
PROMPT_RETRY_WITHIN = timedelta(minutes=5)
DISABLE_AFTER = timedelta(hours=24)
# How long a worker holds a claimed row; far above the request timeout. After it, the row is
# presumed to belong to a dead worker and is sent again.
SENDING_LEASE = timedelta(minutes=5)
# A pending row whose task has not run this long after it was due is presumed lost.
SWEEP_GRACE = timedelta(minutes=5)
SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
ERROR_LENGTH = 500


# --- Secrets ------------------------------------------------------------------------------------


@functools.cache
def _fernet(key: str) -> Fernet:
    if not key:
        # Derived from SECRET_KEY (changing it then makes the stored secrets unreadable: set
        # WEBHOOKS_ENCRYPTION_KEY to keep them across a SECRET_KEY rotation).
        digest = hashlib.sha256(b"helpcenter.webhooks.secrets:" + settings.SECRET_KEY.encode())
        key = base64.urlsafe_b64encode(digest.digest()).decode()
    return Fernet(key)


def _cipher() -> Fernet:
    return _fernet(settings.WEBHOOKS_ENCRYPTION_KEY)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def endpoint_secret(endpoint: Endpoint) -> str:
    try:
        return _cipher().decrypt(endpoint.secret_encrypted.encode()).decode()
    except InvalidToken as error:
        raise ValueError(f"endpoint {endpoint.pk}: its secret cannot be decrypted") from error


def sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,`` and base64 HMAC-SHA256 of "id.timestamp.body"
    keyed with the secret's bytes (the base64 after ``whsec_``)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


# --- Endpoints ----------------------------------------------------------------------------------


# IPv6 prefixes whose last 32 bits are an IPv4 address the packet is taken to: NAT64's
# well-known prefix (RFC 6052) and IPv4-compatible addresses (deprecated, still routed by some
# stacks). NAT64's local-use prefix (RFC 8215) is this network's own: never public.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one leads to (mapped, compatible, NAT64, 6to4), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _address_allowed(address: str) -> bool:
    """A public unicast address; an IPv6 one that carries an IPv4 address is judged by that
    one too (Python calls ``::127.0.0.1`` and ``64:ff9b::7f00:1`` global: a host or a NAT64
    gateway takes them to loopback)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return False
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return inner.is_global and not inner.is_multicast
    return True


# socket.getaddrinfo's shape; an argument so tests can answer for a name without DNS.
Resolver = Callable[..., list[tuple]]


# A URL check's ValidationError code, as the delivery log stores it.
URL_CHECK_ERRORS = {
    "scheme": DeliveryError.URL_SCHEME,
    "unresolvable": DeliveryError.URL_UNRESOLVABLE,
    "private": DeliveryError.URL_PRIVATE,
}


def _check_scheme(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(DeliveryError.URL_SCHEME.label, code="scheme")


def _checked_addresses(url: str, *, resolver: Resolver = socket.getaddrinfo) -> list[str]:
    """The addresses of the URL's host, looked up once, each one checked (unless
    WEBHOOKS_ALLOW_PRIVATE_ADDRESSES): a post connects to one of these, never to what a
    second lookup might answer (DNS rebinding)."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = resolver(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError) as error:
        raise ValidationError(DeliveryError.URL_UNRESOLVABLE.label, code="unresolvable") from error
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not addresses or not (
        settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES or all(map(_address_allowed, addresses))
    ):
        raise ValidationError(DeliveryError.URL_PRIVATE.label, code="private")
    return addresses


def check_url(url: str, *, resolver: Resolver = socket.getaddrinfo) -> None:
    """Refuse what an endpoint must not be: not http(s), no host, a user name or password in
    it, or (unless WEBHOOKS_ALLOW_PRIVATE_ADDRESSES) a host that resolves to a loopback,
    private, link-local or otherwise non-public address: the site must not be made to post
    into its own network."""
    _check_scheme(url)
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        # Never sent (a delivery is signed, not logged in), and shown wherever the URL is.
        # Checked when an endpoint is saved: one saved before still posts as it did.
        raise ValidationError(
            _(
                "Leave the user name and password out of the address: the receiver checks "
                "each delivery's signature instead."
            ),
            code="credentials",
        )
    if not settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        _checked_addresses(url, resolver=resolver)


def _clean_event_types(event_types: list[str]) -> list[str]:
    unknown = set(event_types) - set(EventType.values)
    if unknown:
        raise ValidationError(_("Unknown event type."), code="event_type")
    return [value for value in EventType.values if value in event_types]


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: Endpoint
    secret: str  # shown once; only its encrypted form is stored


def create_endpoint(
    *,
    name: str,
    url: str,
    event_types: list[str],
    owner,
    language: str = Language.SPANISH,
    now: datetime | None = None,
) -> NewEndpoint:
    """Register an endpoint with a fresh signing secret (returned once, stored encrypted).
    Its owner is written to in ``language``."""
    check_url(url)
    secret = new_secret()
    endpoint = Endpoint.objects.create(
        name=name.strip(),
        url=url,
        event_types=_clean_event_types(event_types),
        secret_encrypted=_cipher().encrypt(secret.encode()).decode(),
        owner=owner if owner is not None and owner.is_authenticated else None,
        language=Language(language),
        created_at=now or timezone.now(),
    )
    return NewEndpoint(endpoint=endpoint, secret=secret)


def rotate_secret(*, endpoint: Endpoint) -> str:
    """A new signing secret (returned once); deliveries sent from now on are signed with it."""
    secret = new_secret()
    endpoint.secret_encrypted = _cipher().encrypt(secret.encode()).decode()
    Endpoint.objects.filter(pk=endpoint.pk).update(secret_encrypted=endpoint.secret_encrypted)
    return secret


def enable_endpoints(*, endpoint_ids: list[int]) -> int:
    """Staff turned these endpoints on again: their failing clock starts afresh."""
    return Endpoint.objects.filter(pk__in=endpoint_ids, disabled_at__isnull=False).update(
        disabled_at=None,
        disabled_reason_code="",
        disabled_reason_params={},
        failing_since=None,
        resting_until=None,
    )


@transaction.atomic
def disable_endpoint(
    *,
    endpoint_id: int,
    reason: DisabledReason,
    reason_params: dict | None = None,
    tell_owner: bool,
    now: datetime | None = None,
) -> bool:
    """Stop sending to an endpoint: its pending deliveries fail (staff may redeliver them once
    it is enabled again). With ``tell_owner`` its owner is emailed (notifications finds it
    through ``selectors.endpoints_disabled_untold``). Why is stored as ``reason`` and its
    JSON-safe ``reason_params``, said in each reader's language by
    ``selectors.disabled_reason_message``. Returns False if it was already disabled."""
    now = now or timezone.now()
    disabled = Endpoint.objects.filter(pk=endpoint_id, disabled_at__isnull=True).update(
        disabled_at=now,
        disabled_reason_code=DisabledReason(reason),
        disabled_reason_params=reason_params or {},
        owner_told_of=None if tell_owner else now,
    )
    if disabled:
        Delivery.objects.filter(endpoint_id=endpoint_id, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.FAILED, last_error=DeliveryError.ENDPOINT_DISABLED
        )
    return bool(disabled)


def disable_endpoints(*, endpoint_ids: list[int], now: datetime | None = None) -> int:
    return sum(
        disable_endpoint(endpoint_id=pk, reason=DisabledReason.STAFF, tell_owner=False, now=now)
        for pk in endpoint_ids
    )


def mark_owner_told(*, endpoint_id: int, disabled_at: datetime) -> None:
    """The owner was emailed about this disabling (notifications queued the email)."""
    Endpoint.objects.filter(pk=endpoint_id, disabled_at=disabled_at).update(
        owner_told_of=disabled_at
    )


# --- Events -------------------------------------------------------------------------------------


def new_event_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def record_event(*, event_type: str, data: dict, now: datetime | None = None) -> str | None:
    """Write the event's deliveries (one per active endpoint subscribed to ``event_type``) in
    the current transaction, with the body frozen now, and queue their sending after commit.

    Returns the event id, or None when no endpoint wants it (nothing is written).
    """
    EventType(event_type)  # a typo is a programming error
    endpoints = [
        pk
        for pk, types in Endpoint.objects.filter(disabled_at__isnull=True).values_list(
            "pk", "event_types"
        )
        if event_type in types
    ]
    if not endpoints:
        return None
    now = now or timezone.now()
    event_id = new_event_id()
    body = json.dumps(
        {"type": event_type, "timestamp": now.isoformat(), "data": data},
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            endpoint_id=pk,
            event_id=event_id,
            event_type=event_type,
            body=body,
            created_at=now,
            next_attempt_at=now,
        )
        for pk in endpoints
    )
    _queue_after_commit([delivery.pk for delivery in deliveries])
    return event_id


class _Collected(list):
    """The deliveries written in one transaction, queued together when it commits."""

    def __call__(self) -> None:
        queue_deliveries(list(self))


def _queue_after_commit(delivery_ids: list[int]) -> None:
    """Queue the sending of these rows after commit, in chunks per transaction: a transaction
    that records many events (a bulk import, a beat job) sends a few tasks, not one each (a
    worker takes one task at a time from the broker, and each take costs a poll).

    The collecting callback is reused while Django still holds it for this transaction
    (``run_on_commit``); a savepoint rolled back drops it with its rows, and the next rows get
    a new one. Ids of rows a rolled-back savepoint removed, left in a surviving callback, are
    skipped by ``deliver`` (no such row); anything else lost is the sweeper's.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        queue_deliveries(delivery_ids)
        return
    collected = getattr(connection, "_webhook_deliveries", None)
    if collected is None or not any(
        callback is collected for _sids, callback, _robust in connection.run_on_commit
    ):
        collected = connection._webhook_deliveries = _Collected()
        transaction.on_commit(collected)
    collected.extend(delivery_ids)


# --- Sending ------------------------------------------------------------------------------------


@functools.cache
def _pool() -> urllib3.PoolManager:
    # One per process (a worker's pool child), kept alive between deliveries.
    return urllib3.PoolManager(num_pools=50, maxsize=4, block=False)


def _due(now: datetime) -> Q:
    return Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Delivery.Status.SENDING, sending_started_at__lt=now - SENDING_LEASE
    )


def _claim(delivery_id: int, now: datetime) -> Delivery | None:
    """Take the row if it is still due, in one UPDATE (status checked in its WHERE): two
    workers racing for a row, or a task run twice, claim it once. Not while its endpoint
    rests (see ``_postpone_while_resting``)."""
    claimed = (
        Delivery.objects.filter(_due(now), pk=delivery_id)
        # A subquery on the endpoints, not a join: a join would move the status check into a
        # subquery of the UPDATE, which PostgreSQL does not check again on a row another
        # worker has just claimed.
        .exclude(endpoint_id__in=_resting_endpoints(now))
        .update(status=Delivery.Status.SENDING, sending_started_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return Delivery.objects.select_related("endpoint").get(pk=delivery_id)


def _postpone_while_resting(delivery_id: int, now: datetime) -> bool:
    """An endpoint that did not answer at all (refused, unreachable, timing out) rests until
    the attempt that failed is due again: its other due deliveries move to that moment
    without an attempt of their own, so an endpoint that is down costs one timeout per
    back-off step, not one per delivery, and holds up no worker. The sweeper takes them
    when the endpoint's rest is over; a delivered attempt ends the rest at once."""
    resting_until = Endpoint.objects.filter(
        pk=OuterRef("endpoint_id"), resting_until__gt=now
    ).values("resting_until")[:1]
    return bool(
        Delivery.objects.filter(
            pk=delivery_id,
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
            endpoint_id__in=_resting_endpoints(now),
        ).update(next_attempt_at=Subquery(resting_until))
    )


def _resting_endpoints(now: datetime) -> QuerySet:
    return Endpoint.objects.filter(resting_until__gt=now).values("pk")


@dataclass
class _Answer:
    code: int | None
    error: str


def _describe(error: Exception) -> str:
    """What went wrong, in words staff read in the delivery log."""
    text = str(error)
    if isinstance(error, urllib3.exceptions.NewConnectionError):  # a ConnectTimeoutError too
        text = text.split("): ", 1)[-1]  # not the connection object's repr
    elif isinstance(error, urllib3.exceptions.TimeoutError):
        return f"timed out ({type(error).__name__})"
    return f"{type(error).__name__}: {text}"


def _post_pinned(url: str, *, address: str, body: bytes, headers: dict[str, str]):
    """POST to ``url`` over a connection to ``address`` (one its host resolved to, checked),
    with the URL's host in the Host header, and for https in the TLS SNI and as the name the
    certificate must be valid for: urllib3 does not look the name up again."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    pool = _pool().connection_from_host(
        address,
        port=parts.port or (443 if https else 80),
        scheme=parts.scheme,
        # Part of the pool's key: one pool per (address, port, name).
        pool_kwargs={"server_hostname": parts.hostname, "assert_hostname": parts.hostname}
        if https
        else None,
    )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return pool.urlopen(
        "POST",
        target,
        body=body,
        headers={**headers, "Host": parts.netloc.rpartition("@")[2]},
        timeout=urllib3.Timeout(
            connect=settings.WEBHOOKS_CONNECT_TIMEOUT,
            read=settings.WEBHOOKS_READ_TIMEOUT,
            # A receiver that answers a byte at a time still ends within this.
            total=settings.WEBHOOKS_CONNECT_TIMEOUT + settings.WEBHOOKS_READ_TIMEOUT,
        ),
        retries=False,
        redirect=False,  # a redirect could point anywhere: it is a failure
        assert_same_host=False,
        preload_content=False,
    )


def _post(delivery: Delivery, *, secret: str, now: datetime, resolver: Resolver) -> _Answer:
    endpoint = delivery.endpoint
    body = delivery.body.encode()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "helpcenter-webhooks/1",
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(
            secret=secret, message_id=delivery.event_id, timestamp=timestamp, body=body
        ),
    }
    try:
        # Again at send time (the host's addresses may have changed), and the post goes to
        # an address this one lookup checked.
        _check_scheme(endpoint.url)
        addresses = _checked_addresses(endpoint.url, resolver=resolver)
        for position, address in enumerate(addresses, start=1):
            try:
                response = _post_pinned(endpoint.url, address=address, body=body, headers=headers)
                break
            except urllib3.exceptions.ConnectTimeoutError:  # refused, unreachable, no answer
                if position == len(addresses):  # the next address, as urllib3's own lookup
                    raise
        try:
            response.read(4096, decode_content=False)  # what a receiver says is not kept
        finally:
            response.release_conn()
    except ValidationError as error:
        # Its code, said in each reader's language in the log (the form says its message).
        return _Answer(None, URL_CHECK_ERRORS[error.code])
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as error:
        # Only the request's own errors: anything else (the task's time limit) goes up.
        return _Answer(None, _describe(error)[:ERROR_LENGTH])
    if 200 <= response.status < 300:
        return _Answer(response.status, "")
    return _Answer(response.status, f"HTTP {response.status}")


def _held(delivery: Delivery):
    """The row, as long as this worker still holds it (its claim, not a later one)."""
    return Delivery.objects.filter(
        pk=delivery.pk,
        status=Delivery.Status.SENDING,
        sending_started_at=delivery.sending_started_at,
    )


def _record_success(delivery: Delivery, answer: _Answer, now: datetime) -> None:
    # First the status (a crash after this posts nothing again), then the log.
    _held(delivery).update(
        status=Delivery.Status.DELIVERED,
        delivered_at=timezone.now(),
        last_response_code=answer.code,
        last_error="",
    )
    if delivery.endpoint.failing_since is not None or delivery.endpoint.resting_until:
        Endpoint.objects.filter(pk=delivery.endpoint_id).update(
            failing_since=None, resting_until=None
        )
    if delivery.endpoint.resting_until is not None:
        # It answers again: what waited for it leaves now, not at the sweeper's next pass.
        waiting = Delivery.objects.filter(
            endpoint_id=delivery.endpoint_id,
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
        ).order_by("pk")
        queue_deliveries(list(waiting.values_list("pk", flat=True)[:5000]))


def _record_failure(delivery: Delivery, answer: _Answer, now: datetime) -> str:
    endpoint = delivery.endpoint
    if delivery.attempts >= MAX_ATTEMPTS:
        fields = {"status": Delivery.Status.FAILED}
        outcome = "failed"
    else:
        wait = RETRY_SCHEDULE[delivery.attempts - 1]
        fields = {"status": Delivery.Status.PENDING, "next_attempt_at": now + wait}
        if wait <= PROMPT_RETRY_WITHIN:
            # Queued for that moment below: the sweeper leaves it alone unless the task is
            # lost (then it is SWEEP_GRACE late, as a lost first attempt is).
            fields["requeued_at"] = fields["next_attempt_at"]
        outcome = "retry"
    held = _held(delivery).update(
        last_response_code=answer.code, last_error=answer.error[:ERROR_LENGTH], **fields
    )
    if held and "requeued_at" in fields:
        # Sent twice (this and a sweeper's), it is still posted once: ``_claim``.
        enqueue_at_after_commit(fields["next_attempt_at"], DELIVER_TASK, delivery.pk)
    if held and answer.code is None and outcome == "retry":
        # No answer at all: the endpoint rests until this one tries again.
        Endpoint.objects.filter(pk=endpoint.pk).update(resting_until=fields["next_attempt_at"])
    if endpoint.failing_since is None:
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now
        )
    elif endpoint.failing_since <= now - DISABLE_AFTER:
        disable_endpoint(
            endpoint_id=endpoint.pk,
            reason=DisabledReason.FAILING,
            reason_params={"hours": int(DISABLE_AFTER.total_seconds() // 3600)},
            tell_owner=True,
            now=now,
        )
    return outcome


def _send_claimed(delivery: Delivery, now: datetime, resolver: Resolver) -> str:
    if not delivery.endpoint.is_active:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.FAILED, last_error=DeliveryError.ENDPOINT_DISABLED
        )
        return "failed"
    started = time.monotonic()
    try:
        secret = endpoint_secret(delivery.endpoint)
    except ValueError:
        # Nothing is posted unsigned: the attempt fails (and is retried) until staff act.
        answer = _Answer(None, DeliveryError.SECRET_UNREADABLE)
    else:
        answer = _post(delivery, secret=secret, now=now, resolver=resolver)
    duration = int((time.monotonic() - started) * 1000)
    if answer.code is not None and 200 <= answer.code < 300:
        _record_success(delivery, answer, now)
        outcome = "delivered"
    else:
        outcome = _record_failure(delivery, answer, now)
    Attempt.objects.create(
        delivery=delivery,
        started_at=now,
        duration_ms=duration,
        response_code=answer.code,
        error=answer.error[:ERROR_LENGTH],
    )
    return outcome


def deliver(
    *, delivery_id: int, now: datetime | None = None, resolver: Resolver = socket.getaddrinfo
) -> str:
    """Post one delivery if it is due: "delivered", "retry", "failed", "postponed" (its
    endpoint rests) or "skipped" (not due, already delivered, or held by another worker).
    ``resolver`` looks up the endpoint's host (``socket.getaddrinfo``)."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return "postponed" if _postpone_while_resting(delivery_id, now) else "skipped"
    return _send_claimed(delivery, now, resolver)


def deliver_many(*, delivery_ids: list[int]) -> dict[str, int]:
    """Post a chunk one by one (each claimed on its own: a crash re-sends at most the one in
    flight). A chunk stops claiming after half the lease and queues the rest anew."""
    outcomes = {"delivered": 0, "retry": 0, "failed": 0, "postponed": 0, "skipped": 0}
    started = timezone.now()
    for position, delivery_id in enumerate(delivery_ids):
        now = timezone.now()
        if now - started > SENDING_LEASE / 2:
            queue_deliveries(delivery_ids[position:])
            break
        outcomes[deliver(delivery_id=delivery_id, now=now)] += 1
    return outcomes


def queue_deliveries(delivery_ids: list[int]) -> None:
    """Queue the sending of rows (after commit): one task per row, or per chunk for many.

    A chunk holds one endpoint's rows: a chunk is posted one row after another, and an
    endpoint that is down or slow (a timeout per row) would hold up every other endpoint's
    rows behind it; on its own it holds up only its own.
    """
    if len(delivery_ids) == 1:
        enqueue_after_commit(DELIVER_TASK, delivery_ids[0])
        return
    by_endpoint: dict[int, list[int]] = {}
    for pk, endpoint_id in (
        Delivery.objects.filter(pk__in=delivery_ids).order_by("pk").values_list("pk", "endpoint_id")
    ):
        by_endpoint.setdefault(endpoint_id, []).append(pk)
    for ids in by_endpoint.values():
        if len(ids) == 1:
            enqueue_after_commit(DELIVER_TASK, ids[0])
            continue
        for start in range(0, len(ids), BATCH_SIZE):
            enqueue_after_commit(DELIVER_BATCH_TASK, ids[start : start + BATCH_SIZE])


def requeue_due_deliveries(*, now: datetime | None = None, limit: int = 5000) -> int:
    """The beat sweeper: queue retries that fell due, and what a lost task, a down broker or a
    killed worker (its lease over) left behind. Returns how many rows it queued."""
    now = now or timezone.now()
    pending = Q(status=Delivery.Status.PENDING)
    retry_due = (
        pending
        & Q(attempts__gt=0, next_attempt_at__lte=now)
        & (Q(requeued_at__isnull=True) | Q(requeued_at__lt=F("next_attempt_at")))
    )
    not_lately = Q(requeued_at__isnull=True) | Q(requeued_at__lte=now - SWEEP_GRACE)
    lost = pending & Q(next_attempt_at__lte=now - SWEEP_GRACE) & not_lately
    stuck = (
        Q(status=Delivery.Status.SENDING, sending_started_at__lt=now - SENDING_LEASE) & not_lately
    )
    ids = list(
        Delivery.objects.filter(retry_due | lost | stuck)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    Delivery.objects.filter(pk__in=ids).update(requeued_at=now)
    queue_deliveries(ids)
    return len(ids)


def redeliver(*, delivery_ids: list[int], now: datetime | None = None) -> int:
    """Staff asked to send these deliveries again (a fresh round of attempts, same event id).

    Only delivered or failed rows of active endpoints are taken; one pending or being sent is
    already on its way, so asking twice sends once. Returns how many were queued.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(of=("self",))
            .filter(
                pk__in=delivery_ids,
                status__in=[Delivery.Status.DELIVERED, Delivery.Status.FAILED],
                endpoint__disabled_at__isnull=True,
            )
            .values_list("pk", flat=True)
        )
        Delivery.objects.filter(pk__in=ids).update(
            status=Delivery.Status.PENDING,
            attempts=0,
            next_attempt_at=now,
            requeued_at=None,
            delivered_at=None,
        )
        # Asked by a person: tried now, even if the endpoint was resting.
        endpoint_ids = Delivery.objects.filter(pk__in=ids).values("endpoint_id")
        Endpoint.objects.filter(pk__in=endpoint_ids).update(resting_until=None)
        queue_deliveries(ids)
    return len(ids)


def purge_old_deliveries(*, now: datetime | None = None, limit: int = 5000) -> int:
    """Delete delivered and failed rows (with their attempts) older than
    ``WEBHOOKS_LOG_RETENTION_DAYS``: the log keeps what happened lately, not customers' data
    for ever. Returns how many deliveries were deleted."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.WEBHOOKS_LOG_RETENTION_DAYS)
    ids = list(
        Delivery.objects.filter(
            status__in=[Delivery.Status.DELIVERED, Delivery.Status.FAILED], created_at__lt=cutoff
        ).values_list("pk", flat=True)[:limit]
    )
    Attempt.objects.filter(delivery_id__in=ids).delete()
    deleted, _ = Delivery.objects.filter(pk__in=ids).delete()
    return deleted
