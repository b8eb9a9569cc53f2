"""A faster Whoosh writer setup for full rebuilds.

Two costs dominate Whoosh 2.7's commit of a large segment, both per posting:

* its posting pool keeps one tuple per posting, sorts all of them at the end
  and, past ``limitmb``, pickles sorted runs to disk and merges them back one
  item at a time;
* the codec looks up the document's field length for every posting, only to
  keep per-block length bounds for Whoosh's own scorer's block skipping,
  which this package does not use.

A rebuild adds documents in ascending document order with every term once per
document and field, so the postings of a term arrive already sorted:
:class:`TermGroupingPool` groups them per term as they come (a few flat
lists, no sort, nothing spilled) and hands them to the codec in the order it
needs.  Writers are never stored in the index, so none of this ties the
on-disk index to this module; it only relies on the pinned Whoosh version's
``SegmentWriter.pool`` attribute and codec ``length_stats`` flag.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from whoosh.codec.whoosh3 import W3Codec
from whoosh.index import FileIndex
from whoosh.writing import SegmentWriter

from .fastpath import fell_back

Posting = tuple[str, bytes, int, float, bytes]

# Postings per block and zlib level of the rebuilt segment.  Whoosh's defaults
# (128, level 3) suit its own block-skipping scorer; here whole posting lists
# are decoded, and bigger, lightly compressed blocks decode in about 60% of
# the time and take less space.
BLOCK_POSTINGS = 1024
COMPRESSION = 1


class TermGroupingPool:
    """Drop-in for Whoosh's ``PostingPool`` when documents arrive in docnum order."""

    def __init__(self) -> None:
        self._fields: dict[str, dict[bytes, list[Any]]] = {}
        self.fieldnames: set[str] = set()
        # Equal weights and encoded values are shared instead of kept once per posting.
        self._shared: dict[Any, Any] = {}

    def add(self, item: Posting) -> None:
        fieldname, text, docnum, weight, value = item
        terms = self._fields.get(fieldname)
        if terms is None:
            terms = self._fields[fieldname] = {}
            self.fieldnames.add(fieldname)
        postings = terms.get(text)
        if postings is None:
            postings = terms[text] = []
        elif postings[-3] >= docnum:
            raise ValueError("postings must be added in ascending document order")
        shared = self._shared.setdefault
        postings += (docnum, shared(weight, weight), shared(value, value))

    def iter_postings(self) -> Iterator[Posting]:
        for fieldname in sorted(self._fields):
            terms = self._fields[fieldname]
            for text in sorted(terms):
                postings = terms[text]
                for index in range(0, len(postings), 3):
                    yield (fieldname, text, *postings[index : index + 3])

    def cleanup(self) -> None:
        self._fields.clear()


def rebuild_writer(
    ix: FileIndex, *, block_postings: int = BLOCK_POSTINGS, strict: bool = False
) -> SegmentWriter:
    """A writer for filling a new, empty index in one go (one segment).

    ``strict``: raise :class:`.fastpath.FastPathUnavailable` instead of falling back.
    """
    codec = W3Codec(blocklimit=block_postings, compression=COMPRESSION)
    if not hasattr(codec, "length_stats"):
        fell_back("rebuild", "W3Codec has no length_stats flag", strict=strict)
    codec.length_stats = False
    writer = ix.writer(procs=1, codec=codec)
    if not isinstance(writer, SegmentWriter) or not hasattr(writer, "pool"):
        # Another Whoosh version: keep its own pool (a slower rebuild, same index).
        fell_back("rebuild", f"{type(writer).__name__} has no posting pool", strict=strict)
        return writer
    writer.pool = TermGroupingPool()
    return writer
