"""Whether the fast path over Whoosh's private internals is in use: a checked fact.

The BM25 scorer (:mod:`.postings`) and the rebuild writer (:mod:`.building`)
read and replace private parts of the pinned ``whoosh-reloaded==2.7.5``.  With
another version they fall back to Whoosh's public API: the same results,
hundreds of milliseconds slower.  Two things tell whether that happened:

* :func:`probe`: once per process, a small in-memory index (several segments,
  deletions, multi-block posting lists) is written with the rebuild writer and
  read back through every fast function in strict mode, each compared with
  Whoosh's public API;
* :func:`.fastpath.fallbacks`: every fallback taken since the process started,
  the first reason of each kind (each also logged once as a warning).

:func:`reason_off` joins both for the backend's ``fast_path``; the system check
``kb.W001`` and ``/healthz`` report it.  The self-test has a module of its own
because it imports the modules it exercises, which import :mod:`.fastpath`.
"""

from __future__ import annotations

from functools import lru_cache

from whoosh.filedb.filestore import RamStorage

from kb.search.base import SearchDocument

from . import fastpath, postings
from .analysis import FIELD_BOOSTS, LanguageAnalysis, build_schema, stemmed_field
from .building import TermGroupingPool, rebuild_writer
from .documents import document_fields
from .fastpath import FastPathUnavailable


def reason_off() -> str | None:
    """Why the fast path is off in this process, or None when it is on."""
    reason = probe()
    if reason is not None:
        return reason
    taken = fastpath.fallbacks()
    return "; ".join(f"{place}: {why}" for place, why in sorted(taken.items())) or None


@lru_cache(maxsize=1)
def probe() -> str | None:
    """None when every fast function works with the installed Whoosh, else why not."""
    try:
        exercise()
    except Exception as exc:
        return f"{exc}" if isinstance(exc, FastPathUnavailable) else f"probe failed: {exc!r}"
    return None


def exercise() -> None:
    """Write and read a small index through the fast path in strict mode (raises if off)."""
    if postings.INTERNALS_ERROR is not None:
        raise FastPathUnavailable(f"postings: {postings.INTERNALS_ERROR}")
    schema = build_schema()
    analyses = {"es": LanguageAnalysis(schema, "es")}

    def document(number: int) -> dict:
        words = " ".join(["pago"] * (1 + number % 3) + [f"palabra{number}"])
        doc = SearchDocument(
            id=number,
            language="es",
            translation_key=f"probe-{number}",
            title=f"Pago {number}",
            keywords="pago, tarjeta",
            summary="Resumen del pago.",
            body=f"Texto {words} con tarjeta.",
            category="probe",
            url=f"/probe/{number}/",
        )
        return document_fields(doc, analyses)

    ix = RamStorage().create_index(schema)
    # Blocks of 4 postings, so the common words' posting lists span several blocks.
    writer = rebuild_writer(ix, block_postings=4, strict=True)
    if not isinstance(writer.pool, TermGroupingPool):
        raise FastPathUnavailable("rebuild: the posting pool was not replaced")
    for number in range(12):
        writer.add_document(**document(number))
    writer.commit()
    # A second segment and deletions, as incremental writes leave them.
    writer = ix.writer()
    for number in range(12, 15):
        writer.add_document(**document(number))
    writer.delete_by_term("id", "3")
    writer.delete_by_term("id", "13")
    writer.commit(merge=False)

    with ix.reader() as reader:
        leaves = list(reader.leaf_readers())
        if len(leaves) < 2:
            raise FastPathUnavailable("probe: expected several segments")
        common = leaves[0][0].postings(stemmed_field("title", "es"), analyses["es"].stem["pago"])
        if postings.FilterMatcher is not None and isinstance(common, postings.FilterMatcher):
            common = common.child
        if type(common) is not postings.W3LeafMatcher:
            raise FastPathUnavailable(f"postings: a common word has a {type(common).__name__}")
        for leaf, _offset in leaves:
            count = leaf.doc_count_all()
            deleted = postings._leaf_deleted(leaf, strict=True)
            if deleted != {d for d in range(count) if leaf.is_deleted(d)}:
                raise FastPathUnavailable("deletions: differ from is_deleted()")
            for name in FIELD_BOOSTS:
                field = stemmed_field(name, "es")
                lengths = postings._leaf_lengths(leaf, field, strict=True)
                if lengths != [leaf.doc_field_length(d, field, 0) or 0 for d in range(count)]:
                    raise FastPathUnavailable(f"lengths: {field} differs from doc_field_length()")
                for term in leaf.field_terms(field):
                    ids, weights = postings._raw_leaf_postings(leaf, field, term, strict=True)
                    kept = [(i, w) for i, w in zip(ids, weights, strict=True) if i not in deleted]
                    public = postings._generic_postings(leaf.postings(field, term))
                    if kept != list(zip(*public, strict=True)):
                        raise FastPathUnavailable(f"postings: {field}:{term} differ from Whoosh's")
