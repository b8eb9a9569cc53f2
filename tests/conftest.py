import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import kombu.pools
import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import DEFAULT_DB_ALIAS, connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from kb import services as kb_services
from kb.models import Article
from kb.search import get_search_backend
from tests import harness
from tests.factories import ArticleFactory, CategoryFactory
from tests.harness import SmtpSink

ROOT = harness.ROOT


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL that points another process at the test database."""
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict.get("USER") or "")
    password = quote(settings_dict.get("PASSWORD") or "")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"


def subprocess_env(**overrides: str) -> dict[str, str]:
    """The environment of a helper process (worker, server) that shares the test database."""
    shared = {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(connection.settings_dict),
        "VAR_DIR": str(settings.VAR_DIR),
        "SEARCH_INDEX_DIR": str(settings.SEARCH_INDEX_DIR),
    }
    return harness.process_env(**{**shared, **overrides})


@contextmanager
def page_queries() -> Iterator[list[str]]:
    """The SQL the block runs (filled in when it ends), without the cache table's statements
    or savepoints: what a page costs the database."""
    queries: list[str] = []
    with CaptureQueriesContext(connection) as captured:
        yield queries
    queries.extend(query["sql"] for query in captured if harness.is_page_query(query["sql"]))


@contextmanager
def assert_page_queries(expected: int) -> Iterator[list[str]]:
    """Fail unless the block runs exactly ``expected`` page queries (see page_queries)."""
    with page_queries() as queries:
        yield queries
    assert len(queries) == expected, "\n".join(queries)


def wait_for(condition: Callable[[], object], timeout: float = 30.0, interval: float = 0.1):
    """Poll until ``condition()`` is truthy; return its value or fail the test."""
    try:
        return harness.wait_until(condition, timeout, "condition not met", interval)
    except TimeoutError as error:
        pytest.fail(str(error))


TASK_LINE = re.compile(rb"Task [\w.]+\[([0-9a-f-]{36})\] (received|succeeded|failed|raised|retry)")


class WorkerProcess(harness.CeleryProcess):
    """A real ``celery worker`` in its own process, consuming from the configured broker; it
    starts through ``tests.clock``, so that it shares a moved clock."""

    launcher = ("tests.clock", "celery")

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def busy_since(self, offset: int) -> set[bytes]:
        """The tasks received after ``offset`` in the log that have not finished."""
        received, finished = set(), set()
        for task_id, what in TASK_LINE.findall(self.log_path.read_bytes()[offset:]):
            (received if what == b"received" else finished).add(task_id)
        return received - finished


# The session's worker, once a test has started it: it outlives that test and goes on taking
# whatever later tests queue after their commits.
_session_worker: list[WorkerProcess] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item) -> None:
    item.worker_log_offset = _session_worker[0].log_size() if _session_worker else 0


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item) -> None:
    """Before a transactional test's tables are flushed, let the session's worker finish what
    the test queued: on PostgreSQL the flush's TRUNCATE and a task's queries deadlock."""
    marker = item.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction") and _session_worker):
        return
    worker = _session_worker[0]
    if not worker.alive():
        return
    from helpcenter.celery import app

    app.control.purge()  # what it has not taken yet is the finished test's, not the next's
    offset = getattr(item, "worker_log_offset", 0)
    deadline = time.monotonic() + 15  # a task waiting for its retry's countdown: go on
    while worker.busy_since(offset) and worker.alive() and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[SmtpSink, int]]:
    sink = SmtpSink()
    yield sink, sink.start()
    sink.stop()


@pytest.fixture
def smtp_sink(smtp_server, settings) -> SmtpSink:
    """Mail sent by this process goes through SMTP to the sink (the real smtp backend)."""
    sink, port = smtp_server
    sink.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return sink


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, smtp_server, tmp_path_factory) -> Iterator[WorkerProcess]:
    """One worker for the session, over the real broker (Redis when REDIS_URL is set), whose
    mail goes through SMTP to the sink. Tests that kill workers stop it and start it again."""
    from helpcenter.celery import app

    _, port = smtp_server
    app.control.purge()
    worker = WorkerProcess(
        tmp_path_factory.mktemp("worker") / "worker.log",
        subprocess_env(EMAIL_URL=f"smtp://127.0.0.1:{port}"),
    )
    worker.start()
    _session_worker.append(worker)
    yield worker
    _session_worker.clear()
    worker.stop()


@pytest.fixture(autouse=True)
def _no_language_left_active() -> Iterator[None]:
    """The test client's requests activate their language in this thread (LocaleMiddleware)
    and leave it there: each test starts from the default, whatever the one before asked for."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _isolated_cache(request) -> Iterator[None]:
    """Rate limits and counters live in the cache: every test starts with an empty one."""
    yield
    if request.node.get_closest_marker("django_db"):
        cache.clear()


@pytest.fixture
def attachments_folder(settings, tmp_path) -> Path:
    """The attachments storage in this test's own folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "attachments"), "allow_overwrite": True},
        },
    }
    return tmp_path / "attachments"


@pytest.fixture
def search_index(settings, tmp_path):
    """A real, empty Whoosh index in a temporary folder, used by this test's searches."""
    settings.SEARCH_INDEX_DIR = tmp_path / "index"
    backend = get_search_backend()
    backend.ensure_index()
    return backend


@pytest.fixture
def publish(search_index) -> Callable[..., Article]:
    """Publish an article through the service and bring the index up to date at once
    (what the Celery task does after commit; the worker path has its own tests)."""

    def make(**fields) -> Article:
        fields.setdefault("category", CategoryFactory())
        article = kb_services.publish_article(article=ArticleFactory.build(**fields), actor=None)
        kb_services.sync_article_to_index(article_id=article.pk)
        return article

    return make


@contextmanager
def broker_unreachable() -> Iterator[None]:
    """This process's Celery app points at a broker nobody listens on (sending fails within a
    second, as with Redis down), then back at the real one. Workers are not affected."""
    from helpcenter.celery import app

    keys = ("broker_url", "broker_write_url", "broker_transport_options")
    saved = {key: app.conf[key] for key in keys}

    def point_at(**conf) -> None:
        app.conf.update(**conf)
        # The app and kombu keep pools of open connections: drop them so the next send uses
        # the new URL.
        app.pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
        kombu.pools.reset()

    dead = "redis://127.0.0.1:1/0"
    point_at(
        broker_url=dead,
        broker_write_url=dead,
        broker_transport_options={"socket_connect_timeout": 1},
    )
    try:
        yield
    finally:
        point_at(**saved)


@pytest.fixture
def embedded_cache(settings, db):
    """The embedded default's cache (the database table), whatever cache the run is given:
    for tests that count the SQL a page costs on the default set-up."""
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(DEFAULT_DB_ALIAS, "helpcenter_cache", dry_run=False)
    settings.CACHES = {
        "default": {
            "BACKEND": "foundation.cache_backends.DatabaseCache",
            "LOCATION": "helpcenter_cache",
        }
    }
