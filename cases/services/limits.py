"""How often one visitor may ask us for something: per address and per email address."""

from dataclasses import dataclass

from foundation.ratelimit import allow


@dataclass(frozen=True)
class Limits:
    """Attempts allowed per visitor address and per email address, each in its window."""

    per_address: int
    per_email: int
    window_seconds: int = 3600


CONTACT_LIMITS = Limits(per_address=5, per_email=5)
FIND_LIMITS = Limits(per_address=10, per_email=3)
RENEW_LINK_LIMIT = 3  # renewed links per case and hour


def within_limits(scope: str, limits: Limits, *, address_key: str, email: str) -> bool:
    """Count one attempt from ``address_key`` for ``email``; False once either is over."""
    return allow(
        f"{scope}-ip", address_key, limit=limits.per_address, window_seconds=limits.window_seconds
    ) and allow(
        f"{scope}-email",
        email.lower(),
        limit=limits.per_email,
        window_seconds=limits.window_seconds,
    )
