"""Body snippets with matched words wrapped in ``<mark>``; everything else HTML-escaped."""

from __future__ import annotations

import html
from collections.abc import Collection

from whoosh.analysis import Analyzer
from whoosh.highlight import (
    FIRST,
    BasicFragmentScorer,
    ContextFragmenter,
    Formatter,
    get_text,
    set_matched_filter,
    top_fragments,
)

from .analysis import WORD_RE

FALLBACK_CHARS = 200
FRAGMENT_CHARS = 160
MAX_FRAGMENTS = 2
ELLIPSIS = "…"


class MarkFormatter(Formatter):
    """Like Whoosh's HtmlFormatter but with a bare ``<mark>`` and quote escaping too."""

    def _text(self, text: str) -> str:
        return html.escape(text, quote=True)

    def format_token(self, text: str, token, replace: bool = False) -> str:
        return f"<mark>{self._text(get_text(text, token, replace))}</mark>"


_formatter = MarkFormatter()


def plain_snippet(text: str, limit: int = FALLBACK_CHARS) -> str:
    """The start of the text, cut at a word boundary, escaped."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return html.escape(text)
    cut = text[:limit]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return html.escape(cut.rstrip()) + " " + ELLIPSIS


def highlight_snippet(text: str, terms: Collection[str], analyzer: Analyzer) -> str:
    """Best fragments of ``text`` whose analysed tokens are in ``terms``.

    ``terms`` must be in the analyzer's output form (e.g. stems).  Falls back
    to the start of the text when nothing matches.
    """
    if text and terms:
        tokens = analyzer(text, chars=True, mode="query", removestops=False)
        fragmenter = ContextFragmenter(maxchars=FRAGMENT_CHARS, surround=50)
        fragments = fragmenter.fragment_tokens(text, set_matched_filter(tokens, frozenset(terms)))
        best = top_fragments(fragments, MAX_FRAGMENTS, BasicFragmentScorer(), FIRST, minscore=1)
        if best:
            out = f" {ELLIPSIS} ".join(_formatter.format_fragment(f) for f in best)
            if WORD_RE.search(text, 0, best[0].startchar):
                out = f"{ELLIPSIS} {out}"
            if WORD_RE.search(text, best[-1].endchar):
                out = f"{out} {ELLIPSIS}"
            # Newlines inside a snippet read badly in a result list.
            return " ".join(out.split())
    return plain_snippet(text)
