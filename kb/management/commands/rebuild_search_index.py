from django.core.management.base import BaseCommand
from tqdm import tqdm

from kb import services
from kb.services.indexing import published_article_count


class Command(BaseCommand):
    help = (
        "Rebuild the knowledge base search index from the database. Atomic: searches keep using "
        "the old index until the new one is complete."
    )

    def handle(self, *args, **options) -> None:
        total = published_article_count()
        with tqdm(
            total=total, unit="article", desc="Indexing", file=self.stdout, disable=total == 0
        ) as bar:
            count = services.rebuild_search_index(progress=lambda done: bar.update(done - bar.n))
        self.stdout.write(self.style.SUCCESS(f"Search index rebuilt: {count} published articles."))
