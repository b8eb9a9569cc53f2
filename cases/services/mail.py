"""How a case email is written: subject, text and HTML, in the customer's language and the
service's time zone (every time in it says which zone it is in), like every other mail."""

import re
from dataclasses import dataclass

from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape

from foundation.times import in_service_time

# A link placeholder (minted by the outbox when the mail leaves) or a plain web address.
_LINK = re.compile(r"%%LINK:[a-z][a-z-]*:[0-9]{1,18}%%|https?://[^\s<>\"]+")


@dataclass(frozen=True)
class CaseEmail:
    subject: str
    text: str
    html: str


def text_to_html(text: str) -> str:
    """The text part as HTML paragraphs, its links clickable (placeholders stay placeholders,
    in the href too, so the outbox puts the same fresh link in both parts)."""
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]

    def lines(piece: str) -> str:
        return str(escape(piece)).replace("\n", "<br>\n")

    def paragraph(part: str) -> str:
        pieces, last = [], 0
        for match in _LINK.finditer(part):
            pieces.append(lines(part[last : match.start()]))
            url = escape(match.group(0))
            # A long link breaks anywhere rather than widen the mail past a phone's screen.
            style = "color: #0b5c73; word-break: break-all"
            pieces.append(f'<a href="{url}" style="{style}">{url}</a>')
            last = match.end()
        pieces.append(lines(part[last:]))
        return "<p>" + "".join(pieces) + "</p>"

    return "\n".join(paragraph(part) for part in paragraphs)


def render_case_email(template: str, context: dict, *, language: str) -> CaseEmail:
    """``cases/email/<template>_subject.txt``, ``.txt`` and ``.html`` (or the text part as
    HTML when there is no HTML template)."""
    with translation.override(language), in_service_time():
        subject = render_to_string(f"cases/email/{template}_subject.txt", context).strip()
        text = render_to_string(f"cases/email/{template}.txt", context)
        try:
            body = render_to_string(f"cases/email/{template}.html", context)
        except TemplateDoesNotExist:
            body = text_to_html(text)
        html = render_to_string(
            "cases/email/layout.html",
            {**context, "subject": subject, "body": body, "language": language},
        )
    return CaseEmail(subject=subject, text=text, html=html)
