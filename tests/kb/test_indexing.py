from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from kb import services, tasks
from kb.models import Article, IndexingState
from kb.search import get_search_backend
from kb.services.indexing import pending_index_updates
from tests.conftest import wait_for
from tests.factories import ArticleFactory, CategoryFactory


def engine_titles(query: str, language: str = "es") -> list[str]:
    return [hit.title for hit in get_search_backend().search(query, language=language).hits]


@pytest.mark.django_db(transaction=True)
def test_publishing_updates_the_index_through_a_real_worker(celery_worker):
    engine = get_search_backend()  # the folder the worker uses too (settings.SEARCH_INDEX_DIR)
    engine.rebuild([])
    article = ArticleFactory.build(
        title="Horario de Navidad", slug="horario-navidad", body="Cerramos el 25 de diciembre.",
        category=CategoryFactory(),
    )  # fmt: skip

    services.publish_article(article=article, actor=None)
    wait_for(lambda: engine_titles("navidad") == ["Horario de Navidad"])

    services.archive_article(article=article, actor=None)
    wait_for(lambda: engine_titles("navidad") == [])
    wait_for(lambda: not pending_index_updates().filter(article_id=article.pk).exists())


@pytest.mark.django_db
def test_index_task_is_queued_only_after_commit(django_capture_on_commit_callbacks, search_index):
    article = ArticleFactory.build(category=CategoryFactory())

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.publish_article(article=article, actor=None)
        assert engine_titles(article.title) == []

    # foundation.queueing sends partial(_send, task_name, args, kwargs); the other callback is
    # the process memo's after-commit refresh (foundation.process_memo).
    queued = [callback.args[0] for callback in callbacks if hasattr(callback, "args")]
    assert queued == [tasks.sync_article_to_index.name]
    assert IndexingState.objects.get(article_id=article.pk).synced_at is None


@pytest.mark.django_db
def test_index_task_twice_has_its_effect_once(search_index):
    article = services.publish_article(
        article=ArticleFactory.build(title="Pago con Bizum", category=CategoryFactory()), actor=None
    )

    tasks.sync_article_to_index(article.pk)
    tasks.sync_article_to_index(article.pk)

    assert search_index.document_count() == 1
    assert engine_titles("bizum") == ["Pago con Bizum"]
    assert not pending_index_updates().exists()


@pytest.mark.django_db
def test_deleting_an_article_removes_its_document(search_index, publish):
    article = publish(title="Tarjeta regalo", slug="tarjeta-regalo")
    article_id = article.pk  # Django clears pk on delete

    services.delete_article(article=article, actor=None)
    tasks.sync_article_to_index(article_id)

    assert engine_titles("regalo") == []


@pytest.mark.django_db
def test_sweeper_requeues_updates_a_lost_task_left_behind(
    django_capture_on_commit_callbacks, search_index
):
    article = services.publish_article(
        article=ArticleFactory.build(category=CategoryFactory()), actor=None
    )
    IndexingState.objects.filter(article_id=article.pk).update(
        queued_at=timezone.now() - timedelta(minutes=5)
    )

    with django_capture_on_commit_callbacks() as callbacks:
        assert services.sweep_pending_index_updates() == 1
    assert len(callbacks) == 1  # the task, sent to the broker once the sweep commits

    tasks.sync_article_to_index(article.pk)  # what the worker then runs
    assert engine_titles(article.title)[:1] == [article.title]
    assert not pending_index_updates().exists()


@pytest.mark.django_db
def test_missing_index_keeps_the_update_pending_instead_of_creating_a_partial_index(
    settings, tmp_path
):
    settings.SEARCH_INDEX_DIR = tmp_path / "missing"
    article = services.publish_article(
        article=ArticleFactory.build(category=CategoryFactory()), actor=None
    )

    tasks.sync_article_to_index(article.pk)

    state = IndexingState.objects.get(article_id=article.pk)
    assert state.synced_at is None and state.last_error
    assert get_search_backend().status() == "missing"


@pytest.mark.django_db
def test_rebuild_command_restores_a_lost_index_with_every_published_article(
    settings, tmp_path, capsys
):
    settings.SEARCH_INDEX_DIR = tmp_path / "index"
    category = CategoryFactory()
    for number in range(5):
        services.publish_article(
            article=ArticleFactory.build(
                title=f"Envío {number}", body="envío urgente", category=category
            ),
            actor=None,
        )
    services.save_article(
        article=ArticleFactory.build(title="Envío borrador", category=category), actor=None
    )

    call_command("rebuild_search_index")

    assert get_search_backend().status() == "ok"
    assert get_search_backend().document_count() == 5
    assert sorted(engine_titles("envio")) == [f"Envío {number}" for number in range(5)]
    assert not pending_index_updates().exists()
    assert "5 published articles" in capsys.readouterr().out


@pytest.mark.django_db
def test_change_made_during_a_rebuild_is_not_lost(search_index, publish, monkeypatch):
    """A task can write to the old generation while the rebuild reads the database: the
    rebuild applies every change queued since it started."""
    article = publish(title="Horario de verano", slug="verano", body="verano")
    engine = get_search_backend()
    original_rebuild = engine.rebuild

    def rebuild_with_a_concurrent_edit(documents, progress=None):
        documents = list(documents)  # the rebuild has read the database...
        article.title = "Horario de verano 2027"  # ...then an editor saves a change
        services.save_article(article=article, actor=None)
        return original_rebuild(documents, progress=progress)

    monkeypatch.setattr(engine, "rebuild", rebuild_with_a_concurrent_edit)
    services.rebuild_search_index()

    assert engine_titles("verano") == ["Horario de verano 2027"]


@pytest.mark.django_db
def test_revision_is_recorded_on_every_text_change_and_can_be_restored(publish):
    article = publish(title="Original", slug="original", body="Primera versión")
    article.body = "Segunda versión"
    services.save_article(article=article, actor=None)
    article.reviewed_at = timezone.now()
    services.save_article(article=article, actor=None)  # no text change: no revision

    revisions = list(article.revisions.order_by("created_at", "id"))
    assert [revision.body for revision in revisions] == ["Primera versión", "Segunda versión"]

    services.restore_revision(revision=revisions[0], actor=None)

    article.refresh_from_db()
    assert article.body == "Primera versión"
    assert article.revisions.count() == 3
    assert Article.objects.get(pk=article.pk).status == Article.Status.PUBLISHED
