"""Synonyms staff keep for search, per language (issue 16): what a group may hold."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from kb.search.text import WORD_RE, fold_word

MAX_WORDS_PER_GROUP = 20


def clean_synonym_words(text: str) -> str:
    """The words of a synonym group as stored: distinct (ignoring case and accents), one word
    each, comma separated. Raises ``ValidationError`` (``not_a_word``, ``too_few``,
    ``too_many``) for what search could not use."""
    words: dict[str, str] = {}
    for entry in (text or "").split(","):
        entry = " ".join(entry.split())
        if not entry:
            continue
        if not WORD_RE.fullmatch(entry):
            raise ValidationError(
                _("“%(entry)s” is not one word: each synonym is a single word."),
                code="not_a_word",
                params={"entry": entry},
            )
        words.setdefault(fold_word(entry), entry)
    if len(words) < 2:
        raise ValidationError(_("Give at least two different words."), code="too_few")
    if len(words) > MAX_WORDS_PER_GROUP:
        raise ValidationError(
            _("At most %(count)s words in one group.") % {"count": MAX_WORDS_PER_GROUP},
            code="too_many",
        )
    return ", ".join(words.values())
