"""Body snippets with matched words wrapped in ``<mark>``; everything else HTML-escaped.

The fragments are the ones Whoosh's ``ContextFragmenter`` + ``BasicFragmentScorer``
+ ``top_fragments(order=FIRST)`` would pick (same rules, quirks included),
computed from the positions of the matched words instead of a generator of
``Token`` objects for every word of the body, which made snippets the most
expensive part of a search.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection, Sequence
from itertools import compress, count

from kb.search.text import WORD_RE

FALLBACK_CHARS = 200
FRAGMENT_CHARS = 160  # characters of words (not counting what lies between them)
SURROUND = 50  # context before the first and after the last match of a fragment
MAX_FRAGMENTS = 2
# Only the start of very long bodies is searched for fragments.
CHAR_LIMIT = 32_768
ELLIPSIS = "…"


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def plain_snippet(text: str, limit: int = FALLBACK_CHARS) -> str:
    """The start of the text, cut at a word boundary, escaped."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return html.escape(text)
    cut = text[:limit]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return html.escape(cut.rstrip()) + " " + ELLIPSIS


_Fragment = tuple[int, int, list[int]]  # startchar, endchar, indexes of matched tokens


def _fragments(
    tokens: Sequence[re.Match[str]], flags: list[bool], hits: list[int]
) -> list[_Fragment]:
    """Matched tokens grouped with their context, as Whoosh's ContextFragmenter does.

    ``flags[i]`` tells whether token ``i`` (``tokens[i]``) matched; ``hits``
    lists those tokens.  Whoosh walks every token; between fragments a token
    only matters as context before the next match, so this jumps from match to
    match and looks back for the context (same fragments, quirks included:
    a fragment whose countdown ends exactly at zero swallows the next
    unmatched token, a matched token longer than a fragment is skipped).
    """
    n = len(flags)
    out: list[_Fragment] = []
    i = 0  # next token to look at
    h = 0  # next entry of hits
    start_from = 0  # first token appended to the before-context since the last reset
    pending_zero = False  # a fragment just ended with its countdown exactly at zero
    nhits = len(hits)
    while i < n:
        if pending_zero:
            pending_zero = False
            start, end = tokens[i].span()
            length = end - start
            if not flags[i] or length > FRAGMENT_CHARS:
                i += 1
                start_from = i
                continue
            j = i
            first = start
            countdown = 2 * SURROUND
        else:
            while h < nhits and hits[h] < i:
                h += 1
            if h == nhits:
                break
            j = hits[h]
            start, end = tokens[j].span()
            length = end - start
            if length > FRAGMENT_CHARS:
                i = j + 1
                start_from = i
                continue
            # The unmatched tokens since the last fragment that start at most
            # SURROUND characters before the end of the last one open this one.
            first = start
            countdown = SURROUND
            k = j - 1
            limit = tokens[k].end() - SURROUND if k >= start_from else 0
            while k >= start_from and tokens[k].start() >= limit:
                k -= 1
            if k + 1 < j:
                first = tokens[k + 1].start()
            else:
                countdown += SURROUND  # no context before: more after
        matches = [j]
        currentlen = length
        countdown -= length
        i = j + 1
        while countdown > 0 and i < n:
            start, end = tokens[i].span()
            length = end - start
            if currentlen + length > FRAGMENT_CHARS:
                countdown = 0
            elif flags[i]:
                countdown = SURROUND
                matches.append(i)
            currentlen += length
            countdown -= length
            i += 1
        # Finished, or the text ended inside the fragment.
        out.append((first, end, matches))
        pending_zero = countdown == 0
        start_from = i
    return out


def _widen_to_whitespace(text: str, start: int, end: int, reach: int = 20) -> tuple[int, int]:
    """Fragments start and end on word characters; include the punctuation around
    them (closing full stop, "<b>" around a word) instead of cutting it in half."""
    low = start
    while low > 0 and not text[low - 1].isspace() and start - low < reach:
        low -= 1
    high = end
    while high < len(text) and not text[high].isspace() and high - end < reach:
        high += 1
    return low, high


def _format(text: str, start: int, end: int, marks: list[tuple[int, int]]) -> str:
    out = []
    index = start
    for mark_start, mark_end in marks:
        if mark_start < index:
            continue
        if mark_start > index:
            out.append(_escape(text[index:mark_start]))
        out.append(f"<mark>{_escape(text[mark_start:mark_end])}</mark>")
        index = mark_end
    out.append(_escape(text[index:end]))
    return "".join(out)


def highlight_snippet(text: str, terms: Collection[str], stem: Callable[[str], str | None]) -> str:
    """Best fragments of ``text`` with the words whose ``stem`` is in ``terms`` marked.

    Falls back to the start of the text when nothing matches.
    """
    if not text or not terms:
        return plain_snippet(text)
    terms = frozenset(terms)
    tokens = list(WORD_RE.finditer(text, 0, CHAR_LIMIT))
    words = list(map(re.Match.group, tokens))
    flags = list(map(terms.__contains__, map(stem, words)))
    if True not in flags:
        return plain_snippet(text)
    hits = list(compress(count(), flags))
    scored = []
    for start, end, matches in _fragments(tokens, flags, hits):
        # BasicFragmentScorer: matches, times 100 per distinct matched word.
        score = len(matches) * (len({words[index] for index in matches}) * 100 or 1)
        scored.append((score, start, end, matches))
    # The best ones (a later fragment wins a tie, as in Whoosh), in text order.
    scored.sort(key=lambda fragment: (fragment[0], fragment[1]), reverse=True)
    best = sorted(scored[:MAX_FRAGMENTS], key=lambda fragment: fragment[1])
    if not best:
        return plain_snippet(text)
    pieces = []
    bounds = []
    for _score, start, end, matches in best:
        low, high = _widen_to_whitespace(text, start, end)
        bounds.append((low, high))
        pieces.append(_format(text, low, high, [tokens[index].span() for index in matches]))
    out = f" {ELLIPSIS} ".join(pieces)
    if WORD_RE.search(text, 0, bounds[0][0]):
        out = f"{ELLIPSIS} {out}"
    if WORD_RE.search(text, bounds[-1][1]):
        out = f"{out} {ELLIPSIS}"
    # Newlines inside a snippet read badly in a result list.
    return " ".join(out.split())
