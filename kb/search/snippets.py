"""Body snippets with matched words wrapped in ``<mark>``; everything else HTML-escaped."""

from __future__ import annotations

import html
from collections.abc import Callable, Collection, Iterator

from whoosh.analysis import Token
from whoosh.highlight import (
    FIRST,
    BasicFragmentScorer,
    ContextFragmenter,
    Formatter,
    Fragment,
    get_text,
    top_fragments,
)

from .analysis import WORD_RE

FALLBACK_CHARS = 200
FRAGMENT_CHARS = 160
MAX_FRAGMENTS = 2
# Only the start of very long bodies is searched for fragments.
CHAR_LIMIT = 32_768
ELLIPSIS = "…"


class MarkFormatter(Formatter):
    """Like Whoosh's HtmlFormatter but with a bare ``<mark>`` and quote escaping too."""

    def _text(self, text: str) -> str:
        return html.escape(text, quote=True)

    def format_token(self, text: str, token, replace: bool = False) -> str:
        return f"<mark>{self._text(get_text(text, token, replace))}</mark>"


_formatter = MarkFormatter()


def _widen_to_whitespace(text: str, fragment: Fragment, reach: int = 20) -> None:
    """Fragments start and end on word characters; include the punctuation around
    them (closing full stop, "<b>" around a word) instead of cutting it in half."""
    start = fragment.startchar
    while start > 0 and not text[start - 1].isspace() and fragment.startchar - start < reach:
        start -= 1
    end = fragment.endchar
    while end < len(text) and not text[end].isspace() and end - fragment.endchar < reach:
        end += 1
    fragment.startchar, fragment.endchar = start, end


def plain_snippet(text: str, limit: int = FALLBACK_CHARS) -> str:
    """The start of the text, cut at a word boundary, escaped."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return html.escape(text)
    cut = text[:limit]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return html.escape(cut.rstrip()) + " " + ELLIPSIS


def _tokens(text: str, terms: frozenset[str], stem: Callable[[str], str | None]) -> Iterator[Token]:
    # Same tokens the index analyzer produces (\w+), analysed word by word
    # through a memo: running the full analyzer chain over every body costs
    # milliseconds per hit.
    for match in WORD_RE.finditer(text, 0, CHAR_LIMIT):
        yield Token(
            text=match.group(),
            startchar=match.start(),
            endchar=match.end(),
            matched=stem(match.group()) in terms,
        )


def highlight_snippet(text: str, terms: Collection[str], stem: Callable[[str], str | None]) -> str:
    """Best fragments of ``text`` with the words whose ``stem`` is in ``terms`` marked.

    Falls back to the start of the text when nothing matches.
    """
    if text and terms:
        fragmenter = ContextFragmenter(maxchars=FRAGMENT_CHARS, surround=50)
        fragments = fragmenter.fragment_tokens(text, _tokens(text, frozenset(terms), stem))
        best = top_fragments(fragments, MAX_FRAGMENTS, BasicFragmentScorer(), FIRST, minscore=1)
        if best:
            for fragment in best:
                _widen_to_whitespace(text, fragment)
            out = f" {ELLIPSIS} ".join(_formatter.format_fragment(f) for f in best)
            if WORD_RE.search(text, 0, best[0].startchar):
                out = f"{ELLIPSIS} {out}"
            if WORD_RE.search(text, best[-1].endchar):
                out = f"{out} {ELLIPSIS}"
            # Newlines inside a snippet read badly in a result list.
            return " ".join(out.split())
    return plain_snippet(text)
