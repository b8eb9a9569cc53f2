from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboundConfig(AppConfig):
    name = "inbound"
    verbose_name = _("Email in")

    def ready(self) -> None:
        from inbound.sources import webhooks

        # Messages posted by email providers (django-anymail's inbound signal) are stored.
        webhooks.connect()
