"""Reading ids out of raw query strings and form fields that are not worth a form."""

# The largest key either database holds (BigAutoField); SQLite and PostgreSQL raise on more.
MAX_ID = 2**63 - 1


def parse_id(value: str | None) -> int | None:
    """A database id written in ``value``, or None for anything else.

    ASCII digits only: ``str.isdigit()`` also accepts "²" (``int()`` refuses it) and "٣", and
    a 5,000-digit string passes it too (``int()`` refuses more than 4,300 digits).
    """
    if not value or len(value) > 19 or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None
