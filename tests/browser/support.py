"""What the browser tests look at: untranslated text, axe-core's verdict, screenshots.

Imported by the browser tests only; nothing here starts a browser.
"""

import html
import re
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import django
import polib
import pytest
from django.apps import apps
from django.conf import settings
from django.utils import translation
from django.utils.text import capfirst
from playwright.sync_api import Page, expect

from tests.conftest import ROOT

ASSETS = Path(__file__).resolve().parent / "assets"
SCREENSHOTS = ROOT / "var" / "screenshots"
# A customer's browser asks for Spanish; staff browsers ask for the language of the journey.
LOCALES = {"es": "es-ES", "en": "en-GB"}
STAFF_PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
# The sizes of issue 14's walk-through: a desktop and a phone (pass as open_tab(viewport=...)).
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# A journey walked in both languages on both screens, each pairing once.
EVERY_LANGUAGE_AND_SCREEN = pytest.mark.parametrize(
    ("language", "size"),
    [("es", "desktop"), ("en", "phone"), ("en", "desktop"), ("es", "phone")],
    ids=["es-desktop", "en-phone", "en-desktop", "es-phone"],
)


def screen(size: str) -> dict:
    """open_tab's options for a "desktop" or a "phone" (touch, mobile viewport)."""
    if size == "phone":
        return {"viewport": PHONE, "is_mobile": True, "has_touch": True}
    return {"viewport": DESKTOP}


# --- Untranslated strings -------------------------------------------------------------------


def compiled_catalogues(language: str = "es") -> list[Path]:
    """Every compiled catalogue Django reads for ``language``: LOCALE_PATHS, each installed
    app's locale/ (ours and contrib's) and Django's own (dates, form errors)."""
    folders = [Path(folder) for folder in settings.LOCALE_PATHS]
    folders += [Path(config.path) / "locale" for config in apps.get_app_configs()]
    folders.append(Path(django.__file__).parent / "conf" / "locale")
    files = [folder / language / "LC_MESSAGES" / "django.mo" for folder in folders]
    return [path for path in files if path.exists()]


_TAG = re.compile(r"<[^>]+>")
_PLACEHOLDER = re.compile(r"%\([^)]+\)[sdif]|%[sdif]|\{[a-z_]*\}")
_LETTERS = re.compile(r"[^\W\d_]+")


def _letters(text: str) -> str:
    return "".join(_LETTERS.findall(_PLACEHOLDER.sub("", text)))


def _visible(text: str) -> str:
    """A catalogue string as a page shows it: no markup, entities decoded, one space."""
    return " ".join(html.unescape(_TAG.sub(" ", text.replace("%%", "%"))).split())


def _pattern(text: str) -> str | None:
    """A regex for a translated string wherever it shows up (placeholders match anything
    short), or None when the literal part is too thin to mean anything (e.g. "%(count)s")."""
    parts = _PLACEHOLDER.split(_visible(text))
    if sum(len(_LETTERS.findall(part)) for part in parts) == 0:
        return None
    literal = [r"\s+".join(map(re.escape, part.split(" "))) for part in parts]
    return r"(?<!\w)" + r"[^\n]{1,120}?".join(literal).strip() + r"(?!\w)"


@dataclass(frozen=True)
class Vocabulary:
    """What the compiled catalogues say about one language's pages.

    ``phrases``: strings that differ between the languages, written in the *other* language
    (English msgids for a Spanish page; Spanish msgstrs for an English page): none may appear.
    ``words``: words that only the other language uses in the catalogues, which catches English
    left in a Spanish page even when nobody marked it for translation, and the converse.
    """

    phrases: re.Pattern
    words: frozenset[str]


def _pairs() -> set[tuple[str, str]]:
    """(English, Spanish) for every string and plural form of the compiled catalogues."""
    pairs = set()
    for path in compiled_catalogues():
        for entry in polib.mofile(str(path)):
            if entry.msgid_plural:
                forms = entry.msgstr_plural
                found = [(entry.msgid if index == 0 else entry.msgid_plural, text)
                         for index, text in forms.items()]  # fmt: skip
            else:
                found = [(entry.msgid, entry.msgstr)]
            for english, spanish in found:
                # Three letters or fewer do not tell the languages apart ("aug" is "ago").
                if len(_letters(english)) > 3 and len(_letters(spanish)) > 3:
                    pairs.add((_visible(english), _visible(spanish)))
    return pairs


@cache
def vocabulary(language: str) -> Vocabulary:
    pairs = _pairs()
    english_words = {word.lower() for en, _ in pairs for word in _LETTERS.findall(en)}
    spanish_words = {word.lower() for _, es in pairs for word in _LETTERS.findall(es)}
    differing = [(en, es) for en, es in pairs if en != es]
    if language == "es":
        foreign, words = [en for en, _ in differing], english_words - spanish_words
    else:
        foreign, words = [es for _, es in differing], spanish_words - english_words
    patterns = sorted({p for p in map(_pattern, foreign) if p}, key=len, reverse=True)
    return Vocabulary(phrases=re.compile("|".join(patterns)), words=frozenset(words))


# Text of the page as people get it (screen readers included), leaving out parts marked as
# written in another language (lang="..."): the language switch, a result in the other
# language, the bilingual previews of the notices desk.
_PAGE_TEXT = """(language) => {
  const foreign = (el) => {
    const holder = el.closest('[lang]');
    return holder !== null && holder.lang.slice(0, 2).toLowerCase() !== language;
  };
  const outermost = [...document.body.querySelectorAll('[lang]')].filter(
    (el) => foreign(el) && (el.parentElement === null || !foreign(el.parentElement)));
  let text = document.body.innerText;
  for (const el of outermost) {
    if (el.innerText) text = text.replace(el.innerText, '\\n');
  }
  const chunks = [document.title, text];
  const attributes = ['aria-label', 'title', 'placeholder', 'alt', 'aria-description'];
  const selector = attributes.map((name) => `[${name}]`).join(',')
    + ',meta[name=description],input[type=submit],input[type=button]';
  for (const el of document.querySelectorAll(selector)) {
    if (el.tagName === 'META') { chunks.push(el.content); continue; }
    if (foreign(el)) continue;
    for (const name of attributes) chunks.push(el.getAttribute(name) || '');
    if (el.tagName === 'INPUT') chunks.push(el.value);
  }
  return chunks.join('\\n');
}"""

_EMAIL_OR_URL = re.compile(r"\S+@\S+|https?://\S+|/\S*/")
# A case reference is random letters, no language ("MJ2R-3HAN" holds the Spanish "han").
_CASE_REFERENCE = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}\b")


def untranslated(page: Page, language: str) -> list[str]:
    """The other language's strings and words found in the page (empty when all is well)."""
    # An address is no language: a link pasted in a reply ("/es/articles/...") is not English.
    text = _EMAIL_OR_URL.sub(" ", page.evaluate(_PAGE_TEXT, language))
    text = _CASE_REFERENCE.sub(" ", text)
    # Nor are the visitor's own words that the page repeats ("1 result for “reembolso”").
    for typed in parse_qs(urlsplit(page.url).query).get("q", []):
        if typed.strip():
            text = text.replace(typed.strip(), " ")
    found = {f"“{match.group(0)}”" for match in vocabulary(language).phrases.finditer(text)}
    words = vocabulary(language).words
    for line in text.splitlines():
        for word in _LETTERS.findall(line):
            if len(word) > 2 and word.lower() in words:
                found.add(f"{word} (in “{line.strip()[:80]}”)")
    return sorted(found)


# --- Accessibility --------------------------------------------------------------------------


@cache
def _axe_source() -> str:
    return (ASSETS / "axe.min.js").read_text(encoding="utf-8")


def serious_accessibility_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    # Evaluated through the DevTools protocol, so the page's CSP (script-src 'self') does not
    # apply: the site itself never loads this file.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                           nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' '))}))"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


# --- A visitor's browser tab ----------------------------------------------------------------


@dataclass
class Tab:
    """One browser page with the checks every journey step makes."""

    page: Page
    base_url: str
    language: str
    screenshots: Path
    errors: list[str] = field(default_factory=list)
    shots: int = 0

    def __post_init__(self) -> None:
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on(
            "console",
            lambda message: message.type == "error" and self.errors.append(message.text),
        )

    def goto(self, path: str):
        return self.page.goto(path if path.startswith("http") else self.base_url + path)

    def url_path(self) -> str:
        return self.page.url.removeprefix(self.base_url)

    def check(self, name: str, *, accessibility: bool = False) -> None:
        """A screenshot, then: no text of the other language, no script or console error, and
        (for the pages the issue names) no serious or critical axe-core violation."""
        self.shots += 1
        self.screenshots.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=self.screenshots / f"{self.shots:02d}-{name}.png", full_page=True)
        where = f"{name} ({self.url_path()}, {self.language})"
        found = untranslated(self.page, self.language)
        assert not found, f"untranslated text on {where}: {found}"
        assert not self.errors, f"errors in the browser on {where}: {self.errors}"
        if accessibility:
            violations = serious_accessibility_violations(self.page)
            assert not violations, f"axe-core on {where}: {violations}"


def in_language(language: str, text: str, plural: str = "", n: int = 1) -> str:
    """What the site shows for the source string ``text`` in ``language`` (from the same
    catalogues), so the tests find buttons and labels by the words a visitor reads."""
    with translation.override(language):
        if plural:
            return translation.ngettext(text, plural, n) % {"counter": n}
        return translation.gettext(text)


def log_in(tab: Tab, username: str, password: str) -> None:
    """The staff login form (the admin's), where opening a desk page leads."""
    page = tab.page
    expect(page).to_have_url(re.compile(r"/admin/login/\?next="))
    page.get_by_label(capfirst(in_language(tab.language, "username"))).fill(username)
    page.get_by_label(capfirst(in_language(tab.language, "password"))).fill(password)
    page.get_by_role("button", name=in_language(tab.language, "Log in")).click()


# --- Mail -----------------------------------------------------------------------------------


def mail_to(sink, address: str) -> list:
    return [message for message in list(sink.messages) if str(message["To"]) == address]


def wait_for_mail(sink, address: str, worker, count: int = 1, timeout: float = 60) -> list:
    """The messages the SMTP sink received for ``address``, once there are ``count`` (the
    worker that sends them is named so that its log explains a wait that ends empty-handed)."""
    deadline = time.monotonic() + timeout
    while len(mail_to(sink, address)) < count:
        if time.monotonic() > deadline:
            log = worker.log_path.read_text(errors="replace")[-3000:]
            pytest.fail(f"{count} email(s) to {address} not received in {timeout} s; {log}")
        time.sleep(0.1)
    return mail_to(sink, address)


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def link_in(message, path_part: str) -> str:
    """The one absolute link in the plain text of ``message`` whose path has ``path_part``."""
    links = [link for link in re.findall(r"https?://\S+", text_of(message)) if path_part in link]
    assert len(links) == 1, links
    return links[0]
