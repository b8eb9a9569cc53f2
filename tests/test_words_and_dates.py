"""Issue 14, item 12: words and dates. Every page (customer pages, the desk, the notices desk,
insights) and every kind of email is rendered in both languages from the demo content and read
as a visitor would: Spanish long dates say "de" ("lunes 7 de diciembre"), Spanish months are
not capitalised ("7 dic"), big numbers are grouped, the Spanish says tú (never usted or
vosotros), and an English page carries none of the Spanish of our catalogues. The compiled
catalogues and the templates are scanned for the register too."""

import gettext
import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone, translation

from cases import services as cases
from cases.models import Case
from kb.models import Article, Category
from notifications.models import Announcement, OutgoingMessage

ROOT = Path(settings.BASE_DIR)
APPS = ["helpcenter", "foundation", "kb", "cases", "notifications", "insights"]
MONTHS = "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre"
SHORT_MONTHS = "Ene|Feb|Mar|Abr|May|Jun|Jul|Ago|Sep|Oct|Nov|Dic"
SPANISH_DATE_WITHOUT_DE = re.compile(rf"\b\d{{1,2}} (?:{MONTHS})\b", re.IGNORECASE)
SPANISH_CAPITAL_MONTH = re.compile(rf"\b\d{{1,2}} (?:de )?(?:{SHORT_MONTHS}|{MONTHS.title()})\b")
# Usted: the imperatives and pronouns a form or a page would use on its reader.
USTED = re.compile(
    r"\b(?:introduzca|asegúrese|escoja|seleccione|indique|pulse|compruebe|inténtelo|"
    r"corrija|rellene|usted|ustedes|su correo|su dirección|su contraseña|su cuenta|"
    r"le enviaremos|le avisaremos|le responderemos)\b",
    re.IGNORECASE,
)
# Vosotros: the site speaks to one person. (Not applied to the articles' own words: a
# customer's question such as "¿Cómo contacto con vosotros?" is the customer speaking.)
VOSOTROS = re.compile(
    r"\b(?:cerrad|avisadme|escribidnos|decidnos|podéis|tenéis|queréis|sabéis|estáis|habéis|"
    r"vuestr[oa]s?|vosotr[oa]s)\b",
    re.IGNORECASE,
)
# A count of five digits or more written without grouping ("55182"), outside references,
# codes and links.
UNGROUPED = re.compile(r"(?<![\w/.,:#\-])\d{5,}(?![\w/.,:\-])")


def _visible(markup: str) -> str:
    markup = re.sub(r"(?is)<(script|style|svg|template)\b.*?</\1>", " ", markup)
    markup = re.sub(r"(?s)<[^>]+>", " ", markup)
    return re.sub(r"\s+", " ", html.unescape(markup))


def _catalogue(app: str) -> dict:
    path = ROOT / app / "locale" / "es" / "LC_MESSAGES" / "django.mo"
    with path.open("rb") as handle:
        return gettext.GNUTranslations(handle)._catalog


def _spanish_of_our_catalogues() -> set[str]:
    """Spanish sentences of our catalogues (four words or more, not the same as English)."""
    spanish = set()
    for app in APPS:
        for key, text in _catalogue(app).items():
            source = key[0] if isinstance(key, tuple) else key
            if text and text != source and "%" not in text and len(text.split()) >= 4:
                spanish.add(text)
    return spanish


def _problems(text: str, language: str, spanish: set[str]) -> list[str]:
    found = []

    def note(kind, match):
        found.append(f"{kind}: …{text[max(0, match.start() - 40) : match.end() + 20]}…")

    for match in UNGROUPED.finditer(text):
        note("ungrouped number", match)
    if language == "es":
        for pattern, kind in (
            (SPANISH_DATE_WITHOUT_DE, "date without “de”"),
            (SPANISH_CAPITAL_MONTH, "capitalised month"),
            (USTED, "usted"),
        ):
            for match in pattern.finditer(text):
                note(kind, match)
    else:
        found += [f"Spanish on an English page: {s}" for s in spanish if s in text]
    return found


@pytest.fixture
def demo(db, search_index, settings):
    settings.SITE_NAME = "Acme"  # a brand, the same in both languages
    call_command("load_demo", allow_production=True, stdout=open("/dev/null", "w"))  # noqa: SIM115
    return get_user_model().objects.get(username="admin")


def _pages(language: str) -> list[tuple[str, bool]]:
    """(path, as staff) for every kind of page. (A notice's edit page previews it in both
    languages, so it is read in the English round only for dates and numbers.)"""
    article = Article.objects.filter(language=language).order_by("pk").first()
    category = Category.objects.order_by("pk").first()
    notice = Announcement.objects.exclude(slug="").order_by("-pk").first()
    case = Case.objects.order_by("pk").first()
    prefix = f"/{language}"
    return [
        (f"{prefix}/", False),
        (f"{prefix}/search/?q=pedido", False),
        (f"{prefix}/search/?q=navidad", False),
        (f"{prefix}/search/?q=zzzzqqq", False),
        (article.get_absolute_url(), False),
        (f"{prefix}/categories/{category.slug}/", False),
        (f"{prefix}/contact/", False),
        (f"{prefix}/notices/", False),
        (f"{prefix}/notices/{notice.slug}/", False),
        (f"{prefix}/notices/subscribe/", False),
        (f"{prefix}/cases/find/", False),
        (f"{prefix}/desk/", True),
        (f"{prefix}/desk/?status=closed", True),
        (f"{prefix}/desk/cases/{case.reference}/", True),
        (f"{prefix}/desk/preferences/", True),
        (f"{prefix}/desk/notices/", True),
        (f"{prefix}/desk/notices/new/", True),
        (f"{prefix}/desk/notices/{notice.pk}/", True),
        (f"{prefix}/desk/insights/", True),
        (f"{prefix}/desk/insights/?period=7", True),
        (f"{prefix}/desk/insights/?period=90", True),
        (f"/admin/kb/article/{article.pk}/change/", True),
    ]


def test_every_page_and_email_writes_dates_numbers_and_tu_as_each_language_does(demo):
    spanish = _spanish_of_our_catalogues()
    problems = []
    for language in ("es", "en"):
        staff, visitor = Client(), Client()
        staff.force_login(demo)
        for path, as_staff in _pages(language):
            client = staff if as_staff else visitor
            response = client.get(path, follow=True, HTTP_ACCEPT_LANGUAGE=language)  # admin
            assert response.status_code == 200, path
            bilingual = "/desk/notices/" in path and path.rstrip("/").split("/")[-1].isdigit()
            found = _problems(_visible(response.text), language, set() if bilingual else spanish)
            problems += [f"{path}: {p}" for p in found]

        # The forms' own errors (Django's messages are restated in tú).
        for path, data in (
            (f"/{language}/notices/subscribe/", {"email": "no-es-un-correo"}),
            (f"/{language}/contact/", {"email": "x", "subject": "y" * 400}),
        ):
            text = _visible(visitor.post(path, data).text)
            problems += [f"POST {path}: {p}" for p in _problems(text, language, spanish)]

        # A customer's case page and the mail about it: opened, reply, status, links.
        case = cases.open_case(
            reason=Case.objects.order_by("pk").first().reason,
            customer_email=f"walk-{language}@example.com",
            customer_name="Ana",
            language=language,
            subject="Pedido",
            description="No llega.",
        )
        cases.reply_to_customer(case=case, body="Ya lo tienes.", actor=demo)
        cases.change_case_status(case=case, status=Case.Status.WAITING_ON_CUSTOMER, actor=demo)
        cases.send_pending_updates(now=timezone.now() + timedelta(minutes=10))
        cases.email_case_links(email=case.customer_email)
        link = cases.issue_access_link(case=case)
        page = visitor.get("/" + link.split("://", 1)[1].split("/", 1)[1], follow=True)
        problems += [f"case page: {p}" for p in _problems(_visible(page.text), language, spanish)]

    mails = OutgoingMessage.objects.exclude(body_text="")
    assert mails.filter(language="en").exists() and mails.filter(language="es").exists()
    for mail in mails:
        text = f"{mail.subject} {mail.body_text} {_visible(mail.body_html)}"
        problems += [
            f"mail {mail.dedupe_key}: {p}" for p in _problems(text, mail.language, spanish)
        ]
    assert not problems, "\n".join(problems)


def test_spanish_long_dates_say_de_in_every_template_and_email_format():
    """No template formats a date by hand: every date goes through |moment (foundation.times),
    whose Spanish styles say "de"."""
    hand_made = re.compile(r"""\|date:\s*["'](?!c["']|Y-m-d["'])""")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for app in APPS
        for path in (ROOT / app / "templates").rglob("*")
        if path.suffix in {".html", ".txt"}
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if hand_made.search(line) or re.search(r"\|time:", line)
    ]
    assert not offenders, offenders


def test_the_catalogues_and_templates_say_tu_never_usted_or_vosotros():
    problems = []
    for app in APPS:
        for text in _catalogue(app).values():
            for pattern in (USTED, VOSOTROS):
                if text and pattern.search(text):
                    problems.append(f"{app}: {text[:90]!r}")
        for path in (ROOT / app / "templates").rglob("*"):
            if path.suffix in {".html", ".txt"}:
                text = path.read_text()
                for pattern in (USTED, VOSOTROS):
                    if pattern.search(text):
                        problems.append(f"{path.relative_to(ROOT)}: {pattern.search(text)[0]}")
    assert not problems, "\n".join(problems)


def test_our_spanish_is_what_the_site_shows_not_the_admins():
    """django.contrib.admin and auth come first in INSTALLED_APPS, so their catalogues win for
    a msgid they share with ours ("History" became "Histórico", "All" "Todo"): such words carry
    a context in our templates. Every translation of ours must be the one gettext returns."""
    ours = {}
    for app in APPS:
        for key, text in _catalogue(app).items():
            if isinstance(key, str) and key and text:
                ours.setdefault(key, set()).add(text)
    shadowed = []
    with translation.override("es"):
        for key, texts in ours.items():
            context, _sep, message = key.rpartition("\x04")
            shown = translation.pgettext(context, message) if context else translation.gettext(key)
            if shown not in texts:
                shadowed.append(f"{key!r}: ours {sorted(texts)}, shown {shown!r}")
    assert not shadowed, "\n".join(shadowed)
