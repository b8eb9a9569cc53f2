"""What the index stores for one :class:`SearchDocument`: its stored values and the analysed
term lists of its language's fields (used by the backend and by the fast path's self-test)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from kb.search.base import SearchDocument
from kb.search.text import normalize_text

from .analysis import FIELD_PARTS, LANGUAGES, LanguageAnalysis, exact_field, stemmed_field


def normalize_language(language: str) -> str:
    """``"es"``, ``"es-mx"`` and ``"ES_es"`` -> ``"es"``; ValueError for unsupported languages."""
    lang = (language or "").strip().lower().replace("_", "-").split("-")[0]
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; expected one of {LANGUAGES}")
    return lang


def document_fields(
    doc: SearchDocument,
    analyses: dict[str, LanguageAnalysis],
    spellings: Counter[str] | None = None,
) -> dict[str, Any]:
    """Stored values plus ready-analysed term lists for the document's language.

    The document's accented spellings are counted into ``spellings`` if given.
    """
    lang = normalize_language(doc.language)
    analysis = analyses[lang]
    texts = {
        "title": normalize_text(doc.title),
        "keywords": normalize_text(doc.keywords),
        "summary": normalize_text(doc.summary),
        "body": normalize_text(doc.body),
    }
    fields: dict[str, Any] = {
        "id": str(doc.id),
        "language": lang,
        "translation_key": doc.translation_key or "",
        "category": doc.category or "",
        "url": doc.url,
        **texts,
    }
    stems = {name: analysis.stems(text) for name, text in texts.items()}
    for name, parts in FIELD_PARTS.items():
        terms: list[str] = []
        for part, weight in parts:
            terms.extend(stems[part] * weight)
        fields[stemmed_field(name, lang)] = terms
    words, accented = analysis.vocabulary("\n".join(texts.values()))
    fields[exact_field(lang)] = list(words)
    if spellings is not None:
        spellings.update(accented)
    return fields
