"""Words as a database's full-text index compares them, for searches that ask the database.

SQLite's FTS5 (``unicode61``) and PostgreSQL's ``simple`` configuration split text at
anything that is not a letter or a digit, underscores included, and PostgreSQL keeps an address
or a host name whole: text reduced here to plain words joined by spaces is split the same way
by both, and a query reduced the same way meets it.
"""

import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"[^\W_]+")
# PostgreSQL leaves out words of more than 2,047 bytes; nobody searches for one.
MAX_WORD_CHARS = 60


def folded_words(text: str) -> list[str]:
    """The words of ``text``, lowercase and without accents, in order (each cut to
    ``MAX_WORD_CHARS``)."""
    decomposed = unicodedata.normalize("NFKD", (text or "").lower())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return [word[:MAX_WORD_CHARS] for word in _WORD.findall(plain)]


def distinct_words(texts: Iterable[str], *, max_chars: int) -> str:
    """The distinct folded words of ``texts``, in the order they first appear, joined by
    spaces, at most ``max_chars`` characters (the words after that are left out whole)."""
    seen: dict[str, None] = {}
    size = 0
    for text in texts:
        for word in folded_words(text):
            if word in seen:
                continue
            size += len(word) + 1
            if size > max_chars + 1:
                return " ".join(seen)
            seen[word] = None
    return " ".join(seen)
