"""Markdown written by staff to safe HTML: Python-Markdown renders, nh3 keeps only an allowlist.

Used for knowledge-base articles and for announcements; nothing written in Markdown reaches a
page or an email without passing through ``render_markdown``.
"""

import html
import re
from dataclasses import dataclass, field

import markdown
import nh3
from django.utils.translation import gettext

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "span",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "th": {"align"},
    "td": {"align"},
}
# Anything else (javascript:, data:, vbscript:) is dropped from links by nh3.
ALLOWED_URL_SCHEMES = {"http", "https", "mailto", "tel"}
TABLE_OF_CONTENTS_MIN_HEADINGS = 3


@dataclass(frozen=True)
class RenderedMarkdown:
    html: str
    headings: list[dict] = field(default_factory=list)  # [{"id", "name", "children": [...]}]

    @property
    def has_table_of_contents(self) -> bool:
        count = sum(1 + len(heading["children"]) for heading in self.headings)
        return count >= TABLE_OF_CONTENTS_MIN_HEADINGS


def render_markdown(text: str) -> RenderedMarkdown:
    """Render Markdown written by staff (or anyone) into HTML that is safe to show as is."""
    converter = markdown.Markdown(
        extensions=["toc", "tables", "sane_lists", "fenced_code"],
        extension_configs={
            "toc": {
                "permalink": "#",
                "permalink_class": "heading-anchor",
                "permalink_title": gettext("Link to this section"),
                "toc_depth": "2-3",
            }
        },
    )
    raw_html = converter.convert(text)
    safe_html = nh3.clean(
        raw_html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return RenderedMarkdown(html=safe_html, headings=_plain_headings(converter.toc_tokens))


def _plain_headings(tokens: list[dict]) -> list[dict]:
    return [
        {"id": token["id"], "name": token["name"], "children": _plain_headings(token["children"])}
        for token in tokens
    ]


_HEADING = re.compile(r"<h[1-6][^>]*>(.*?)</h[1-6]>", re.DOTALL)
_SENTENCE_END = re.compile(r"[.!?:;…]\s*$")


def _heading_sentence(match: re.Match[str]) -> str:
    """A heading as a sentence of its own ("Plazos" -> "Plazos."), so the text after it
    does not read as its continuation in a search snippet."""
    heading = match.group(1).strip()
    plain = html.unescape(nh3.clean(heading, tags=set())).strip()
    if not plain:
        return " "
    return f" {heading}{'' if _SENTENCE_END.search(plain) else '.'} "


def markdown_to_text(text: str) -> str:
    """Plain text of a Markdown body, for the search index (headings end as sentences)."""
    rendered = markdown.markdown(text, extensions=["tables", "sane_lists"])
    rendered = _HEADING.sub(_heading_sentence, rendered)
    return " ".join(html.unescape(nh3.clean(rendered, tags=set())).split())
