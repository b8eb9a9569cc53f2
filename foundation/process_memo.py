"""Read-mostly rows kept in each process, dropped everywhere as soon as any of them changes.

Every page shows the active notices; the case status page also shows the case's reason, its
team and the reason's articles. These few rows change a few times a day, yet reading them cost
a sixth of the CPU of a status page (bench/status_page_cpu.py). A process keeps what it read
together with the *generation* it read it under: a random token in the shared cache (Redis,
or the database cache) that every change of a watched model replaces. Checking the token is
one cache read, much cheaper than building and running a query.

Why it stays correct:

- A save or delete of a watched model (``watch()``, from each app's ``ready()``) replaces the
  token at once and again after commit. The first serves the writing transaction itself (and
  tests, which never commit); the second is the one other processes rely on: one that read
  the old rows between the first replacement and the commit kept them under a token that the
  second retires. Services that write watched rows with ``QuerySet.update()`` (no signal) call
  ``changed()`` themselves.
- The token is read before the rows, so rows are never kept under a newer token than theirs.
- While the cache cannot be read nothing is kept: every read goes to the database, and what
  the process kept before is dropped (changes made meanwhile could not replace the token).
- A value is kept MAX_AGE_SECONDS at most, the bound on staleness if the token is lost in a
  way no process notices (a change made while the cache was down, read by an idle process).
- Within one request the token is read once (``ProcessMemoMiddleware``), however many kept
  values the page uses; a change made by the request itself makes the next use read it again.
"""

import logging
import secrets
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

logger = logging.getLogger(__name__)

GENERATION_KEY = "process-memo:generation"
MAX_AGE_SECONDS = 60.0
MAX_ENTRIES = 1000  # far more than the site needs (one per reason and language); a safety cap
WARN_EVERY_SECONDS = 10.0

T = TypeVar("T")

_entries: dict[Hashable, tuple[str, float, object]] = {}
_last_warning = -WARN_EVERY_SECONDS
# The token read in the current request (see one_read_per_request); absent outside one.
_request_generation: ContextVar[dict[str, str | None] | None] = ContextVar(
    "process_memo_request_generation", default=None
)


def _warn(what: str, error: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARN_EVERY_SECONDS:  # one line, not one per request, in an outage
        _last_warning = now
        logger.warning("process memo: %s failed, reading from the database: %r", what, error)


@contextmanager
def one_read_per_request() -> Iterator[None]:
    """Read the token at most once in the block (a request: see ProcessMemoMiddleware)."""
    scope = _request_generation.set({})
    try:
        yield
    finally:
        _request_generation.reset(scope)


def _generation() -> str | None:
    """The current token, or None when the cache cannot be read."""
    scope = _request_generation.get()
    if scope is not None and "token" in scope:
        return scope["token"]
    token = _read_generation()
    if scope is not None:
        scope["token"] = token
    return token


def _read_generation() -> str | None:
    try:
        token = cache.get(GENERATION_KEY)
        if token is None:  # never set, evicted or cleared: whoever adds first sets it for all
            cache.add(GENERATION_KEY, secrets.token_hex(8), timeout=None)
            token = cache.get(GENERATION_KEY)
    except Exception as error:  # each backend raises its own connection errors
        _entries.clear()
        _warn("reading the generation", error)
        return None
    return token


def remember(key: Hashable, load: Callable[[], T]) -> T:
    """What ``load()`` returns, kept in this process until a watched model changes.

    The value is shared by every later caller: treat it as read-only (return a copy of a list
    that a caller might change)."""
    generation = _generation()
    if generation is None:
        return load()
    now = time.monotonic()
    entry = _entries.get(key)
    if entry is not None and entry[0] == generation and now - entry[1] < MAX_AGE_SECONDS:
        return entry[2]  # type: ignore[return-value]
    value = load()
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    _entries[key] = (generation, now, value)
    return value


def _replace_generation() -> None:
    _entries.clear()
    scope = _request_generation.get()
    if scope is not None:
        scope.clear()  # this request changed something: its next use reads the new token
    try:
        cache.set(GENERATION_KEY, secrets.token_hex(8), timeout=None)
    except Exception as error:
        _warn("replacing the generation", error)


def changed() -> None:
    """Make every process read the watched models again: now, and after the commit."""
    _replace_generation()
    transaction.on_commit(_replace_generation)


def _on_change(sender, **kwargs) -> None:
    changed()


def watch(*models) -> None:
    """Drop what every process kept whenever a row of one of ``models`` is saved or deleted."""
    for model in models:
        post_save.connect(_on_change, sender=model, dispatch_uid=f"process-memo-save-{model}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"process-memo-del-{model}")
