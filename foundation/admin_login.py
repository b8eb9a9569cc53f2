"""Throttled sign-in for the admin (and the desk, which signs in through it).

Failed passwords are counted per address and per username in the shared cache; past either
limit, every sign-in with that address or username is refused for ``LOCKOUT_SECONDS``, the
right password included, before the password is even checked. The refusal says only that
there were too many attempts: the same words whether or not the account exists, is locked by
its own name or by the address, or the password typed was right.
"""

import hashlib
from datetime import datetime

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from foundation import shared_cache
from foundation.ratelimit import allow, client_address_key

FAILURE_WINDOW_SECONDS = 15 * 60
LOCKOUT_SECONDS = 15 * 60
# Failed sign-ins allowed in the window. Per username too, so that guessing one account's
# password from many addresses is held back as well (at the price that someone can make an
# administrator wait 15 minutes).
FAILURES_PER_ADDRESS = 10
FAILURES_PER_USERNAME = 20


def _subjects(request, username: str) -> list[tuple[str, str, int]]:
    return [
        ("admin-login-address", client_address_key(request), FAILURES_PER_ADDRESS),
        ("admin-login-username", username.strip().lower()[:150], FAILURES_PER_USERNAME),
    ]


def _lock_key(scope: str, key: str) -> str:
    # Hashed like a rate-limit key: no username or address in clear in the cache.
    return "lockout:" + hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]


def is_locked_out(request, username: str, *, now: datetime | None = None) -> bool:
    # The lock holds its end time: the cache's own expiry (Redis keeps its clock) only tidies.
    moment = (now or timezone.now()).timestamp()
    for scope, key, _limit in _subjects(request, username):
        locked_until = shared_cache.read(_lock_key(scope, key))
        if isinstance(locked_until, int | float) and locked_until > moment:
            return True
    return False


def record_failed_sign_in(request, username: str, *, now: datetime | None = None) -> None:
    """Count a wrong password; the failure that reaches a limit starts the lock-out."""
    locked_until = (now or timezone.now()).timestamp() + LOCKOUT_SECONDS
    for scope, key, limit in _subjects(request, username):
        if not allow(scope, key, limit=limit - 1, window_seconds=FAILURE_WINDOW_SECONDS):
            shared_cache.write(_lock_key(scope, key), locked_until, timeout=LOCKOUT_SECONDS)


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked_out": _(
            "Too many failed sign-in attempts. Please wait 15 minutes before trying again."
        ),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if self.request is not None and is_locked_out(self.request, username):
            raise ValidationError(self.error_messages["locked_out"], code="locked_out")
        try:
            return super().clean()
        except ValidationError as error:
            if self.request is not None and error.code == "invalid_login":
                record_failed_sign_in(self.request, username)
            raise
