from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from foundation import process_memo
        from notifications.services import incidents, outbox, subscribers

        process_memo.watch(
            self.get_model("Announcement"),
            self.get_model("OpeningHours"),
            self.get_model("CalendarException"),
        )
        # Subscription mail holds placeholders; the outbox mints the links as it sends.
        outbox.register_link_minter(
            subscribers.CONFIRM_LINK_SCOPE, subscribers.mint_confirmation_link
        )
        # The announcement fan-out too: a chunk's unsubscribe links are minted at once.
        outbox.register_link_minter(
            subscribers.MANAGE_LINK_SCOPE,
            subscribers.mint_manage_link,
            mint_many=subscribers.mint_manage_links,
        )
        # So does the mail to an incident's followers (its stop link), also sent in chunks.
        outbox.register_link_minter(
            incidents.STOP_LINK_SCOPE, incidents.mint_stop_link, mint_many=incidents.mint_stop_links
        )
