from django.core.management.base import BaseCommand
from tqdm import tqdm

from insights import services


class Command(BaseCommand):
    help = "Recompute the daily figures of the insights page (for backfilling history)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=90, help="How many days back, today included."
        )

    def handle(self, *args, days: int, **options):
        with tqdm(total=days, unit="day", disable=options["verbosity"] == 0) as bar:
            services.roll_up_recent_days(days=days, progress=lambda _day: bar.update(1))
        self.stdout.write(self.style.SUCCESS(f"Rolled up {days} days."))
