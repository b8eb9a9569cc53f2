"""Every write of the api app: its keys, and the record of each write made with one."""

import hashlib
import hmac
import secrets
import string
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from api.models import ApiKey, ApiWrite, Scope
from foundation.ratelimit import allow

KEY_START = "hc_"
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
PREFIX_LENGTH = 8
# last_used_at is written at most this often per key: not one UPDATE per request.
LAST_USE_PRECISION = timedelta(minutes=1)


def _hash(secret: str) -> str:
    # The secret is 256 random bits: a plain SHA-256 cannot be reversed or guessed, and a
    # slow password hash would cost every request tens of milliseconds for nothing.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # the whole key: shown once, kept nowhere


@transaction.atomic
def create_api_key(
    *,
    name: str,
    scopes: Iterable[str],
    actor: AbstractBaseUser | None,
    expires_at: datetime | None = None,
    rate_limit_per_minute: int = 120,
    now: datetime | None = None,
) -> NewKey:
    """A new key with its own acting user (inactive, no password: it never signs in).
    Returns the key and its secret, which exists only in this return value."""
    now = now or timezone.now()
    unknown = set(scopes) - set(Scope.values)
    if unknown:
        raise ValueError(f"unknown scopes: {sorted(unknown)}")
    while True:
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    secret = f"{KEY_START}{prefix}_{secrets.token_urlsafe(32)}"
    user = get_user_model().objects.create(
        username=f"api-{prefix}",
        first_name=name[:150],
        last_name="(API)",
        is_active=False,
        is_staff=False,
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        key_hash=_hash(secret),
        scopes=sorted(set(scopes)),
        rate_limit_per_minute=rate_limit_per_minute,
        expires_at=expires_at,
        user=user,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        created_at=now,
    )
    return NewKey(key=key, secret=secret)


def revoke_api_keys(*, keys: Iterable[ApiKey], now: datetime | None = None) -> int:
    """Revoke for good (a revoked key is refused from its next request on). Returns how many
    were still live."""
    now = now or timezone.now()
    ids = [key.pk for key in keys]
    return ApiKey.objects.filter(pk__in=ids, revoked_at__isnull=True).update(revoked_at=now)


class KeyRefused(Exception):
    """The key cannot be used; ``code`` says why (unknown, expired, revoked)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def authenticate_key(secret: str, *, now: datetime | None = None) -> ApiKey:
    """The live key ``secret`` belongs to, its last use noted (once a minute at most).
    Raises ``KeyRefused``."""
    now = now or timezone.now()
    body = secret.removeprefix(KEY_START)
    prefix, _, _rest = body.partition("_")
    # Only what a prefix can be reaches the query (a NUL would make PostgreSQL raise).
    if (
        not secret.startswith(KEY_START)
        or len(prefix) != PREFIX_LENGTH
        or not set(prefix) <= set(PREFIX_ALPHABET)
    ):
        raise KeyRefused("key_unknown")
    key = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
    # Compared in constant time, so the time taken tells nothing about the stored hash.
    if key is None or not hmac.compare_digest(key.key_hash, _hash(secret)):
        raise KeyRefused("key_unknown")
    if key.revoked_at is not None:
        raise KeyRefused("key_revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise KeyRefused("key_expired")
    if key.last_used_at is None or now - key.last_used_at >= LAST_USE_PRECISION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def within_rate_limit(key: ApiKey) -> bool:
    """Count one request of ``key`` in its minute (foundation.ratelimit, the shared cache)."""
    return allow("api-key", str(key.pk), limit=key.rate_limit_per_minute, window_seconds=60)


# --- Writes, once each ------------------------------------------------------------------------


@dataclass(frozen=True)
class WriteOutcome:
    status_code: int
    body: dict
    replayed: bool = False


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was already used for a different request."""


class IdempotencyKeyExpired(Exception):
    """The Idempotency-Key was used longer ago than ``API_IDEMPOTENCY_HOURS``: its answer is
    no longer kept to replay, and its record still stands (``API_WRITE_RETENTION_DAYS``)."""


def idempotency_window() -> timedelta:
    return timedelta(hours=settings.API_IDEMPOTENCY_HOURS)


def _fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def _replay(write: ApiWrite, fingerprint: str, now: datetime) -> WriteOutcome:
    if not hmac.compare_digest(write.fingerprint, fingerprint):
        raise IdempotencyKeyReused
    # Judged by the time, not by whether the purge has dropped the body yet: the same retry
    # gets the same answer whenever the beat job runs.
    if write.created_at <= now - idempotency_window():
        raise IdempotencyKeyExpired
    return WriteOutcome(write.status_code, write.response, replayed=True)


def write_once(
    *,
    key: ApiKey,
    idempotency_key: str,
    method: str,
    path: str,
    body: bytes,
    perform: Callable[[], tuple[int, dict, str]],
    now: datetime | None = None,
) -> WriteOutcome:
    """Run ``perform`` (which returns the status, the JSON body and the resource it wrote)
    unless this key already made this request under ``idempotency_key``, in which case its
    first answer is returned (``replayed``) and nothing is done again.

    The write and its ``ApiWrite`` row share one transaction: an error in ``perform`` leaves
    neither (the retry runs it afresh), and of two requests racing with the same key the
    second one's row collides with the first's on the unique index, its transaction (its
    write too) rolls back, and it answers with the first one's response.
    Raises ``IdempotencyKeyReused`` when the key came with another request, and
    ``IdempotencyKeyExpired`` when it came within ``API_WRITE_RETENTION_DAYS`` but past
    ``API_IDEMPOTENCY_HOURS`` (its row is still there, its answer no longer; once the row is
    purged the key is a new one).
    """
    now = now or timezone.now()
    fingerprint = _fingerprint(method, path, body)
    existing = ApiWrite.objects.filter(key=key, idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replay(existing, fingerprint, now)
    try:
        with transaction.atomic():
            status_code, response = _perform_and_record(
                key, idempotency_key, method, path, fingerprint, perform, now
            )
    except IntegrityError:
        first = ApiWrite.objects.filter(key=key, idempotency_key=idempotency_key).first()
        if first is None:
            raise
        return _replay(first, fingerprint, now)
    return WriteOutcome(status_code, response)


def write_without_idempotency_key(
    *,
    key: ApiKey,
    method: str,
    path: str,
    body: bytes,
    perform: Callable[[], tuple[int, dict, str]],
    now: datetime | None = None,
) -> WriteOutcome:
    """Run ``perform`` and record it as the key's write, in one transaction, for the endpoints
    whose callers cannot send an ``Idempotency-Key`` (Alertmanager's webhook): what they do is
    idempotent by itself (alerts are deduplicated by fingerprint). The row's key is unique, so
    every call is its own row and none is ever replayed."""
    with transaction.atomic():
        status_code, response = _perform_and_record(
            key,
            f"(none) {uuid.uuid4()}",
            method,
            path,
            _fingerprint(method, path, body),
            perform,
            now,
        )
    return WriteOutcome(status_code, response)


def _perform_and_record(
    key: ApiKey,
    idempotency_key: str,
    method: str,
    path: str,
    fingerprint: str,
    perform: Callable[[], tuple[int, dict, str]],
    now: datetime | None,
) -> tuple[int, dict]:
    """``perform``, then its ``ApiWrite`` row (in the caller's transaction)."""
    status_code, response, resource = perform()
    ApiWrite.objects.create(
        key=key,
        idempotency_key=idempotency_key,
        method=method,
        path=path[:500],
        fingerprint=fingerprint,
        status_code=status_code,
        response=response,
        resource=resource[:100],
        created_at=now or timezone.now(),
    )
    return status_code, response


def purge_old_writes(*, now: datetime | None = None, limit: int = 5000) -> dict[str, int]:
    """Retention of the API's write log, in two steps, at most ``limit`` rows each (the beat
    job comes back for the rest; running it twice does nothing more):

    - past ``API_IDEMPOTENCY_HOURS`` a write's saved answer (``response``: customers' names,
      messages) is blanked: it only served to replay a retry, which is refused from then on;
      who wrote what, when, and its resource stay, for audit;
    - past ``API_WRITE_RETENTION_DAYS`` the row itself is deleted, and its Idempotency-Key
      is free again.

    Returns how many answers were blanked and how many rows deleted."""
    now = now or timezone.now()
    answered_before = now - idempotency_window()
    blank = list(
        ApiWrite.objects.filter(created_at__lte=answered_before)
        .exclude(response={})
        .values_list("pk", flat=True)[:limit]
    )
    blanked = ApiWrite.objects.filter(pk__in=blank).update(response={})
    recorded_before = now - timedelta(days=settings.API_WRITE_RETENTION_DAYS)
    old = list(
        ApiWrite.objects.filter(created_at__lt=recorded_before).values_list("pk", flat=True)[:limit]
    )
    deleted, _ = ApiWrite.objects.filter(pk__in=old).delete()
    return {"blanked": blanked, "deleted": deleted}
