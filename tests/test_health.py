import pytest

from helpcenter.celery import app as celery_app


@pytest.fixture
def broker():
    """Point the Celery app at another broker for one test (the real connection is tried)."""
    keys = ("broker_url", "broker_write_url", "broker_transport_options")
    saved = {key: celery_app.conf[key] for key in keys}

    def use(url: str, **transport_options) -> None:
        celery_app.conf.update(
            broker_url=url, broker_write_url=url, broker_transport_options=transport_options
        )

    yield use
    celery_app.conf.update(saved)


@pytest.mark.django_db
def test_healthz_reports_each_part_and_200_when_database_and_broker_answer(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["database"]["state"] == "ok"
    assert body["checks"]["broker"]["state"] == "ok"
    assert body["checks"]["search_index"]["state"] in {"ok", "degraded"}
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_healthz_is_503_when_the_redis_broker_is_unreachable(client, broker):
    broker("redis://127.0.0.1:1/0", socket_connect_timeout=1)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "down"
    assert response.json()["checks"]["broker"]["state"] == "down"


@pytest.mark.django_db
def test_healthz_is_503_when_the_filesystem_broker_folder_is_gone(client, broker, tmp_path):
    missing = str(tmp_path / "no-such-folder")
    broker("filesystem://", data_folder_in=missing, data_folder_out=missing)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["state"] == "down"
