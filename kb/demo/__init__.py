"""The demo knowledge base: categories and articles in Spanish and English (kb/demo/)."""

import json
from pathlib import Path
from typing import TextIO

from foundation.queueing import leave_to_sweepers
from kb import services
from kb.models import Article, Category

DEMO_DIR = Path(__file__).resolve().parent
HEADER_KEYS = ("title", "slug", "category", "summary", "keywords")


def parse_article_file(path: Path) -> dict:
    """A demo article: "Key: value" header lines, a blank line, then the Markdown body."""
    header, _, body = path.read_text(encoding="utf-8").partition("\n\n")
    fields = {}
    for line in header.splitlines():
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
    missing = [key for key in HEADER_KEYS if not fields.get(key)]
    if missing:
        raise ValueError(f"{path.name}: missing {', '.join(missing)}")
    translation_key, language = path.name.removesuffix(".md").rsplit(".", 1)
    return {
        **fields,
        "body": body.strip() + "\n",
        "language": language,
        "translation_key": translation_key,
    }


def load(stdout: TextIO) -> None:
    categories = {}
    for item in json.loads((DEMO_DIR / "categories.json").read_text(encoding="utf-8")):
        category, _ = Category.objects.get_or_create(
            slug=item["slug"],
            defaults={
                key: item[key]
                for key in (
                    "position",
                    "name_es",
                    "name_en",
                    "description_es",
                    "description_en",
                    "icon",
                )
            },
        )
        categories[category.slug] = category

    # Each article stays pending in IndexingState instead of queueing a task: `make run`
    # rebuilds the index right after loading (so the worker would only index them all again),
    # and without a rebuild the sweeper queues them within a few minutes.
    with leave_to_sweepers("kb.tasks.sync_article_to_index"):
        created = _load_articles(categories)
    stdout.write(f"  knowledge base: {created} articles added, {Article.objects.count()} in all")


def _load_articles(categories: dict) -> int:
    created = 0
    for path in sorted((DEMO_DIR / "articles").glob("*.md")):
        fields = parse_article_file(path)
        if Article.objects.filter(
            translation_key=fields["translation_key"], language=fields["language"]
        ).exists():
            continue
        article = Article(
            title=fields["title"],
            slug=fields["slug"],
            summary=fields["summary"],
            keywords=fields["keywords"],
            body=fields["body"],
            language=fields["language"],
            translation_key=fields["translation_key"],
            category=categories[fields["category"]],
        )
        services.publish_article(article=article, actor=None)
        created += 1
    return created
