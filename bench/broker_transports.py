"""Embedded broker transports compared under a burst of producers (README: Benchmarks)."""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import time
from pathlib import Path
from queue import Empty

import _support as bench  # puts the project on sys.path
from _support import say
from kombu import Connection, Exchange, Queue

from helpcenter import broker

QUEUE = Queue("bench", Exchange("bench", type="direct"), routing_key="bench")
POLL = 0.1


def filesystem_options(root: Path) -> dict:
    for name in ("queue", "control"):
        (root / name).mkdir(parents=True, exist_ok=True)
    return {**broker.folder_options(root), "polling_interval": POLL}


def transports(root: Path) -> list[tuple[str, str, dict]]:
    found = [
        ("kombu filesystem", "filesystem://", filesystem_options(root / "stock")),
        ("helpcenter-filesystem", "helpcenter-filesystem://", filesystem_options(root / "ours")),
    ]
    try:
        import sqlalchemy  # noqa: F401
    except ImportError:
        pass
    else:
        found.append(("kombu SQLAlchemy (SQLite)", f"sqla+sqlite:///{root / 'broker.sqlite3'}", {}))
    return found


def produce(url: str, options: dict, number: int, count: int, size: int) -> None:
    broker.register()
    with Connection(url, transport_options=options) as connection:
        producer = connection.Producer(serializer="json")
        for n in range(count):
            body = {"producer": number, "n": n, "padding": "x" * size}
            producer.publish(body, exchange=QUEUE.exchange, routing_key="bench", declare=[QUEUE],
                             retry=True)  # fmt: skip


def measure(name: str, url: str, options: dict, producers: int, count: int, size: int) -> tuple:
    broker.register()
    expected = producers * count
    received: set[tuple[int, int]] = set()
    errors: list[str] = []
    with Connection(url, transport_options=options) as connection:
        queue = connection.SimpleQueue(QUEUE)
        processes = [
            multiprocessing.Process(target=produce, args=(url, options, number, count, size))
            for number in range(producers)
        ]
        started = time.perf_counter()
        for process in processes:
            process.start()
        deadline = time.monotonic() + 120
        while len(received) < expected and time.monotonic() < deadline:
            try:
                message = queue.get(timeout=POLL)
            except Empty:
                if not any(p.is_alive() for p in processes) and len(received) >= expected:
                    break
                continue
            except Exception as error:  # what would have stopped the worker
                errors.append(type(error).__name__)
                continue
            message.ack()
            received.add((message.payload["producer"], message.payload["n"]))
        seconds = time.perf_counter() - started
        for process in processes:
            process.join()
        idle_started = time.process_time()
        idle_until = time.monotonic() + 10
        while time.monotonic() < idle_until:
            with contextlib.suppress(Empty):
                queue.get(timeout=POLL)
        idle_cpu = (time.process_time() - idle_started) / 10
        queue.close()
    kinds = f"({', '.join(sorted(set(errors)))})" if errors else ""
    return (name, len(received), len(errors), expected - len(received),
            f"{len(received) / seconds:.0f}", f"{idle_cpu:.1%}", kinds)  # fmt: skip


def run(options, workdir: Path, cleanups: bench.Cleanups) -> bool:
    multiprocessing.set_start_method("fork")
    say(f"{options.producers} producer processes x {options.messages} messages of"
        f" ~{options.size:,} bytes, one consumer polling every {POLL:g} s")  # fmt: skip
    rows: list = [("transport", "delivered", "errors", "lost", "msg/s", "idle CPU", "")]
    for name, url, transport_options in transports(workdir):
        sizes = (options.producers, options.messages, options.size)
        rows.append(measure(name, url, transport_options, *sizes))
    bench.table(rows)
    if len(rows) < 4:
        say("  (kombu SQLAlchemy: not measured, SQLAlchemy is not installed)")
    return True


if __name__ == "__main__":
    options = bench.options(
        __doc__,
        ("--producers", 4, "processes (4)"),
        ("--messages", 500, "each (500)"),
        ("--size", 1_000, "bytes of padding per message (1000, a task's)"),
    )  # fmt: skip
    sys.exit(bench.launch("bench-broker-", run, options))
