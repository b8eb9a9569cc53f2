"""Generated es/en help-center articles from the demo articles' words (README: Benchmarks)."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kb.models import Article, Category

LANGUAGES = ("es", "en")
BODY_WORDS = (250, 310)  # plus the last section's overshoot: ~300 words per article
TRANSLATED_SHARE = 0.85  # the rest of the pairs are two unrelated single-language articles

# -- demo material -----------------------------------------------------------------------------
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
STRIPPED_CHARS = '«»“”"()*'
WORD = re.compile(r"\w+")


@dataclass
class MarkovChain:
    """Order-1 word chain: sentences with the vocabulary and word order of the source text."""

    transitions: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    START = ""

    def learn(self, sentence: str) -> None:
        words = [word.strip(STRIPPED_CHARS) for word in sentence.split()]
        words = [word for word in words if word]
        if len(words) < 4:
            return
        previous = self.START
        for word in words:
            self.transitions[previous].append(word)
            previous = word

    def sentence(self, rng: random.Random, min_words: int = 7, max_words: int = 24) -> str:
        words: list[str] = []
        for _ in range(20):
            words, state = [], self.START
            while len(words) < max_words and (options := self.transitions.get(state)):
                state = rng.choice(options)
                words.append(state)
                if state[-1] in ".!?":
                    break
            if len(words) >= min_words:
                break
        text = " ".join(words).rstrip(",;:-\u2013")
        if text[-1:] not in (".", "!", "?"):
            text += "."
        return text[:1].upper() + text[1:]


@dataclass
class LanguageMaterial:
    """What the demo articles of one language offer, per category slug."""

    chains: dict[str, MarkovChain] = field(default_factory=lambda: defaultdict(MarkovChain))
    headings: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    keywords: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    titles: list[str] = field(default_factory=list)
    articles: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    all_text: MarkovChain = field(default_factory=MarkovChain)


def load_demo_material() -> dict[str, LanguageMaterial]:
    from kb.demo import DEMO_DIR, parse_article_file
    from kb.rendering import markdown_to_text

    material = {language: LanguageMaterial() for language in LANGUAGES}
    for path in sorted((DEMO_DIR / "articles").glob("*.md")):
        fields = parse_article_file(path)
        target = material[fields["language"]]
        category = fields["category"]
        target.titles.append(fields["title"])
        target.articles[category] += 1
        for keyword in fields["keywords"].split(","):
            if (keyword := keyword.strip()) and keyword not in target.keywords[category]:
                target.keywords[category].append(keyword)
        for line in fields["body"].splitlines():
            line = line.strip()
            if not line or line.startswith("|"):
                continue  # tables read badly once flattened
            text = markdown_to_text(line)
            if line.startswith("#"):
                target.headings[category].append(text)
                continue
            for sentence in SENTENCE_END.split(text):
                target.chains[category].learn(sentence)
                target.all_text.learn(sentence)
        target.chains[category].learn(fields["summary"])
    return material


# -- corpus ------------------------------------------------------------------------------------
# The seven demo categories plus this one: (slug, parent slug, Spanish name, English name).
# A sub-category of "returns", written with the returns wording and its own keywords.
EXTRA_CATEGORY = ("warranty", "returns", "Garantía y reparaciones", "Warranty and repairs")
EXTRA_CATEGORY_WEIGHT = 3  # as many articles as a demo category with 3 demo articles
EXTRA_KEYWORDS = {
    "es": [
        "garantía", "garantia", "reparación", "servicio técnico", "defecto de fabricación",
        "avería", "producto defectuoso", "sustitución", "no funciona", "pieza de repuesto",
    ],
    "en": [
        "warranty", "guarantee", "repair", "technical service", "manufacturing defect",
        "faulty product", "replacement", "not working", "spare part", "broken item",
    ],
}  # fmt: skip

# Template sentences: the accented words customers really search for, in every article.
SLOTS: dict[str, dict[str, list[str]]] = {
    "es": {
        "action": [
            "cambiar la dirección de envío", "solicitar una devolución", "descargar la factura",
            "actualizar la contraseña", "cancelar el pedido", "activar la garantía",
            "cambiar el método de pago", "recuperar el acceso a tu cuenta",
            "pedir un cambio de talla", "revisar los datos de facturación",
        ],
        "thing": [
            "el número de seguimiento", "la factura", "la confirmación del pedido",
            "el código de devolución", "la etiqueta de envío", "el historial de pedidos",
            "los datos de facturación", "la dirección de entrega", "el justificante de pago",
            "la tarjeta regalo", "el código de verificación",
        ],
        "process": [
            "devolución", "cancelación", "reclamación", "sustitución", "verificación",
            "reparación", "facturación", "suscripción",
        ],
        "problem": [
            "el paquete llega dañado", "el pago aparece duplicado",
            "no recibes el código de verificación", "falta un artículo en el envío",
            "la entrega se retrasa", "la contraseña no funciona",
            "el transportista no encuentra tu dirección", "la garantía ha caducado",
        ],
        "place": [
            "Canarias", "Baleares", "Ceuta", "Melilla", "Portugal", "Francia", "Andorra",
            "la península",
        ],
    },
    "en": {
        "action": [
            "change the delivery address", "request a return", "download the invoice",
            "update your password", "cancel the order", "activate the warranty",
            "change the payment method", "get back into your account", "exchange a size",
            "check your billing details",
        ],
        "thing": [
            "the tracking number", "the invoice", "the order confirmation", "the return code",
            "the shipping label", "your order history", "your billing details",
            "the delivery address", "the payment receipt", "the gift card",
            "the verification code",
        ],
        "process": [
            "return", "cancellation", "claim", "replacement", "verification", "repair",
            "billing", "subscription",
        ],
        "problem": [
            "the parcel arrives damaged", "the payment shows up twice",
            "the verification code does not arrive", "an item is missing from the parcel",
            "the delivery is late", "your password does not work",
            "the courier cannot find your address", "the warranty has expired",
        ],
        "place": [
            "the Canary Islands", "the Balearic Islands", "Portugal", "France", "Ireland",
            "Northern Ireland", "the mainland",
        ],
    },
}  # fmt: skip

TEMPLATES: dict[str, list[str]] = {
    "es": [
        "Si necesitas {action}, entra en Mi cuenta y revisa {thing}.",
        "La {process} se resuelve normalmente en {n} días hábiles desde que la solicitas.",
        "La garantía del {product} cubre los defectos de fabricación durante {n} años.",
        "Puedes consultar {thing} en cualquier momento desde la aplicación o la web.",
        "Si {problem}, escríbenos desde el formulario de contacto con el número de pedido.",
        "El envío a {place} tarda entre {n} y {m} días laborables.",
        "Para {action} no necesitas llamarnos: lo haces tú mismo en un par de minutos.",
        "Te enviaremos un correo electrónico con {thing} en cuanto el transportista lo confirme.",
        "El reembolso de la {process} se hace con el mismo método de pago que usaste.",
        "Guarda {thing} hasta que recibas la confirmación de la devolución.",
        "Los pedidos del {product} a {place} incluyen seguimiento y facturación electrónica.",
    ],
    "en": [
        "If you need to {action}, go to My account and check {thing}.",
        "A {process} is usually settled within {n} business days of your request.",
        "The {product} warranty covers manufacturing defects for {n} years.",
        "You can check {thing} at any time in the app or on the website.",
        "If {problem}, write to us through the contact form with your order number.",
        "Delivery to {place} takes between {n} and {m} working days.",
        "To {action} you do not need to call us: you can do it yourself in a couple of minutes.",
        "We will email you {thing} as soon as the courier confirms it.",
        "The refund for a {process} goes back to the payment method you used.",
        "Keep {thing} until you receive the return confirmation.",
        "Orders of the {product} to {place} include tracking and electronic invoices.",
    ],
}

TITLE_TEMPLATES: dict[str, list[str]] = {
    "es": [
        "Ayuda con {keyword} en tu pedido",
        "Preguntas frecuentes sobre {keyword}",
        "{Keyword}: plazos, costes y excepciones",
        "Todo lo que debes saber sobre {keyword}",
        "{Keyword} en pedidos a {place}",
        "Cómo gestionar {keyword} desde la aplicación",
        "Problemas con {keyword} y cómo resolverlos",
        "Qué hacer si {problem}",
        "{Keyword} con el {product}",
    ],
    "en": [
        "Help with {keyword} on your order",
        "Frequently asked questions about {keyword}",
        "{Keyword}: times, costs and exceptions",
        "Everything you need to know about {keyword}",
        "{Keyword} for orders to {place}",
        "How to manage {keyword} in the app",
        "Problems with {keyword} and how to solve them",
        "What to do if {problem}",
        "{Keyword} with the {product}",
    ],
}
TITLE_WORDS = (4, 10)
TITLE_PADDING = {"es": "paso a paso", "en": "step by step"}

SYLLABLES = ["ka", "lo", "mi", "ra", "ve", "to", "zu", "ne", "pa", "sil", "mar", "dor", "tek"]


def product_names(rng: random.Random, count: int = 200) -> list[str]:
    """Made-up product names ("Silmaro 340"): a catalogue adds its own words to the index."""
    names = []
    for _ in range(count):
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
        names.append(f"{word.capitalize()} {rng.choice([100, 200, 250, 300, 340, 500, 700])}")
    return names


class ArticleWriter:
    """Titles, summaries, bodies and keywords for one language, in a category's vocabulary."""

    def __init__(
        self, language: str, material: LanguageMaterial, products: list[str], rng: random.Random
    ) -> None:
        self.language = language
        self.material = material
        self.products = products
        self.rng = rng

    def _fill(self, template: str, keyword: str = "") -> str:
        rng = self.rng
        slots = {name: rng.choice(values) for name, values in SLOTS[self.language].items()}
        n = rng.randint(2, 14)
        capital = keyword[:1].upper() + keyword[1:]
        product = rng.choice(self.products)
        return template.format(**slots, keyword=keyword, Keyword=capital, product=product, n=n,
                               m=n + rng.randint(1, 5))  # fmt: skip

    def _chain(self, category: str) -> MarkovChain:
        chains = self.material.chains
        source = category if category in chains else EXTRA_CATEGORY[1]
        # Mostly the category's own wording, sometimes anything from the help center.
        return chains[source] if self.rng.random() < 0.8 else self.material.all_text

    def sentence(self, category: str) -> str:
        if self.rng.random() < 0.25:
            return self._fill(self.rng.choice(TEMPLATES[self.language]))
        return self._chain(category).sentence(self.rng)

    def keyword_pool(self, category: str) -> list[str]:
        return self.material.keywords.get(category) or EXTRA_KEYWORDS[self.language]

    def title(self, category: str) -> str:
        keyword = self.rng.choice(self.keyword_pool(category))
        words = self._fill(self.rng.choice(TITLE_TEMPLATES[self.language]), keyword).split()
        low, high = TITLE_WORDS
        if len(words) < low:
            words += TITLE_PADDING[self.language].split()
        return " ".join(words[:high])

    def summary(self, category: str) -> str:
        for _ in range(10):
            text = self._chain(category).sentence(self.rng, min_words=8, max_words=30)
            if len(text) <= 300:
                return text
        return text[:299].rsplit(" ", 1)[0] + "."

    def keywords(self, category: str) -> str:
        pool = self.keyword_pool(category)
        chosen = self.rng.sample(pool, k=min(len(pool), self.rng.randint(4, 8)))
        while len(", ".join(chosen)) > 255:  # the column's max_length
            chosen.pop()
        return ", ".join(chosen)

    def body(self, category: str) -> str:
        """Markdown: an introduction, then sections with paragraphs or bullet lists."""
        rng = self.rng
        target = rng.randint(*BODY_WORDS)
        headings = self.material.headings.get(category) or self.material.headings["returns"]
        blocks = [" ".join(self.sentence(category) for _ in range(rng.randint(2, 3)))]
        words = len(WORD.findall(blocks[0]))
        while words < target:
            heading = f"## {rng.choice(headings)}"
            sentences = [self.sentence(category) for _ in range(rng.randint(2, 4))]
            if rng.random() < 0.3:
                section = "\n".join(f"- {sentence}" for sentence in sentences)
            else:
                section = " ".join(sentences)
            blocks += [heading, section]
            words += len(WORD.findall(heading)) + len(WORD.findall(section))
        return "\n\n".join(blocks) + "\n"


def create_categories() -> dict[str, Category]:
    import json

    from kb.demo import DEMO_DIR
    from kb.models import Category

    categories: dict[str, Category] = {}
    for item in json.loads((DEMO_DIR / "categories.json").read_text(encoding="utf-8")):
        fields = {name: item[name] for name in ("slug", "position", "name_es", "name_en")}
        categories[item["slug"]] = Category.objects.create(**fields, icon=item.get("icon", ""))
    slug, parent, name_es, name_en = EXTRA_CATEGORY
    categories[slug] = Category.objects.create(
        slug=slug, parent=categories[parent], position=99, name_es=name_es, name_en=name_en
    )
    return categories


def generate_articles(
    count: int,
    categories: dict[str, Category],
    material: dict[str, LanguageMaterial],
    rng: random.Random,
) -> Iterator[Article]:
    """``count`` published articles, half per language, mostly translations of each other."""
    from django.utils import timezone
    from django.utils.text import slugify

    from kb.models import Article

    products = product_names(rng)
    writers = {lang: ArticleWriter(lang, material[lang], products, rng) for lang in LANGUAGES}
    slugs = list(categories)
    # Categories with more demo articles get more articles.
    weights = [material["es"].articles.get(slug, EXTRA_CATEGORY_WEIGHT) for slug in slugs]
    now = timezone.now()
    category, translated = slugs[0], False
    for index in range(count):
        pair, parity = divmod(index, 2)
        language = LANGUAGES[parity]
        if language == "es":  # the first of a pair decides whether the second translates it
            category = rng.choices(slugs, weights)[0]
            translated = rng.random() < TRANSLATED_SHARE
        elif not translated:
            category = rng.choices(slugs, weights)[0]
        writer = writers[language]
        title = writer.title(category)
        key = f"bench-{pair:05d}" if translated else f"bench-{pair:05d}-{language}"
        yield Article(
            title=title, slug=f"{slugify(title)[:150]}-{pair}", summary=writer.summary(category),
            body=writer.body(category), language=language, translation_key=key,
            category=categories[category], keywords=writer.keywords(category),
            status=Article.Status.PUBLISHED,
            published_at=now - timedelta(days=rng.randint(1, 1000)),
        )  # fmt: skip
