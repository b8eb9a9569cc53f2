"""Rate limits: the address they count behind proxies, and windows that last their period."""

import os
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
import time_machine
from django.core.cache.backends.redis import RedisCache
from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import DEFAULT_DB_ALIAS, connection
from django.test import RequestFactory
from django.utils import timezone

from foundation import ratelimit, shared_cache
from foundation.cache_backends import DatabaseCache

# --- The client's address -------------------------------------------------------------------


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXY_NETWORKS = 0, []
    assert ratelimit.client_ip(request_from("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_behind_one_proxy_each_customer_is_counted_apart(settings):
    """Behind the proxy every request comes from its address: without the setting, five
    customers an hour closed the contact form for everyone."""
    settings.TRUSTED_PROXY_COUNT = 1
    first = ratelimit.client_address_key(request_from("10.0.0.2", "198.51.100.1"))
    second = ratelimit.client_address_key(request_from("10.0.0.2", "198.51.100.2"))
    assert (first, second) == ("198.51.100.1", "198.51.100.2")


def test_a_spoofed_forwarded_hop_is_not_read_behind_a_counted_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the address it saw.
    assert ratelimit.client_ip(request_from("10.0.0.2", "1.2.3.4, 198.51.100.7")) == (
        "198.51.100.7"
    )
    # Two proxies: the outer one wrote the second hop from the right.
    settings.TRUSTED_PROXY_COUNT = 2
    assert ratelimit.client_ip(request_from("10.0.0.3", "1.2.3.4, 198.51.100.7, 10.0.0.2")) == (
        "198.51.100.7"
    )
    # A header shorter than the chain did not pass through it: the peer is the client.
    assert ratelimit.client_ip(request_from("198.51.100.7", "1.2.3.4")) == "198.51.100.7"


def test_trusted_networks_take_the_right_most_untrusted_hop(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/8", "2001:db8:ffff::/48"]
    chain = "1.2.3.4, 198.51.100.7, 10.1.1.1"
    assert ratelimit.client_ip(request_from("10.0.0.2", chain)) == "198.51.100.7"
    assert ratelimit.client_ip(request_from("2001:db8:ffff::1", "198.51.100.8")) == "198.51.100.8"
    # A client outside the trusted networks writes its own header: it is not read.
    assert ratelimit.client_ip(request_from("198.51.100.9", "10.0.0.5")) == "198.51.100.9"
    # Garbage where a trusted proxy would have written an address came from the client.
    assert ratelimit.client_ip(request_from("10.0.0.2", "1.2.3.4, not-an-ip")) == "10.0.0.2"


def test_a_client_cannot_escape_its_limit_by_changing_the_forwarded_header(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    keys = {
        ratelimit.client_address_key(request_from("10.0.0.2", f"192.0.2.{n}, 198.51.100.7"))
        for n in range(20)
    }
    assert keys == {"198.51.100.7"}
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXY_NETWORKS = 0, ["10.0.0.0/8"]
    keys = {
        ratelimit.client_address_key(request_from("198.51.100.7", f"10.0.0.{n}")) for n in range(20)
    }
    assert keys == {"198.51.100.7"}


def test_ipv6_addresses_are_limited_by_their_64_bit_prefix(settings):
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXY_NETWORKS = 0, []
    keys = {ratelimit.client_address_key(request_from(f"2001:db8:1:2:{n:x}::1")) for n in range(50)}
    assert keys == {"2001:db8:1:2::/64"}
    assert ratelimit.client_address_key(request_from("::ffff:198.51.100.7")) == "198.51.100.7"


# --- Windows that last their period -----------------------------------------------------------


@pytest.fixture
def database_cache(db, monkeypatch):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(DEFAULT_DB_ALIAS, "test_rate_limit_cache", dry_run=False)
    backend = DatabaseCache("test_rate_limit_cache", {})
    monkeypatch.setattr(shared_cache, "cache", backend)
    return backend


@pytest.fixture
def redis_cache(monkeypatch):
    """Redis' db 9 (the host of ``REDIS_URL`` when set): never the broker's or the cache's."""
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    url = urlunsplit(urlsplit(base)._replace(path="/9"))
    backend = RedisCache(url, {"OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}})
    try:
        backend.clear()
    except Exception as error:
        pytest.skip(f"Redis is not reachable at {url}: {error!r}")
    monkeypatch.setattr(shared_cache, "cache", backend)
    yield backend
    backend.clear()


def test_an_hourly_limit_still_refuses_after_five_quiet_minutes_on_the_database_cache(
    database_cache,
):
    """Django's DatabaseCache.incr rewrote the key with the default 300-s timeout, so "5 an
    hour" let 9 emails through in 8 minutes."""
    results = [ratelimit.allow("test", "a@example.com", limit=5, window_seconds=3600)]
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        results += [
            ratelimit.allow("test", "a@example.com", limit=5, window_seconds=3600) for _ in range(4)
        ]
    with time_machine.travel(timezone.now() + timedelta(minutes=7)):
        results.append(ratelimit.allow("test", "a@example.com", limit=5, window_seconds=3600))
    with time_machine.travel(timezone.now() + timedelta(minutes=59)):
        results.append(ratelimit.allow("test", "a@example.com", limit=5, window_seconds=3600))
    assert results == [True] * 5 + [False, False]
    # The window ends an hour after its first attempt.
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert ratelimit.allow("test", "a@example.com", limit=5, window_seconds=3600)


def _database_expiry(key: str):
    table = connection.ops.quote_name("test_rate_limit_cache")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT expires FROM {table}")  # noqa: S608
        return cursor.fetchone()[0]


def test_counting_keeps_the_window_expiry_on_the_database_cache(database_cache):
    shared_cache.count("ratelimit:test:x", timeout=3600)
    expiry = _database_expiry("ratelimit:test:x")
    assert [shared_cache.count("ratelimit:test:x", timeout=3600) for _ in range(3)] == [2, 3, 4]
    assert _database_expiry("ratelimit:test:x") == expiry
    assert database_cache.decr("ratelimit:test:x", 4) == 0
    assert _database_expiry("ratelimit:test:x") == expiry


def test_counting_keeps_the_window_expiry_on_redis(redis_cache):
    results = [
        ratelimit.allow("test", "a@example.com", limit=5, window_seconds=3600) for _ in range(7)
    ]
    assert results == [True] * 5 + [False, False]
    key = redis_cache.make_and_validate_key(ratelimit._key("test", "a@example.com"))
    ttl = redis_cache._cache.get_client(key).ttl(key)
    assert 3590 <= ttl <= 3600
