"""The two languages of the site, shared by every app."""

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    SPANISH = "es", _("Spanish")
    ENGLISH = "en", _("English")


def current_language() -> str:
    """The active language as "es" or "en" (the site default for anything else)."""
    language = (get_language() or settings.LANGUAGE_CODE)[:2]
    return language if language in Language.values else settings.LANGUAGE_CODE


def localized(instance, field: str) -> str:
    """``instance.<field>_en`` in English when it is filled in, else ``<field>_es``."""
    english = getattr(instance, f"{field}_en", "") if current_language() == "en" else ""
    return english or getattr(instance, f"{field}_es")
