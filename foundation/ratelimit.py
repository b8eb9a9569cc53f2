"""Fixed-window rate limits in the shared cache, and the client address they count by."""

import functools
import hashlib
import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest

from foundation import shared_cache

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# One IPv6 customer line is given a whole /64 (and often more): counting single addresses would
# let one visitor step through 2**64 of them.
IPV6_BUCKET_PREFIX = 64


def allow(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one attempt for ``key`` in ``scope``; False once ``limit`` is passed in the window.

    The window starts with the first attempt and lasts ``window_seconds`` on every cache
    backend (the count keeps its expiry: see foundation/cache_backends.py). Keys are hashed so
    an email address or IP never appears in the cache in clear. When the cache cannot count
    (Redis restarting), the attempt is let through and logged: a customer writing to us in
    those seconds must not get an error page or be turned away.
    """
    count = shared_cache.count(_key(scope, key), timeout=window_seconds)
    if count is None:
        logger.warning("rate limit %s not checked: the cache is unavailable", scope)
        return True
    return count <= limit


def attempts(scope: str, key: str) -> int:
    """How many attempts ``key`` has made in the current window of ``scope`` (0 when unknown)."""
    return shared_cache.read(_key(scope, key), 0) or 0


def _key(scope: str, key: str) -> str:
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}"


# --- The client's address ---------------------------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """The visitor's address: ``REMOTE_ADDR``, or behind trusted proxies the right-most
    ``X-Forwarded-For`` hop that no trusted proxy added.

    Each proxy appends the address it received the request from, so everything left of the
    hops our own proxies wrote is whatever the client chose to send: it is never read. With
    no proxy configured the header is ignored altogether (``TRUSTED_PROXY_COUNT``,
    ``TRUSTED_PROXY_NETWORKS``).
    """
    remote = _parse(request.META.get("REMOTE_ADDR", ""))
    if remote is None:
        return request.META.get("REMOTE_ADDR", "")[:64]
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if settings.TRUSTED_PROXY_NETWORKS:
        return str(_behind_trusted_networks(remote, hops))
    if settings.TRUSTED_PROXY_COUNT:
        return str(_behind_counted_proxies(remote, hops, settings.TRUSTED_PROXY_COUNT))
    return str(remote)


def client_address_key(request: HttpRequest) -> str:
    """The address a per-address limit counts: the IPv4 address, or the IPv6 /64."""
    address = _parse(client_ip(request))
    if isinstance(address, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((address, IPV6_BUCKET_PREFIX), strict=False)
        return str(network)
    return str(address) if address is not None else client_ip(request)


def _behind_trusted_networks(remote: IPAddress, hops: list[str]) -> IPAddress:
    networks = _trusted_networks(tuple(settings.TRUSTED_PROXY_NETWORKS))
    nearest = remote
    if not _is_trusted(remote, networks):
        return remote  # not through our proxy: its header is the client's own words
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            # A trusted proxy always writes an address; anything else came from the client.
            return nearest
        if not _is_trusted(address, networks):
            return address
        nearest = address
    return nearest


def _behind_counted_proxies(remote: IPAddress, hops: list[str], proxies: int) -> IPAddress:
    # With N proxies the N-th hop from the right was written by the outermost one. A shorter
    # header means the request did not pass through all of them: keep the peer's address.
    if len(hops) < proxies:
        return remote
    return _parse(hops[-proxies]) or remote


def _is_trusted(address: IPAddress, networks) -> bool:
    return any(address.version == network.version and address in network for network in networks)


@functools.lru_cache(maxsize=4)
def _trusted_networks(specs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(spec.strip(), strict=False) for spec in specs)


def _parse(value: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address
