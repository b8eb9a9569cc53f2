from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from helpcenter import process_memo

        # The status page takes a case's reason and team from the copy each process keeps.
        process_memo.watch(self.get_model("ContactReason"), self.get_model("Team"))
