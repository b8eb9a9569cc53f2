"""The two languages of the site, shared by every app."""

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from django.conf import settings
from django.db import models
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.translation import get_language, override
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


# --- The language switch --------------------------------------------------------------------


@dataclass(frozen=True)
class LanguageSwitch:
    """Where the language switch leads from a page: its version in the other language, or the
    nearest page that has one, with a ``note`` saying why the visitor is not on the same page
    (translated in the new language when shown)."""

    url: str
    note: str = ""


# URL name ("kb:article") -> the app's answer for that kind of page: called with the page's
# URL keyword arguments and ``from_language``/``language``; None when it has nothing to say.
LanguageSwitcher = Callable[..., LanguageSwitch | None]
_switchers: dict[str, LanguageSwitcher] = {}


def register_language_switch(url_name: str, switcher: LanguageSwitcher) -> None:
    """Say where the switch leads from pages whose URL differs between the languages (an
    article's slug is per language); every other page keeps its path under the new prefix.
    Apps register theirs in ``AppConfig.ready``."""
    _switchers[url_name] = switcher


def language_switch(url: str, language: str) -> LanguageSwitch:
    """The page in ``language`` for the site-relative ``url`` (query string kept): never a
    404 (an unknown page leads to the home page)."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    prefix = path.lstrip("/").split("/", 1)[0]
    from_language = prefix if prefix in Language.values else current_language()
    with override(from_language):
        try:
            match = resolve(path)
        except Resolver404:
            match = None
    switch = None
    if match is not None:
        switcher = _switchers.get(match.view_name)
        if switcher is not None:
            switch = switcher(from_language=from_language, language=language, **match.kwargs)
        else:
            with override(language):
                try:
                    target = reverse(match.view_name, args=match.args, kwargs=match.kwargs)
                except NoReverseMatch:
                    target = None
            if target is not None:
                switch = LanguageSwitch(urlunsplit(("", "", target, parts.query, parts.fragment)))
    if switch is None:
        with override(language):
            switch = LanguageSwitch(reverse("kb:home"))
    return switch
