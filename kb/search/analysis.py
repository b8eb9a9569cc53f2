"""Text analysis and index schema for the knowledge-base search index.

Everything here is built from stock Whoosh components only, because the
schema (analyzers included) is pickled into the index: custom classes would
tie the on-disk index to this module's import path.
"""

from __future__ import annotations

import re
import unicodedata

from whoosh import fields
from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
    SubstitutionFilter,
)
from whoosh.lang import stopwords_for_language
from whoosh.support.charset import accent_map

LANGUAGES: tuple[str, ...] = ("es", "en")

# Same token definition for documents and queries, so a query word can always
# meet an indexed token (Whoosh's default would keep "v1.2" or "e.g" whole).
WORD_PATTERN = r"\w+"
WORD_RE = re.compile(WORD_PATTERN)

# Searchable per-language fields and their boosts (title > keywords > summary > body).
FIELD_BOOSTS: dict[str, float] = {"title": 4.0, "keywords": 3.0, "summary": 2.0, "body": 1.0}


def fold(text: str) -> str:
    """Lowercase and strip accents (``"Devolución"`` -> ``"devolucion"``)."""
    return text.lower().translate(accent_map)


def normalize_text(text: str) -> str:
    """NFC-normalise text; decomposed accents would otherwise split words in ``\\w+``."""
    return unicodedata.normalize("NFC", text or "")


def first_token(analyzer: Analyzer, text: str) -> str | None:
    """The analysed form of a single word, or None for a stop word."""
    for token in analyzer(text):
        return token.text
    return None


class WordStemmer:
    """Memoised ``first_token`` for one analyzer; snippets stem every body word."""

    MAX_ENTRIES = 200_000

    def __init__(self, analyzer: Analyzer) -> None:
        self._analyzer = analyzer
        self._cache: dict[str, str | None] = {}

    def __call__(self, word: str) -> str | None:
        key = word.lower()
        try:
            return self._cache[key]
        except KeyError:
            if len(self._cache) >= self.MAX_ENTRIES:
                self._cache.clear()
            value = self._cache[key] = first_token(self._analyzer, key)
            return value


def _stop_words(lang: str) -> frozenset[str]:
    words = set(stopwords_for_language(lang))
    # Queries are often typed without accents ("esta" for "está").
    return frozenset(words | {fold(word) for word in words})


def spanish_analyzer() -> Analyzer:
    # Folding before stemming splits singular from plural, stemming before
    # folding misses unaccented queries.  Folding, restoring the accent on the
    # endings the Snowball stemmer needs, stemming and folding again makes
    # "devolución", "devoluciones", "devolucion" and "DEVOLUCIÓN" meet.
    return (
        RegexTokenizer(WORD_PATTERN)
        | LowercaseFilter()
        | StopFilter(stoplist=_stop_words("es"))
        | CharsetFilter(accent_map)
        | SubstitutionFilter(r"(?<=[cs]i)o(?=n$)", "ó")  # -cion/-sion -> -ción/-sión
        | SubstitutionFilter(r"(?<=log)i(?=as?$)", "í")  # -logia(s) -> -logía(s)
        | StemFilter(lang="es")
        | CharsetFilter(accent_map)
    )


def english_analyzer() -> Analyzer:
    return (
        RegexTokenizer(WORD_PATTERN)
        | LowercaseFilter()
        | StopFilter(stoplist=_stop_words("en"))
        | CharsetFilter(accent_map)
        | StemFilter(lang="en")
    )


def exact_analyzer(lang: str) -> Analyzer:
    """Lowercased, accent-folded, unstemmed: used for recall, fuzzy matching and suggestions."""
    return (
        RegexTokenizer(WORD_PATTERN)
        | LowercaseFilter()
        | StopFilter(stoplist=_stop_words(lang))
        | CharsetFilter(accent_map)
    )


STEMMING_ANALYZERS = {"es": spanish_analyzer, "en": english_analyzer}


def stemmed_field(name: str, lang: str) -> str:
    return f"{name}_{lang}"


def exact_field(lang: str) -> str:
    return f"exact_{lang}"


def build_schema() -> fields.Schema:
    """One document per article translation; it fills only its own language's fields."""
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True),
        language=fields.ID(stored=True, sortable=True),
        translation_key=fields.ID(stored=True, sortable=True),
        category=fields.ID(stored=True, sortable=True),
        url=fields.STORED(),
        # Original text for hits and snippets; searched through the fields below.
        title=fields.STORED(),
        keywords=fields.STORED(),
        summary=fields.STORED(),
        body=fields.STORED(),
    )
    for lang in LANGUAGES:
        # No phrase queries are issued, so positions are not worth their space.
        stemming = STEMMING_ANALYZERS[lang]()
        for name in FIELD_BOOSTS:
            schema.add(stemmed_field(name, lang), fields.TEXT(analyzer=stemming, phrase=False))
        schema.add(exact_field(lang), fields.TEXT(analyzer=exact_analyzer(lang), phrase=False))
    return schema
