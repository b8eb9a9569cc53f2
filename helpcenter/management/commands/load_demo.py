from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

# Each app contributes its demo content through a ``demo.load(stdout)`` function, in this order
# (cases need the knowledge base and the opening hours).
DEMO_MODULES = ["notifications.demo", "kb.demo", "cases.demo", "helpcenter.demo_history"]

DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "admin-demo-2026"  # noqa: S105 (published on purpose; DEBUG only)


class Command(BaseCommand):
    help = "Load the demo content and the demo admin account. Safe to run again: nothing doubles."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load even with DEBUG off (the demo admin has a published password).",
        )

    def handle(self, *args, allow_production: bool = False, **options) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "load_demo creates an admin with a published password; it runs only with DEBUG=1 "
                "(or --allow-production)."
            )
        with transaction.atomic():
            self._ensure_demo_admin()
            for module_name in DEMO_MODULES:
                try:
                    module = import_module(module_name)
                except ModuleNotFoundError as error:
                    if error.name != module_name:
                        raise
                    continue
                module.load(stdout=self.stdout)
                self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo content is loaded."))
        self.stdout.write(
            f"  Site:  {settings.SITE_URL}/\n"
            f"  Admin: {settings.SITE_URL}/admin/  user {DEMO_ADMIN_USERNAME!r}, "
            f"password {DEMO_ADMIN_PASSWORD!r}"
        )

    def _ensure_demo_admin(self) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(username=DEMO_ADMIN_USERNAME).exists():
            return
        user_model.objects.create_superuser(
            username=DEMO_ADMIN_USERNAME,
            email="admin@example.com",
            password=DEMO_ADMIN_PASSWORD,
            first_name="Demo",
            last_name="Admin",
        )
