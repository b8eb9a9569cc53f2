"""Query text every backend searches: user input reduced to words.

User input never reaches a query parser: it is reduced to word tokens that are looked up as
terms, so operators, field syntax, wildcards and unbalanced quotes are just text. No search
library here.
"""

from __future__ import annotations

import re
import unicodedata

# Same token definition for documents and queries, so a query word can always meet an
# indexed token (Whoosh's default would keep "v1.2" or "e.g" whole).
WORD_PATTERN = r"\w+"
WORD_RE = re.compile(WORD_PATTERN)

MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 12
# Cheap guard so a multi-megabyte "query" is not normalised character by character.
_MAX_RAW_CHARS = MAX_QUERY_CHARS * 4


def normalize_text(text: str) -> str:
    """NFC-normalise text; decomposed accents would otherwise split words in ``\\w+``."""
    return unicodedata.normalize("NFC", text or "")


def clean_query(raw: str) -> str:
    """Normalise arbitrary user input into the query text that gets searched.

    Control characters are replaced by spaces, invisible format characters
    (zero-width joiners, soft hyphens, BOM) and lone surrogates dropped,
    whitespace collapsed, and the result capped at ``MAX_QUERY_CHARS``
    characters and ``MAX_QUERY_TERMS`` words.  Punctuation is kept so the text
    can be shown back to the user ("Results for …") and logged.
    """
    if not raw:
        return ""
    text = normalize_text(str(raw)[:_MAX_RAW_CHARS])
    chars: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cc":
            chars.append(" ")
        elif category not in ("Cf", "Cs"):
            chars.append(char)
    text = " ".join("".join(chars).split())

    if len(text) > MAX_QUERY_CHARS:
        cut = text[:MAX_QUERY_CHARS]
        # Avoid searching for the front half of a word cut in two.
        if text[MAX_QUERY_CHARS].isalnum() and " " in cut:
            cut = cut.rsplit(" ", 1)[0]
        text = cut.rstrip()

    matches = list(WORD_RE.finditer(text))
    if len(matches) > MAX_QUERY_TERMS:
        text = text[: matches[MAX_QUERY_TERMS - 1].end()]
    return text


def fold_word(word: str) -> str:
    """A word lowercase and without accents ("Devolución" -> "devolucion"): how synonyms are
    looked up, whatever the visitor typed."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def query_words(cleaned: str) -> list[str]:
    """Distinct word tokens of a cleaned query, in order (first spelling wins)."""
    seen: set[str] = set()
    words: list[str] = []
    for word in WORD_RE.findall(cleaned)[:MAX_QUERY_TERMS]:
        key = word.casefold()
        if key not in seen:
            seen.add(key)
            words.append(word)
    return words
