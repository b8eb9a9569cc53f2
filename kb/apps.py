from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KbConfig(AppConfig):
    name = "kb"
    verbose_name = _("Knowledge base")

    def ready(self) -> None:
        from helpcenter import process_memo
        from kb import checks  # noqa: F401  (registers the system checks)

        process_memo.watch(self.get_model("Article"))
