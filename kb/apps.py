from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KbConfig(AppConfig):
    name = "kb"
    verbose_name = _("Knowledge base")

    def ready(self) -> None:
        from foundation import process_memo
        from foundation.i18n import register_language_switch
        from kb import checks  # noqa: F401  (registers the system checks)
        from kb.selectors import article_language_switch

        process_memo.watch(self.get_model("Article"), self.get_model("SearchSynonym"))
        # An article's slug differs between its versions: the switch finds the translation.
        register_language_switch("kb:article", article_language_switch)
