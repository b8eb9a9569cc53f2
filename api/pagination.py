"""Cursor pagination: an opaque ``cursor`` names where the next page starts.

Lists ordered by time are cut by keyset (the last row's time and id), so a case opened
while a client pages through does not shift the pages; the cursor is signed, so a client
cannot forge one into a query. Ranked search results go by the search's own pages under the
same kind of cursor.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet

SALT = "api.cursor"
MAX_PAGE_SIZE = 100


class InvalidCursor(Exception):
    pass


def _encode(kind: str, value: Any) -> str:
    return signing.dumps({"k": kind, "v": value}, salt=SALT, compress=True)


def _decode(cursor: str, kind: str) -> Any:
    try:
        data = signing.loads(cursor, salt=SALT)
    except (signing.BadSignature, json.JSONDecodeError, UnicodeDecodeError, ValueError):
        raise InvalidCursor from None
    if not isinstance(data, dict) or data.get("k") != kind:
        raise InvalidCursor
    return data.get("v")


@dataclass(frozen=True)
class Page:
    items: Sequence
    next_cursor: str | None


def newest_first(queryset: QuerySet, *, cursor: str | None, limit: int) -> Page:
    """A page of ``queryset`` ordered by ``-created_at, -pk``, after ``cursor``."""
    if cursor:
        value = _decode(cursor, "time")
        try:
            created_at, pk = datetime.fromisoformat(value[0]), int(value[1])
        except (TypeError, ValueError, IndexError, KeyError):
            raise InvalidCursor from None
        queryset = queryset.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk)
        )
    rows = list(queryset.order_by("-created_at", "-pk")[: limit + 1])
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        following = _encode("time", [last.created_at.isoformat(), last.pk])
    return Page(rows, following)


def page_number(cursor: str | None) -> int:
    """Which page of a ranked list the cursor names (1: the first)."""
    if not cursor:
        return 1
    value = _decode(cursor, "page")
    if not isinstance(value, int) or value < 1:
        raise InvalidCursor
    return value


def page_cursor(page: int) -> str:
    return _encode("page", page)
