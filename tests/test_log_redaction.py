"""Secret links are redacted from every log record, whatever logger or handler writes it."""

import logging

import pytest
from django.test import Client

from foundation.log_redaction import RedactSecretLinks, redact

TOKEN = "Zm9vYmFyYmF6cXV4LXNlY3JldC10b2tlbi0xMjM0NTY3ODk"
SECRET_PATHS = [
    f"/es/cases/access/{TOKEN}/",
    f"/en/cases/access/{TOKEN}/renew/",
    f"https://help.example.com/es/notices/subscribe/confirm/{TOKEN}/",
    f"/es/notices/unsubscribe/{TOKEN}/",
    f"/en/notices/preferences/{TOKEN}/?lang=en",
    # A customer notice's email link: its signed id shows the notice (an order's news).
    f"/es/contact/?reason=3&notice={TOKEN}",
]


class Collected(logging.Handler):
    """The lines a handler would write, formatted with the formatter a real one uses."""

    def __init__(self, formatter: logging.Formatter | None = None) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter or logging.Formatter("%(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def collect():
    attached = []

    def attach(logger_name: str, formatter=None) -> Collected:
        handler = Collected(formatter)
        logger = logging.getLogger(logger_name)
        logger.addHandler(handler)
        attached.append((logger, handler))
        return handler

    yield attach
    for logger, handler in attached:
        logger.removeHandler(handler)


@pytest.mark.parametrize("path", SECRET_PATHS)
def test_runservers_request_lines_never_show_a_token(collect, path):
    server = logging.getLogger("django.server")
    # What runserver itself writes, through the formatter of the configured handler.
    handler = collect("django.server", server.handlers[0].formatter)

    server.info('"%s" %s %s', f"GET {path} HTTP/1.1", "302", "0", extra={"status_code": 302})

    assert handler.lines and TOKEN not in handler.lines[0]
    assert "[redacted]" in handler.lines[0]


@pytest.mark.parametrize(
    "logger_name", ["django.request", "django.security.csrf", "gunicorn.access", "celery", "kb"]
)
def test_any_logger_has_tokens_redacted(collect, caplog, logger_name):
    handler = collect(logger_name)
    with caplog.at_level(logging.DEBUG):
        for path in SECRET_PATHS:
            logging.getLogger(logger_name).warning("Not Found: %s", path)
            logging.getLogger(logger_name).warning(f"message with {path} inside")
            logging.getLogger(logger_name).info("%(r)s %(s)s", {"r": f"GET {path}", "s": 404})

    assert len(handler.lines) == 3 * len(SECRET_PATHS)
    assert TOKEN not in "\n".join(handler.lines) and TOKEN not in caplog.text


@pytest.mark.django_db
def test_a_404_under_a_token_url_logs_no_token(caplog):
    with caplog.at_level(logging.DEBUG):
        response = Client().get(f"/es/notices/unsubscribe/{TOKEN}/nothing-here/")

    assert response.status_code == 404
    assert "Not Found" in caplog.text and TOKEN not in caplog.text


def test_the_filter_redacts_a_record_made_elsewhere():
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "%s", (SECRET_PATHS[0],), None)
    RedactSecretLinks().filter(record)
    assert record.getMessage() == "/es/cases/access/[redacted]/"


def test_ordinary_paths_are_left_alone():
    assert redact("/es/articles/access-to-your-account/") == "/es/articles/access-to-your-account/"
    assert redact("GET /es/notices/ HTTP/1.1") == "GET /es/notices/ HTTP/1.1"


API_KEY_SECRET = "Q2hhbmdlTWUtdGhpcy1pcy1hLXNlY3JldC1wYXJ0LW9mLWs"
WEBHOOK_SECRET = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LWZvci13ZWJob29rcw=="


@pytest.mark.parametrize(
    "line",
    [
        # An integrator who put the key in the query string: the access log's request line.
        f'"GET /api/v1/cases?customer_email=ana%40example.com&key=hc_k7m2q9xa_{API_KEY_SECRET} '
        'HTTP/1.1" 401 180',
        f"Authorization: Bearer hc_k7m2q9xa_{API_KEY_SECRET}",
        f"receiver configured with {WEBHOOK_SECRET} by mistake",
    ],
)
def test_api_keys_and_webhook_secrets_are_redacted_from_any_log_line(collect, caplog, line):
    """A key sent where it should not be (a URL, pasted in a message that gets logged) never
    reaches a log whole: its prefix stays, so staff can tell which key to revoke."""
    handler = collect("gunicorn.access")
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("gunicorn.access").info("%s", line)
        logging.getLogger("gunicorn.access").info(line)

    written = "\n".join(handler.lines)
    assert API_KEY_SECRET not in written and WEBHOOK_SECRET not in written
    assert API_KEY_SECRET not in caplog.text and WEBHOOK_SECRET not in caplog.text
    assert "[redacted]" in written
    if "hc_" in line:
        assert "hc_k7m2q9xa_[redacted]" in written
