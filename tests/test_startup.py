"""What `make run` prints: no line per static file, no re-indexing of the demo articles."""

import io
import logging

import pytest

from kb import demo as kb_demo
from kb import services as kb_services
from kb.models import Article
from kb.services.indexing import pending_index_updates


def runserver_record(request_line: str, status: str) -> logging.LogRecord:
    # What django.core.servers.basehttp.WSGIRequestHandler.log_message logs.
    return logging.LogRecord(
        "django.server", logging.INFO, __file__, 0, '"%s" %s %s', (request_line, status, "10"), None
    )


def shown(record: logging.LogRecord) -> bool:
    handler = logging.getLogger("django.server").handlers[0]
    return all(f.filter(record) for f in handler.filters)


def test_runserver_logs_pages_but_not_the_static_files_it_serves():
    assert not shown(runserver_record("GET /static/js/timezone.js HTTP/1.1", "200"))
    assert not shown(runserver_record("GET /static/css/site.css HTTP/1.1", "304"))
    assert shown(runserver_record("GET /static/css/missing.css HTTP/1.1", "404"))
    assert shown(runserver_record("GET /es/ HTTP/1.1", "200"))
    assert shown(runserver_record("POST /es/contact/ HTTP/1.1", "302"))


@pytest.mark.django_db
def test_demo_articles_wait_for_the_rebuild_instead_of_queueing_a_task_each(
    django_capture_on_commit_callbacks, search_index
):
    with django_capture_on_commit_callbacks() as callbacks:
        kb_demo.load(io.StringIO())

    queued = [getattr(callback, "args", (None,))[0] for callback in callbacks]
    assert "kb.tasks.sync_article_to_index" not in queued
    assert pending_index_updates().count() == Article.objects.count() > 0

    kb_services.rebuild_search_index()

    assert pending_index_updates().count() == 0
