"""The words of an alert rule: its label matchers and its wording templates.

Pure functions, shared by the model's validators, the admin's form and the alert services.

Matchers are written as in Alertmanager's routes, one per line: ``service="payments"``,
``severity=~"critical|page"``, ``env!="staging"``, ``team!~"ops-.*"``. A regular expression
must match the whole value (anchored, as in Alertmanager); a label the alert does not carry
counts as the empty string. Regular expressions are RE2's, as Alertmanager's (Go's ``regexp``):
matching takes time linear in the value whatever a person writes (no catastrophic
backtracking), and Perl-only syntax (lookarounds, backreferences) is refused when the rule is
saved, as Alertmanager would refuse it.

Templates take ``{labels.<name>}`` and ``{annotations.<name>}``. What an alert carries is text
from another system: in a title it becomes plain text on one line; in a Markdown text every
character Markdown would read as syntax is escaped, so a label can never add a link, an
image or HTML to a notice (and the notice's Markdown is sanitised again when shown).
"""

import re
from dataclasses import dataclass, field

import re2
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')
MAX_MATCHERS = 30
MAX_PATTERN_LENGTH = 300
PLACEHOLDER = re.compile(r"\{(labels|annotations)\.([A-Za-z_][A-Za-z0-9_]*)\}")
BRACED = re.compile(r"\{[^{}\s]*\}")
MAX_VALUE_LENGTH = 300
# Every character Python-Markdown (with tables) reads as syntax; < and & become entities.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
# RE2's own defaults (Go's syntax); errors are ours to word, not RE2's to log on stderr.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
# What RE2 says of Perl's lookarounds ("(?=", "(?!", "(?<=", "(?<!") and backreferences ("\1").
_PERL_ONLY = re.compile(r"invalid perl operator|invalid escape sequence: \\[1-9]")


@dataclass(frozen=True)
class Matcher:
    label: str
    operator: str
    value: str
    pattern: object = field(default=None, compare=False, repr=False)  # compiled, for =~ and !~

    def matches(self, labels: dict[str, str]) -> bool:
        actual = labels.get(self.label, "")
        if self.operator in ("=", "!="):
            equal = actual == self.value
            return equal if self.operator == "=" else not equal
        pattern = self.pattern or compile_pattern(self.value)
        found = pattern.fullmatch(actual) is not None
        return found if self.operator == "=~" else not found


def compile_pattern(value: str):
    """A matcher's regular expression compiled with RE2 (``re2.error`` when RE2 refuses it)."""
    return re2.compile(value, _RE2_OPTIONS)


def _compiled(value: str, number: int):
    if len(value) > MAX_PATTERN_LENGTH:
        raise ValidationError(
            _("Line %(number)d: the expression is too long."),
            code="invalid_matcher",
            params={"number": number},
        )
    try:
        return compile_pattern(value)
    except re2.error as error:
        reason = error.args[0] if error.args else b""
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        if _PERL_ONLY.search(reason):
            raise ValidationError(
                _(
                    "Line %(number)d: lookarounds such as (?=…) or (?!…) and backreferences "
                    "such as \\1 do not exist in Alertmanager's regular expressions (RE2)."
                ),
                code="invalid_matcher",
                params={"number": number},
            ) from None
        raise ValidationError(
            _("Line %(number)d: the regular expression is not valid."),
            code="invalid_matcher",
            params={"number": number},
        ) from None


def parse_matchers(text: str) -> list[Matcher]:
    """The matchers of a rule, one per non-empty line. Raises ``ValidationError`` (code
    ``invalid_matcher``) naming the line that cannot be read."""
    matchers = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        found = MATCHER.match(line)
        if found is None:
            raise ValidationError(
                _('Line %(number)d is not a matcher like service="payments".'),
                code="invalid_matcher",
                params={"number": number},
            )
        label, operator, raw = found.groups()
        value = re.sub(r"\\(.)", r"\1", raw)
        pattern = _compiled(value, number) if operator in ("=~", "!~") else None
        matchers.append(Matcher(label, operator, value, pattern))
    if len(matchers) > MAX_MATCHERS:
        raise ValidationError(
            _("At most %(count)d matchers."), code="invalid_matcher", params={"count": MAX_MATCHERS}
        )
    return matchers


def validate_matchers(text: str) -> None:
    parse_matchers(text)


def matches_all(matchers: list[Matcher], labels: dict[str, str]) -> bool:
    return all(matcher.matches(labels) for matcher in matchers)


def validate_template(text: str) -> None:
    """Every ``{…}`` in a template is a placeholder we fill in (a typo would stay as is in a
    published notice)."""
    for braced in BRACED.findall(text or ""):
        if not PLACEHOLDER.fullmatch(braced):
            raise ValidationError(
                _("%(placeholder)s is not a placeholder: use {labels.name} or {annotations.name}."),
                code="invalid_placeholder",
                params={"placeholder": braced},
            )


def _plain(value: object) -> str:
    """A value from an alert on one line, without control characters, not too long."""
    text = "".join(character if character.isprintable() else " " for character in str(value or ""))
    return " ".join(text.split())[:MAX_VALUE_LENGTH]


def escape_markdown(value: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", value)


def _fill(template: str, context: dict[str, dict], escape) -> str:
    def value(found: re.Match[str]) -> str:
        return escape(_plain(context.get(found.group(1), {}).get(found.group(2), "")))

    return PLACEHOLDER.sub(value, template or "")


def render_title(template: str, *, labels: dict, annotations: dict, max_length: int = 200) -> str:
    """A title from its template: plain text on one line (an email subject)."""
    title = _fill(template, {"labels": labels, "annotations": annotations}, lambda text: text)
    return " ".join(title.split())[:max_length].strip()


def render_markdown_text(template: str, *, labels: dict, annotations: dict) -> str:
    """A Markdown text from its template, each value escaped so it reads as plain words."""
    return _fill(template, {"labels": labels, "annotations": annotations}, escape_markdown)
