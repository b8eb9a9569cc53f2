from django.core.management.base import BaseCommand

from kb import services


class Command(BaseCommand):
    help = (
        "Turn what visitors did after searching (helpful votes, 'this solved it') into learned "
        "search words per article, and re-index the articles whose words changed."
    )

    def handle(self, *args, **options) -> None:
        outcome = services.learn()
        self.stdout.write(
            self.style.SUCCESS(
                f"Search learned from {outcome.signals} signals: {outcome.active} words in use; "
                f"{outcome.changed_articles} articles to re-index."
            )
        )
