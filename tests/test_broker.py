"""The embedded broker (helpcenter/broker.py): whole files, poison messages set aside, and a
worker that keeps consuming after one; the Redis transport's fix."""

import json
import logging
import os
import uuid
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Producer, Queue
from kombu.exceptions import ChannelError
from kombu.transport.virtual import BrokerState

from foundation.models import WorkerHeartbeat
from helpcenter import broker
from helpcenter.celery import app as celery_app
from tests.conftest import WorkerProcess, subprocess_env, wait_for

QUEUE = Queue("test", Exchange("test", type="direct"), routing_key="test")


def broker_options(root: Path) -> dict[str, str]:
    return {**broker.folder_options(root), "polling_interval": 0.05}


@pytest.fixture
def folders(tmp_path, monkeypatch) -> dict[str, str]:
    # kombu keeps the bindings it has made in one state per transport class, as if every
    # connection of a process shared one folder: each test starts from none.
    monkeypatch.setattr(broker.Transport, "global_state", BrokerState())
    options = broker_options(tmp_path / "broker")
    for key in ("data_folder_in", "control_folder"):
        Path(options[key]).mkdir(parents=True)
    return options


def connect(options: dict[str, str]) -> Connection:
    broker.register()
    return Connection("helpcenter-filesystem://", transport_options=options)


def publish(options: dict[str, str], body: dict) -> None:
    with connect(options) as connection:
        Producer(connection.default_channel).publish(
            body, exchange=QUEUE.exchange, routing_key="test", declare=[QUEUE], serializer="json"
        )


def drop_file(options: dict[str, str], content: bytes, stamp: int = 0) -> Path:
    """A file named like a message, as a writer that died half-way (or a person) leaves it."""
    path = Path(options["data_folder_in"]) / f"{stamp:020d}_{uuid.uuid4()}.test.msg"
    path.write_bytes(content)
    return path


def test_a_message_file_appears_whole_under_its_final_name(folders):
    publish(folders, {"n": 1})

    files = os.listdir(folders["data_folder_in"])
    assert len(files) == 1 and files[0].endswith(".test.msg") and not files[0].startswith(".")
    raw = json.loads((Path(folders["data_folder_in"]) / files[0]).read_bytes())
    assert raw["properties"]["delivery_info"]["routing_key"] == "test"


def test_a_message_whose_write_fails_leaves_no_file_a_worker_could_read(folders, monkeypatch):
    def disk_full(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(broker.os, "replace", disk_full)

    with pytest.raises(ChannelError):
        publish(folders, {"n": 1})
    assert os.listdir(folders["data_folder_in"]) == []  # nor its temporary file


def test_a_temporary_file_is_never_taken_for_a_message(folders):
    hidden = Path(folders["data_folder_in"]) / f".0_{uuid.uuid4()}.test.msg.abc.tmp"
    hidden.write_bytes(b"")  # a write in progress
    publish(folders, {"n": 1})

    with connect(folders) as connection, connection.SimpleQueue(QUEUE) as queue:
        message = queue.get(timeout=2)
        message.ack()
        assert message.payload == {"n": 1}
    assert hidden.exists()


def test_exchange_tables_are_rewritten_whole(folders):
    with connect(folders) as connection:
        channel = connection.default_channel
        channel.exchange_declare("fan", type="fanout")
        for number in range(5):
            channel.queue_bind(f"q{number}", exchange="fan", routing_key="", arguments=None)
        table = Path(folders["control_folder"]) / "fan.exchange"
        assert len(json.loads(table.read_bytes())) == 5
        assert [
            name for name in os.listdir(folders["control_folder"]) if name.endswith(".tmp")
        ] == []


def test_unreadable_messages_are_set_aside_and_the_next_one_is_delivered(folders, caplog):
    empty = drop_file(folders, b"", stamp=0)
    partial = drop_file(folders, b'{"body": "eyJ', stamp=1)
    not_a_message = drop_file(folders, b'{"hello": "world"}', stamp=2)
    publish(folders, {"after": "poison"})

    with (
        caplog.at_level(logging.ERROR, logger="helpcenter.broker"),
        connect(folders) as connection,
        connection.SimpleQueue(QUEUE) as queue,
    ):
        message = queue.get(timeout=2)
        message.ack()

    assert message.payload == {"after": "poison"}
    poison = Path(folders["poison_folder"])
    assert sorted(os.listdir(poison)) == sorted(p.name for p in (empty, partial, not_a_message))
    assert len([r for r in caplog.records if "Set aside a broker message" in r.message]) == 3
    assert os.listdir(folders["data_folder_in"]) == []


def test_a_redis_channel_whose_connection_was_collected_raises_a_connection_error():
    """kombu 5.7 raised AttributeError ('hostname') here, which stopped the worker."""
    broker.register()
    transport = Connection("redis://127.0.0.1:1/0").transport
    assert isinstance(transport, broker.RedisTransport)
    channel = broker.RedisChannel.__new__(broker.RedisChannel)  # no server to connect to
    channel.connection = transport
    transport.client = None  # what Connection.collect() leaves behind

    with pytest.raises(transport.connection_errors):
        channel._connparams()


@pytest.mark.django_db(transaction=True)
def test_worker_sets_aside_a_poison_message_and_keeps_consuming(tmp_path):
    """A real worker over the filesystem broker (whatever broker the suite uses)."""
    options = broker_options(tmp_path / "var" / "broker")  # where the worker's settings put it
    worker = WorkerProcess(
        tmp_path / "worker.log",
        subprocess_env(REDIS_URL="", VAR_DIR=str(tmp_path / "var")),
    )
    worker.start()
    try:
        queue = Path(options["data_folder_in"])
        (queue / f"0_{uuid.uuid4()}.celery.msg").write_bytes(b"")  # what issue 11 saw
        (queue / f"1_{uuid.uuid4()}.celery.msg").write_bytes(b'{"body": "tr')
        with Connection("helpcenter-filesystem://", transport_options=options) as connection:
            for name in ("after-poison-1", "after-poison-2"):
                celery_app.send_task(
                    "foundation.tasks.record_worker_heartbeat", args=[name], connection=connection
                )

        after = WorkerHeartbeat.objects.filter(name__startswith="after-poison")
        wait_for(lambda: after.count() == 2 and len(os.listdir(options["poison_folder"])) == 2)
        assert worker.process.poll() is None
        assert worker.log_path.read_text().count("Set aside a broker message") == 2
    finally:
        worker.stop()
