"""Production security: deploy checks, protective headers on every answer, and cookies.

The production checks run the real settings module in a separate process with a production
environment (DEBUG off, a strong SECRET_KEY, ALLOWED_HOSTS, the HTTPS defaults), so they see
exactly what ``helpcenter/settings.py`` makes of that environment.
"""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from tests.conftest import ROOT, database_url
from tests.test_settings import PRODUCTION_ENV, run_manage

# --- Content-Security-Policy and the other protective headers ---------------------------------


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name.lower()] = sources
    return directives


def assert_only_our_own_scripts(header: str) -> None:
    directives = csp_directives(header)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]  # no hosts, no 'unsafe-inline', no 'unsafe-eval'
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    for name, sources in directives.items():
        for source in sources:
            # Nothing from another host, anywhere: only keywords and data: images.
            assert source.startswith("'") or (name == "img-src" and source == "data:"), source
            assert source != "'unsafe-eval'"
            assert source != "'unsafe-inline'" or name == "style-src"


def assert_protective_headers(response) -> None:
    assert_only_our_own_scripts(response["Content-Security-Policy"])
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] in ("same-origin", "no-referrer")
    # Frame protection: CSP frame-ancestors 'none' on every answer (checked above), and
    # X-Frame-Options for older browsers on every page (the language redirect has no body).
    if response.status_code < 300:
        assert response["X-Frame-Options"] == "DENY"


def test_the_policy_check_refuses_weak_policies():
    strict = (
        "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'none'"
    )
    assert_only_our_own_scripts(strict)
    for weak in (
        strict.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'"),
        strict.replace("script-src 'self'", "script-src 'self' https://cdn.example.com"),
        strict.replace("script-src 'self'", "script-src 'self' 'unsafe-eval'"),
        strict.replace("frame-ancestors 'none'", "frame-ancestors *"),
        strict + "; img-src https://tracker.example.com",
    ):
        with pytest.raises(AssertionError):
            assert_only_our_own_scripts(weak)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/es/", {}, 200),
        ("/en/search/?q=pago", {}, 200),
        ("/es/search/?q=pago", {"HTTP_HX_REQUEST": "true"}, 200),  # an htmx fragment
        ("/search/?q=pago", {}, 302),  # the unprefixed URL redirects to a language
        ("/es/contact/", {}, 200),
        ("/es/cases/find/", {}, 200),
        ("/es/cases/K7M2-Q9XA/", {}, 403),
        ("/es/articles/no-such-article/", {}, 404),
        ("/es/notices/", {}, 200),
        ("/es/notices/feed.atom", {}, 200),
        ("/es/notices/embed.json", {}, 200),
        ("/sitemap.xml", {}, 200),
        ("/admin/login/", {}, 200),
    ],
)
def test_every_kind_of_answer_carries_the_protective_headers(client, path, headers, status):
    response = client.get(path, **headers)

    assert response.status_code == status
    assert_protective_headers(response)


@pytest.mark.django_db
def test_pages_load_scripts_only_from_our_own_static_files(client):
    page = client.get("/es/").content.decode()

    sources = re.findall(r"<script\b([^>]*)>", page)
    assert sources, "the page loads htmx"
    for attributes in sources:
        assert re.search(r'src="/static/[^"]+"', attributes), attributes
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", page), "an inline script"
    assert not re.search(r"\son[a-z]+\s*=", page), "an inline event handler"


# --- htmx still sends the CSRF token, although the cookie is HttpOnly -----------------------------


@pytest.mark.django_db
def test_htmx_requests_carry_the_csrf_token_from_the_page_not_the_cookie(site_for_csrf):
    """CSRF_COOKIE_HTTPONLY means no script can read the cookie; htmx sends the token that the
    base template puts in hx-headers on <body>, and Django accepts it."""
    client = Client(enforce_csrf_checks=True)
    page = client.get("/es/articles/csrf-check/").content.decode()
    hx_headers = json.loads(re.search(r"<body hx-headers='([^']+)'", page).group(1))
    feedback = "/es/articles/csrf-check/feedback/"

    refused = client.post(feedback, {"helpful": "yes"}, HTTP_HX_REQUEST="true")
    accepted = client.post(
        feedback,
        {"helpful": "yes"},
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=hx_headers["X-CSRFToken"],
    )

    assert refused.status_code == 403
    assert accepted.status_code == 200
    assert "csrftoken" in client.cookies


@pytest.fixture
def site_for_csrf(publish):
    return publish(title="Comprobar", slug="csrf-check", body="Un artículo.")


# --- Production settings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "https_env",
    [
        {},  # the defaults of production mode
        {
            "SECURE_SSL_REDIRECT": "1",
            "SECURE_COOKIES": "1",
            "SECURE_PROXY_SSL_HEADER": "1",
            "CSRF_TRUSTED_ORIGINS": "https://help.example.com",
        },
    ],
    ids=["defaults", "behind-a-tls-proxy"],
)
def test_deploy_checks_report_no_warnings_in_production(https_env):
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **https_env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_checks_warn_when_production_is_weakened():
    """The check above can fail: turning HTTPS-only cookies off is reported."""
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", SECURE_COOKIES="0")

    assert result.returncode != 0
    assert "security.W012" in result.stderr + result.stdout  # SESSION_COOKIE_SECURE
    assert "security.W016" in result.stderr + result.stdout  # CSRF_COOKIE_SECURE


# Run in the production process: what its settings are, and what its answers say.
PRODUCTION_PROBE = """
import json
import django

django.setup()
from django.conf import settings
from django.test import Client

client = Client(HTTP_HOST="help.example.com")
names = [
    "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY", "LANGUAGE_COOKIE_SECURE", "LANGUAGE_COOKIE_HTTPONLY",
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD", "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS",
]


def answer(response):
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "set_cookie": [morsel.OutputString() for morsel in response.cookies.values()],
    }


def dismissed_notice():
    # Only a live notice is remembered in the session (an unknown slug writes nothing).
    from django.utils import timezone
    from notifications.models import Announcement

    notice = Announcement.objects.create(
        slug="some-notice", kind="general", title_es="Aviso", title_en="Notice", body_es="x",
        body_en="x", publication="published", published_at=timezone.now(),
    )
    try:
        return answer(
            client.post("/es/notices/some-notice/dismiss/", {"next": "/es/"}, secure=True)
        )
    finally:
        notice.delete()


print(json.dumps({
    "settings": {name: getattr(settings, name) for name in names},
    "plain_http": answer(client.get("/es/")),
    "page": answer(client.get("/es/cases/find/", secure=True, HTTP_USER_AGENT="Firefox")),
    "session": dismissed_notice(),
    "language": answer(
        client.post("/i18n/setlang/", {"language": "en", "next": "/en/"}, secure=True)
    ),
}))
"""


@pytest.fixture(scope="module")
def production(django_db_setup, django_db_blocker) -> Iterator[dict]:
    """Settings and answers of the site run with the production environment, on the test
    database (dismissing a notice starts a session, so a session cookie is set).

    The tests that use it are marked ``django_db``: that is what makes pytest-django create
    the test database, which this process must use rather than the development one.
    """
    assert "test" in str(connection.settings_dict["NAME"]), "not the test database"
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(PRODUCTION_ENV)
    env.update(
        DATABASE_URL=database_url(connection.settings_dict),
        VAR_DIR=os.environ["VAR_DIR"],
        STATIC_PLAIN_STORAGE="1",  # no collectstatic here; the storage has no bearing on this
        LOG_LEVEL="ERROR",
    )
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    yield json.loads(result.stdout.strip().splitlines()[-1])
    with django_db_blocker.unblock():
        cache.clear()  # the probe's visit counter, for the next test


@pytest.mark.django_db
def test_production_settings_make_cookies_secure_and_http_only(production):
    assert production["settings"] == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "LANGUAGE_COOKIE_SECURE": True,
        "LANGUAGE_COOKIE_HTTPONLY": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "X_FRAME_OPTIONS": "DENY",
    }


@pytest.mark.django_db
def test_production_answers_set_only_secure_http_only_cookies(production):
    set_cookies = {
        name: line
        for answer in ("page", "session", "language")
        for line in production[answer]["set_cookie"]
        for name in [line.split("=", 1)[0]]
    }

    # The session (a dismissed notice), the CSRF token (a page with a form), the language.
    assert {"sessionid", "csrftoken", "django_language"} <= set(set_cookies)
    for line in set_cookies.values():
        attributes = {part.strip().split("=", 1)[0].lower() for part in line.split(";")[1:]}
        assert {"secure", "httponly"} <= attributes, line
        assert re.search(r"SameSite=(Lax|Strict)", line), line


@pytest.mark.django_db
def test_production_redirects_plain_http_and_sends_hsts_and_the_headers(production):
    assert production["plain_http"]["status"] == 301
    assert production["plain_http"]["headers"]["Location"] == "https://help.example.com/es/"
    headers = production["page"]["headers"]
    assert production["page"]["status"] == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert_only_our_own_scripts(headers["Content-Security-Policy"])
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
