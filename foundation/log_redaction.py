"""No secret link reaches a log: tokens in URLs are redacted from every log record (and so
are API keys and webhook signing secrets sent where they should not be).

A case link (``/cases/access/<token>/``) opens a customer's case and a subscription link
(``/notices/unsubscribe/<token>/`` ...) changes what they receive: anyone who reads a log line
holding one could use it. Django logs paths in many places (``django.request`` for every 4xx,
``django.security.csrf``, ``django.server``'s request lines, gunicorn's access log), so rather
than a filter per handler, every record is redacted as it is made: whatever handler, formatter
or test captures it afterwards sees only ``[redacted]``.
"""

import logging
import logging.config
import re
from typing import Any

REDACTED = "[redacted]"
# Every URL that carries a secret in its path, with or without the language prefix.
SECRET_PATH = re.compile(
    r"(/(?:cases/access|notices/subscribe/confirm|notices/unsubscribe|notices/preferences)/)"
    r"[^/\s?#\"'<>]+"
)
_MARKERS = ("/access/", "/confirm/", "/unsubscribe/", "/preferences/")
# An API key (``hc_<prefix>_<secret>``: the prefix stays, it names the key to revoke) and a
# webhook signing secret, wherever they were sent by mistake (a query string, a message).
SECRET_VALUE = re.compile(r"\b(hc_[a-z0-9]{8}_|whsec_)[A-Za-z0-9_\-+/=]+")
_VALUE_MARKERS = ("hc_", "whsec_")
# A customer notice's email link (``/contact/?reason=…&notice=<signed id>``) shows the notice.
SECRET_PARAMETER = re.compile(r"([?&](?:amp;)?notice=)[^&\s\"'<>#]+")


def redact(text: str) -> str:
    """``text`` with the token of every secret link (a customer notice's too), and every API
    key's or webhook signing secret's secret part, replaced by ``[redacted]``."""
    if any(marker in text for marker in _MARKERS):
        text = SECRET_PATH.sub(rf"\g<1>{REDACTED}", text)
    if any(marker in text for marker in _VALUE_MARKERS):
        text = SECRET_VALUE.sub(rf"\g<1>{REDACTED}", text)
    if "notice=" in text:
        text = SECRET_PARAMETER.sub(rf"\g<1>{REDACTED}", text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int | float) or value is None:
        return value
    # Anything else is formatted with %s: redact its text if it holds a secret link.
    text = str(value)
    redacted = redact(text)
    return redacted if redacted != text else value


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_redact_value(arg) for arg in record.args)
    elif isinstance(record.args, dict):
        record.args = {key: _redact_value(value) for key, value in record.args.items()}
    return record


class RedactSecretLinks(logging.Filter):
    """The same redaction as a filter, for a handler configured outside this project."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install() -> None:
    """Redact every record as it is created, in this process (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacts_secret_links", False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(factory(*args, **kwargs))

    make_record.redacts_secret_links = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


def configure_logging(config: dict) -> None:
    """``LOGGING_CONFIG``: Django's dictConfig of ``LOGGING``, then the redaction installed."""
    logging.config.dictConfig(config)
    install()
