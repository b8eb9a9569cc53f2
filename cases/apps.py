from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from cases.services.access import LINK_SCOPE, mint_emailed_link
        from foundation import process_memo
        from notifications.services.outbox import register_link_minter

        # Case emails hold a placeholder; the outbox mints the link when it sends them.
        register_link_minter(LINK_SCOPE, mint_emailed_link)

        # The status page takes a case's reason and team from the copy each process keeps.
        process_memo.watch(self.get_model("ContactReason"), self.get_model("Team"))
