"""The words the desk's search looks through (``CaseSearchText``), kept beside each case.

Every event with text goes through ``cases.services.lifecycle._event``, which calls
``write_case_search_text`` in the same transaction, so the words never lag behind the case.
Data written without the services (bulk loads: the demo history, the benchmarks) call
``write_all_case_search_texts`` once after.
"""

from collections.abc import Callable, Iterable

from cases.models import Case, CaseEvent, CaseSearchText
from cases.selectors import DESK_SEARCH_TEXT_KINDS
from foundation.words import distinct_words

# Whatever a case grows to, its words stay a small row (PostgreSQL refuses a tsvector of more
# than 1 MB); the words past this are the latest messages' new ones, and are left out.
MAX_SEARCH_TEXT_CHARS = 100_000
BATCH = 1_000
_CASE_FIELDS = ("pk", "reference", "customer_email", "customer_name", "subject", "description")


def write_case_search_text(*, case_ids: Iterable[int]) -> int:
    """Write the search words of these cases from what they hold now (only rows that
    change); returns how many rows were written."""
    ids = list(case_ids)
    if not ids:
        return 0
    bodies: dict[int, list[str]] = {}
    # Only the case is asked of the database, and the rest done here: given the kinds or an
    # order too, SQLite walks every event of those kinds instead of the cases' own.
    events = CaseEvent.objects.filter(case_id__in=ids).order_by()
    rows = events.values_list("created_at", "pk", "case_id", "kind", "body")
    for _at, _pk, case_id, kind, body in sorted(rows):
        if body and kind in DESK_SEARCH_TEXT_KINDS:
            bodies.setdefault(case_id, []).append(body)
    current = dict(CaseSearchText.objects.filter(case_id__in=ids).values_list("case_id", "text"))
    rows = []
    for pk, *texts in Case.objects.filter(pk__in=ids).order_by().values_list(*_CASE_FIELDS):
        text = distinct_words([*texts, *bodies.get(pk, [])], max_chars=MAX_SEARCH_TEXT_CHARS)
        if current.get(pk) != text:
            rows.append(CaseSearchText(case_id=pk, text=text))
    CaseSearchText.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["case"], update_fields=["text"]
    )
    return len(rows)


def write_all_case_search_texts(*, progress: Callable[[int], None] | None = None) -> int:
    """Write the search words of every case, a batch at a time; ``progress`` is told how many
    cases each batch covered. Returns how many rows were written."""
    written, last = 0, 0
    while True:
        ids = list(
            Case.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            return written
        written += write_case_search_text(case_ids=ids)
        last = ids[-1]
        if progress is not None:
            progress(len(ids))
