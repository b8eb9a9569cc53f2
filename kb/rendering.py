"""Article bodies rendered once per version and cached."""

from foundation import shared_cache
from foundation.markdown import RenderedMarkdown, markdown_to_text, render_markdown

__all__ = ["RenderedMarkdown", "markdown_to_text", "render_article_body", "render_markdown"]


def render_article_body(
    *, article_id: int, version: str, body: str, language: str
) -> RenderedMarkdown:
    """The rendered body, cached per article version (the cache key changes with every save).

    Rendered again when the cache is down."""
    key = f"kb:article-html:{article_id}:{version}:{language}"
    rendered = shared_cache.read(key)
    if rendered is None:
        rendered = render_markdown(body)
        shared_cache.write(key, rendered, timeout=60 * 60 * 24)
    return rendered
