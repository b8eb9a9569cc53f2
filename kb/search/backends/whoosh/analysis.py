"""Text analysis and index schema for the knowledge-base search index.

Everything stored in the schema is built from stock Whoosh components only,
because the schema (analyzers included) is pickled into the index: custom
classes would tie the on-disk index to this module's import path.

Documents are analysed here, not by Whoosh: every field of a language gets the
same per-word analysis (the schema's own analyzers, applied once per distinct
word and memoised), and the fields receive ready-made term lists, which Whoosh
indexes without running its analyzer chain token by token.  The same memoised
analysis serves queries and snippets, so documents and queries always meet.
"""

from __future__ import annotations

from whoosh import fields, formats
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

from kb.search.text import WORD_PATTERN, WORD_RE

LANGUAGES: tuple[str, ...] = ("es", "en")

# Searched (stemmed) fields per language and their boosts: two posting lists
# per query word instead of one per article part.  ``title`` holds the title and
# the keywords, ``text`` the summary and the body; within a field a part counts
# that many times (a term-frequency weight), so a title word outweighs a
# keyword and a summary word a body word.  The title field is not boosted over the
# text: a flat boost let one generic query word in a title ("check when my item will
# arrive" -> *Check invoice*) outrank the article the query describes; what a title
# adds is how much of it the query covers (kb.search.relevance.title_evidence).
FIELD_BOOSTS: dict[str, float] = {"title": 1.0, "text": 1.0}
FIELD_PARTS: dict[str, tuple[tuple[str, int], ...]] = {
    "title": (("title", 2), ("keywords", 1)),
    "text": (("summary", 2), ("body", 1)),
}


def fold(text: str) -> str:
    """Lowercase and strip accents (``"Devolución"`` -> ``"devolucion"``)."""
    return text.lower().translate(accent_map)


def first_token(analyzer: Analyzer, text: str) -> str | None:
    """The analysed form of a single word, or None for a stop word."""
    for token in analyzer(text):
        return token.text
    return None


class _Memo(dict[str, str]):
    """word -> analysed form ("" for stop words), computed on first use."""

    MAX_ENTRIES = 300_000

    def __init__(self, analyzer: Analyzer) -> None:
        super().__init__()
        self.analyzer = analyzer

    def __missing__(self, word: str) -> str:
        if len(self) >= self.MAX_ENTRIES:
            self.clear()
        value = self[word] = first_token(self.analyzer, word) or ""
        return value


class _Spellings(dict[str, str]):
    """word -> its lowercase spelling when that has accents, else "" (memoised)."""

    def __init__(self, exact: _Memo) -> None:
        super().__init__()
        self.exact = exact

    def __missing__(self, word: str) -> str:
        if len(self) >= _Memo.MAX_ENTRIES:
            self.clear()
        lower = word.lower()
        folded = self.exact[word]
        value = self[word] = lower if folded and folded != lower else ""
        return value


class LanguageAnalysis:
    """Memoised per-word analysis of one language, from an index schema's analyzers.

    ``stem`` maps a word to its stemmed, folded form (the term of the ``title``
    and ``text`` fields); ``exact`` to its folded, unstemmed form (the term of
    the vocabulary field).  Both map stop words to ``""``.
    """

    def __init__(self, schema: fields.Schema, lang: str) -> None:
        self.lang = lang
        self.stem = _Memo(schema[stemmed_field("text", lang)].analyzer)
        self.exact = _Memo(schema[exact_field(lang)].analyzer)
        self.spelling = _Spellings(self.exact)

    def matches(self, schema: fields.Schema) -> bool:
        """Whether ``schema`` analyses words the way this object does."""
        try:
            return (
                schema[stemmed_field("text", self.lang)].analyzer == self.stem.analyzer
                and schema[exact_field(self.lang)].analyzer == self.exact.analyzer
            )
        except KeyError:
            return False

    def stems(self, text: str) -> list[str]:
        """Stemmed terms of ``text``, in order, stop words left out."""
        return [term for term in map(self.stem.__getitem__, WORD_RE.findall(text)) if term]

    def vocabulary(self, text: str) -> tuple[set[str], set[str]]:
        """Distinct folded words of ``text`` and its accented spellings, stop words left out."""
        tokens = set(WORD_RE.findall(text))
        words = set(map(self.exact.__getitem__, tokens))
        words.discard("")
        accented = set(map(self.spelling.__getitem__, tokens))
        accented.discard("")
        return words, accented


def stop_words(lang: str) -> frozenset[str]:
    """The words the analyzers of ``lang`` leave out, with and without their accents."""
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
        | StopFilter(stoplist=stop_words("es"))
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
        | StopFilter(stoplist=stop_words("en"))
        | CharsetFilter(accent_map)
        | StemFilter(lang="en")
    )


def exact_analyzer(lang: str) -> Analyzer:
    """Lowercased, accent-folded, unstemmed: the vocabulary for typo tolerance and suggestions."""
    return (
        RegexTokenizer(WORD_PATTERN)
        | LowercaseFilter()
        | StopFilter(stoplist=stop_words(lang))
        | CharsetFilter(accent_map)
    )


STEMMING_ANALYZERS = {"es": spanish_analyzer, "en": english_analyzer}


def stemmed_field(name: str, lang: str) -> str:
    """``title_es``, ``text_en``...: the searched fields (``name`` in FIELD_BOOSTS)."""
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
        # Only in the vocabulary documents: folded word -> accented spelling.
        spellings=fields.STORED(),
    )
    for lang in LANGUAGES:
        # No phrase queries are issued, so positions are not worth their space.
        stemming = STEMMING_ANALYZERS[lang]()
        for name in FIELD_BOOSTS:
            schema.add(stemmed_field(name, lang), fields.TEXT(analyzer=stemming, phrase=False))
        # The vocabulary (folded, unstemmed words) for typo tolerance and
        # suggestions, never searched or scored.  A rebuild puts it in one
        # vocabulary document per language (see the engine); documents indexed
        # later carry their own words.  Marked scorable all the same: Whoosh's
        # commit looks up a length for every posting, and without a length
        # column that lookup stats a file each time.
        schema.add(
            exact_field(lang),
            fields.FieldType(
                format=formats.Existence(), analyzer=exact_analyzer(lang), scorable=True
            ),
        )
    return schema


def schema_is_current(schema: fields.Schema) -> bool:
    """False for an index written with another field layout (it needs a rebuild)."""
    expected = build_schema()
    for name in expected.names():
        if name not in schema:
            return False
        if type(schema[name].format) is not type(expected[name].format):
            return False
    return True
