"""Benchmark of the announcement fan-out: 100,000 emails through a real worker into SMTP.

Run with ``.venv/bin/python bench/fanout.py`` (``--help`` for the options).

Everything runs in a fresh temporary folder: the SQLite database and kombu's filesystem broker
live there. With ``DATABASE_URL`` set (PostgreSQL), a throwaway database ``<name>_bench_fanout``
is created next to the given one and dropped at the end; with ``REDIS_URL`` set, that Redis
server is the broker, but on a database number of its own (purged before and after), so no
other worker (another test session on the same server) takes the benchmark's tasks or purges
them.

An SMTP sink (aiosmtpd) runs in a separate process and appends one line per accepted message
(time, recipient, Message-ID) to a file. One real ``celery worker`` (default concurrency) sends
through it; the benchmark publishes an announcement through ``publish_announcement`` (the real
path: dispatch, planning task, chunk tasks) and measures the time from publication to the last
acceptance, the worker's peak memory, and the duplicates and missing recipients. The second run
(a new announcement to the same subscribers) SIGKILLs the worker mid-run, starts another one,
and lets the outbox sweepers recover what the dead worker held.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import _support as support  # bench/_support.py, beside this file
from _support import say

TARGET_MESSAGES = 100_000
TARGET_SECONDS = 300.0  # 100,000 messages in under 5 minutes
TARGET_RATE = TARGET_MESSAGES / TARGET_SECONDS

UNCONFIRMED = 3  # subscribers who never confirmed: they must get nothing
UNSUBSCRIBED = 3  # confirmed, then left: nothing either
ENGLISH_SHARE = 0.3
INSERT_BATCH = 5_000

PROGRESS_EVERY = 5.0  # seconds between progress lines
SAMPLE_EVERY = 0.5  # seconds between RSS samples (and the loop's tick)
BEAT_EVERY = 60.0  # the beat schedule runs the outbox sweepers every minute
STALL_SECONDS = 3.0  # kill run: no new acceptance and an empty queue for this long = stalled
SETTLE_SECONDS = 2.0  # after the last row is sent: wait this long for late duplicates
SIMULATED_MINUTES = 11  # > SENDING_TIMEOUT (10 min) and SWEEP_GRACE (5 min)
MAX_SIMULATIONS = 5
KILL_WAIT = 30.0  # seconds to wait for the worker to be mid-chunk before killing it

REDIS_BENCH_DB = 15  # the broker's database number on the given Redis server
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def group_sample(pgid: int) -> tuple[int, int, dict[int, float]]:
    """For a process group: VmRSS summed (kB), how many processes, CPU seconds per pid."""
    total = count = 0
    cpu: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                # The command may contain spaces and parentheses: split after the last ")".
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            with open(f"/proc/{entry.name}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        count += 1
                        break
        except (OSError, IndexError, ValueError):
            continue  # it ended meanwhile
    return total, count, cpu


class Worker(support.CeleryProcess):
    """The worker with Celery's default concurrency; its memory and CPU time sampled."""

    def __init__(self, folder: Path, name: str, env: dict[str, str]) -> None:
        log_path = folder / f"{name}.log"
        super().__init__(log_path, env, concurrency=None, name=name, loglevel="WARNING")
        self.peak_rss_kb = 0
        self.peak_processes = 0
        self.cpu: dict[int, float] = {}  # CPU seconds per process of the group, last seen

    def start(self, *, probe: bool = True) -> float:
        """Start it and wait until it is ready; returns the seconds that took.

        Ready means it ran a probe task (it takes tasks from the broker and writes to the
        database). With tasks already waiting the probe would queue behind them, so a restart
        only waits for the pool processes to exist.
        """
        from foundation.models import WorkerHeartbeat
        from foundation.tasks import record_worker_heartbeat

        name = f"bench-{self.name}"
        if probe:
            record_worker_heartbeat.delay(name=name)

        def ready() -> bool:
            if probe:
                return WorkerHeartbeat.objects.filter(name=name).exists()
            return group_sample(self.process.pid)[1] >= 1 + (os.cpu_count() or 1)

        return super().start(ready)

    def sample(self) -> int:
        if not self.alive():
            return 0
        rss, processes, cpu = group_sample(self.process.pid)
        self.cpu.update(cpu)
        self.peak_rss_kb = max(self.peak_rss_kb, rss)
        self.peak_processes = max(self.peak_processes, processes)
        return rss

    def kill(self) -> float:
        """SIGKILL the whole group, as a crash would; returns when the signal was sent
        (reaping 250 MB of processes takes a while longer)."""
        signalled = time.time()
        super().kill()
        return signalled


@dataclass
class Environment:
    database: str = ""
    broker: str = ""
    cleanups: list[Callable[[], None]] = field(default_factory=list)


def prepare_environment(workdir: Path, env: Environment) -> None:
    """Point the settings at throwaway places before Django starts."""
    var_dir = workdir / "var"
    os.environ.update(support.development_settings(var_dir))
    os.environ.pop("EMAIL_URL", None)  # only the worker sends, to the sink
    env.database = support.use_database("bench_fanout", var_dir, env.cleanups)
    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url:
        bench_url = support.with_path(redis_url, f"/{REDIS_BENCH_DB}")
        os.environ["REDIS_URL"] = bench_url
        os.environ["REDIS_CACHE_URL"] = bench_url

        def forget_unacked() -> None:
            # A killed worker's tasks wait in "unacked" to be restored an hour later; the
            # purge does not touch them, nor kombu's bindings.
            import redis

            client = redis.Redis.from_url(bench_url, socket_connect_timeout=5)
            client.delete("unacked", "unacked_index", "unacked_mutex")
            for key in client.scan_iter("_kombu.binding*"):
                client.delete(key)
            client.close()

        env.cleanups.append(forget_unacked)
        parts = urlsplit(redis_url)
        env.broker = (
            f"Redis {parts.hostname}:{parts.port or 6379}, database {REDIS_BENCH_DB}"
            f" (REDIS_URL names database {parts.path.lstrip('/') or '0'}, which other"
            " test sessions share; queue purged before and after)"
        )
    else:
        env.broker = f"kombu filesystem broker, {var_dir / 'broker'}"


def purge_broker() -> int:
    from helpcenter.celery import app

    return app.control.purge() or 0


# -- data --------------------------------------------------------------------------------------


def make_subscribers(count: int) -> set[str]:
    """``count`` confirmed subscribers (and a few who must get nothing); returns who must."""
    from django.db import transaction
    from django.utils import timezone

    from notifications.models import Subscriber

    now = timezone.now()
    english_every = round(1 / ENGLISH_SHARE)
    with transaction.atomic():
        for start in range(0, count, INSERT_BATCH):
            Subscriber.objects.bulk_create(
                [
                    Subscriber(
                        email=f"abonado{n:06d}@example.com",
                        language="en" if n % english_every == 0 else "es",
                        confirmed_at=now,
                    )
                    for n in range(start, min(count, start + INSERT_BATCH))
                ]
            )
        Subscriber.objects.bulk_create(
            [
                Subscriber(email=f"sin-confirmar{n}@example.com", language="es")
                for n in range(UNCONFIRMED)
            ]
            + [
                Subscriber(
                    email=f"de-baja{n}@example.com",
                    language="es",
                    confirmed_at=now,
                    unsubscribed_at=now,
                )
                for n in range(UNSUBSCRIBED)
            ]
        )
    return {f"abonado{n:06d}@example.com" for n in range(count)}


def publish(number: int) -> int:
    """Publish a new announcement the way staff do; returns its dispatch's id."""
    from notifications.models import Announcement, Dispatch
    from notifications.services.announcements import publish_announcement

    announcement = Announcement(
        kind=Announcement.Kind.INCIDENT,
        severity=Announcement.Severity.WARNING,
        title_es=f"Problema con los pagos con tarjeta ({number})",
        title_en=f"Problem with card payments ({number})",
        body_es="Algunos pagos con tarjeta fallan desde las 10:00. **Ya estamos en ello.**\n\n"
        "Si tu pago falló, no se ha cobrado: puedes intentarlo de nuevo más tarde.",
        body_en="Some card payments fail since 10:00. **We are on it.**\n\n"
        "If your payment failed you were not charged: you can try again later.",
    )
    announcement = publish_announcement(announcement=announcement, actor=None)
    return Dispatch.objects.get(announcement=announcement, update=None).pk


def status_counts(dispatch_id: int) -> dict[str, int]:
    from django.db.models import Count

    from notifications.models import OutgoingMessage

    counts = {status: 0 for status in OutgoingMessage.Status.values}
    rows = (
        OutgoingMessage.objects.filter(dispatch_id=dispatch_id)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts.update(dict(rows))
    return counts


def wait_for_chunk_in_flight(dispatch_id: int, timeout: float) -> bool:
    """Wait until the worker holds rows of the mailing (status sending); False on timeout."""
    from notifications.models import OutgoingMessage

    deadline = time.monotonic() + timeout
    sending = OutgoingMessage.objects.filter(
        dispatch_id=dispatch_id, status=OutgoingMessage.Status.SENDING
    )
    while time.monotonic() < deadline:
        if sending.exists():
            return True
        time.sleep(0.01)
    return False


def let_time_pass(dispatch_id: int, minutes: int) -> int:
    """Move the stored timestamps of the mailing's unsent rows back by ``minutes`` (as the
    tests do), so the sweepers act as they would that much later. Returns the rows moved."""
    from datetime import timedelta

    from django.db.models import F

    from notifications.models import Dispatch, OutgoingMessage

    delta = timedelta(minutes=minutes)
    unsent = OutgoingMessage.objects.filter(
        dispatch_id=dispatch_id,
        status__in=[OutgoingMessage.Status.QUEUED, OutgoingMessage.Status.SENDING],
    )
    moved = 0
    for name in ("next_attempt_at", "sending_started_at", "requeued_at", "created_at"):
        moved = max(
            moved,
            unsent.filter(**{f"{name}__isnull": False}).update(**{name: F(name) - delta}),
        )
    Dispatch.objects.filter(pk=dispatch_id).update(created_at=F("created_at") - delta)
    return moved


def sent_mark_delays(
    dispatch_id: int, sink: support.SinkProcess
) -> tuple[float, float, float] | None:
    """How long after the sink accepted each message the worker took its row's sent time (ms):
    p50, p99, max. That time is taken just before the UPDATE runs, so this is a lower bound of
    the window in which a crash sends the message twice (a wait for a lock comes on top)."""
    from notifications.models import OutgoingMessage

    accepted: dict[str, float] = {}
    twice = set()
    for at, recipient, _ in sink.accepted:
        if recipient in accepted:
            twice.add(recipient)
        accepted[recipient] = at
    for recipient in twice:  # which acceptance a duplicate's sent time goes with is unclear
        del accepted[recipient]
    rows = OutgoingMessage.objects.filter(
        dispatch_id=dispatch_id, status=OutgoingMessage.Status.SENT
    ).values_list("recipient", "sent_at")
    delays = sorted(
        1000 * (sent_at.timestamp() - accepted[recipient])
        for recipient, sent_at in rows.iterator(chunk_size=5000)
        if recipient in accepted
    )
    if not delays:
        return None
    return delays[len(delays) // 2], delays[int(len(delays) * 0.99)], delays[-1]


def run_sweepers() -> tuple[int, int]:
    """What the beat runs every minute or two: re-queue lost rows and unfinished plannings."""
    from notifications.services import announcements, outbox

    plannings = announcements.resume_unfinished_dispatches()
    requeued = 0
    for _ in range(100):  # bounded: 5,000 rows per call
        batch = outbox.requeue_stalled_messages()
        requeued += batch
        if batch < 5000:
            break
    return plannings, requeued


# -- one run -----------------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    expected: int
    seconds: float = 0.0  # publication → last acceptance
    accepted: int = 0
    duplicates: int = 0
    duplicate_message_ids: int = 0
    missing: int = 0
    unexpected: int = 0
    peak_rss_kb: int = 0
    peak_processes: int = 0
    planning_seconds: float | None = None  # publication → every outbox row written
    duplicate_ages_ms: list[float] = field(default_factory=list)  # first acceptance → kill
    statuses: dict[str, int] = field(default_factory=dict)
    timed_out: bool = False
    killed_at_accepted: int | None = None
    sending_at_kill: int | None = None
    queued_at_kill: int | None = None
    duplicates_outside_in_flight: int = 0
    simulations: list[str] = field(default_factory=list)
    restart_seconds: float | None = None
    load_start: str = ""
    load_end: str = ""
    window_ms: tuple[float, float, float] | None = None  # acceptance → sent mark: p50, p99, max
    cpu_worker: float = 0.0  # CPU seconds, all processes of the worker(s)
    cpu_worker_main: float = 0.0  # of which the main processes (consumer, broker polling)
    cpu_sink: float = 0.0
    cpu_bench: float = 0.0

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0


def run_fanout(
    *,
    label: str,
    number: int,
    expected: set[str],
    workdir: Path,
    worker_env: dict[str, str],
    kill_at: float | None,
    timeout: float,
) -> Result:
    from notifications.models import Dispatch, OutgoingMessage

    result = Result(label=label, expected=len(expected), load_start=load_average())
    bench_cpu = sum(os.times()[:2])
    sink = support.SinkProcess(workdir, f"sink-{number}")
    workers: list[Worker] = []
    try:
        sink.start()
        worker_env = {**worker_env, "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}"}
        worker = Worker(workdir, f"worker-{number}a", worker_env)
        workers.append(worker)
        ready = worker.start()
        say(f"  SMTP sink on 127.0.0.1:{sink.port} (own process), worker ready in {ready:.1f} s")

        published = time.time()
        dispatch_id = publish(number)
        say(f"  published announcement {number} (dispatch {dispatch_id}) at t=0")

        deadline = time.monotonic() + timeout
        next_progress = time.monotonic() + PROGRESS_EVERY
        next_beat = time.monotonic() + BEAT_EVERY
        last_count, last_change = 0, time.monotonic()
        previous_line = (time.monotonic(), 0)
        restarted = False
        while True:
            now = time.monotonic()
            count = sink.poll()
            if count != last_count:
                last_count, last_change = count, now
            worker.sample()

            if (
                kill_at is not None
                and result.killed_at_accepted is None
                and count >= kill_at * len(expected)
            ):
                # Kill it mid-chunk (rows claimed, some sent), not between two tasks.
                mid_chunk = wait_for_chunk_in_flight(dispatch_id, timeout=KILL_WAIT)
                killed_at = worker.kill()
                if not mid_chunk:
                    say(f"  (no chunk was being sent within {KILL_WAIT:.0f} s: killed anyway)")
                count = sink.poll()
                result.killed_at_accepted = count
                in_flight = set(
                    OutgoingMessage.objects.filter(
                        dispatch_id=dispatch_id, status=OutgoingMessage.Status.SENDING
                    ).values_list("recipient", flat=True)
                )
                counts = status_counts(dispatch_id)
                result.sending_at_kill = counts[OutgoingMessage.Status.SENDING]
                result.queued_at_kill = counts[OutgoingMessage.Status.QUEUED]
                say(
                    f"  t={time.time() - published:5.1f}s  SIGKILL to the worker's process group"
                    f" after {count:,} accepted: rows sending {result.sending_at_kill},"
                    f" queued {result.queued_at_kill:,}, sent {counts['sent']:,},"
                    f" tasks still in the broker {support.queue_depth()}"
                )
                worker = Worker(workdir, f"worker-{number}b", worker_env)
                workers.append(worker)
                result.restart_seconds = worker.start(probe=False)
                restarted = True
                say(
                    f"  t={time.time() - published:5.1f}s  new worker ready"
                    f" (pool up {result.restart_seconds:.1f} s after the start)"
                )
                last_change = time.monotonic()
                continue

            if now >= next_progress:
                counts = status_counts(dispatch_id)
                rate = (count - previous_line[1]) / max(now - previous_line[0], 1e-6)
                previous_line = (now, count)
                say(
                    f"  t={time.time() - published:5.1f}s  accepted {count:>7,}"
                    f" ({rate:4.0f}/s)  rows: queued {counts['queued']:,}"
                    f" sending {counts['sending']} sent {counts['sent']:,}"
                    f" failed {counts['failed']}  broker {support.queue_depth()}"
                    f"  worker RSS {worker.sample() / 1024:.0f} MB  load {os.getloadavg()[0]:.2f}"
                )
                next_progress = now + PROGRESS_EVERY

            if now >= next_beat:
                plannings, requeued = run_sweepers()
                if plannings or requeued:
                    say(
                        f"  t={time.time() - published:5.1f}s  beat sweepers: re-queued"
                        f" {requeued} rows, {plannings} plannings"
                    )
                next_beat = now + BEAT_EVERY

            idle_for = now - last_change
            if idle_for >= min(SETTLE_SECONDS, STALL_SECONDS):
                counts = status_counts(dispatch_id)
                planned = (
                    Dispatch.objects.filter(pk=dispatch_id)
                    .exclude(status=Dispatch.Status.PLANNING)
                    .exists()
                )
                unsent = counts["queued"] + counts["sending"]
                if (
                    planned
                    and unsent == 0
                    and idle_for >= SETTLE_SECONDS
                    and support.queue_depth() == 0
                ):
                    break  # everything is sent and nothing is coming any more
                if (
                    restarted
                    and idle_for >= STALL_SECONDS
                    and support.queue_depth() == 0
                    and (unsent or not planned)
                ):
                    if len(result.simulations) >= MAX_SIMULATIONS:
                        say("  still stalled after the simulated waits; giving up")
                        result.timed_out = True
                        break
                    moved = let_time_pass(dispatch_id, SIMULATED_MINUTES)
                    plannings, requeued = run_sweepers()
                    note = (
                        f"t={time.time() - published:5.1f}s  stalled with {counts['queued']} rows"
                        f" queued and {counts['sending']} sending (their tasks died with the"
                        f" worker): SIMULATED {SIMULATED_MINUTES} minutes passing (moved the"
                        f" timestamps of {moved} unsent rows and of the dispatch back), then ran"
                        f" the sweepers: re-queued {requeued} rows, {plannings} plannings"
                    )
                    result.simulations.append(note)
                    say(f"  {note}")
                    last_change = time.monotonic()
            if now > deadline:
                say(f"  timed out after {timeout:.0f} s")
                result.timed_out = True
                break
            time.sleep(SAMPLE_EVERY)

        sink.poll()
        result.accepted = len(sink.accepted)
        result.seconds = max(max(at for at, _, _ in sink.accepted) - published, 0.0)
        received = collections.Counter(recipient for _, recipient, _ in sink.accepted)
        result.duplicates = sum(n - 1 for n in received.values() if n > 1)
        result.duplicate_message_ids = sum(
            n - 1
            for n in collections.Counter(message_id for _, _, message_id in sink.accepted).values()
            if n > 1
        )
        result.missing = len(expected - set(received))
        result.unexpected = sum(n for address, n in received.items() if address not in expected)
        if result.killed_at_accepted is not None:
            duplicated = {address for address, n in received.items() if n > 1}
            result.duplicates_outside_in_flight = len(duplicated - in_flight)
            first: dict[str, float] = {}
            for at, recipient, _ in sink.accepted:
                first.setdefault(recipient, at)
            result.duplicate_ages_ms = sorted(
                1000 * (killed_at - first[address]) for address in duplicated
            )
        result.statuses = status_counts(dispatch_id)
        result.window_ms = sent_mark_delays(dispatch_id, sink)
        planned_at = Dispatch.objects.get(pk=dispatch_id).planned_at
        if planned_at:
            result.planning_seconds = planned_at.timestamp() - published
    except BaseException:
        for worker in workers:
            tail = support.log_tail(worker.log_path)
            if tail:
                say(f"  --- last lines of {worker.log_path.name} ---\n{tail}")
        raise
    finally:
        for worker in workers:
            worker.sample()
            worker.stop()
        result.peak_rss_kb = max((w.peak_rss_kb for w in workers), default=0)
        result.peak_processes = max((w.peak_processes for w in workers), default=0)
        result.cpu_worker = sum(sum(w.cpu.values()) for w in workers)
        result.cpu_worker_main = sum(w.cpu.get(w.process.pid, 0.0) for w in workers if w.process)
        if sink.process is not None and sink.process.poll() is None:
            result.cpu_sink = sum(group_sample(sink.process.pid)[2].values())
        result.cpu_bench = sum(os.times()[:2]) - bench_cpu
        sink.stop()
        result.load_end = load_average()
    return result


# -- report ------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_result(result: Result) -> None:
    say(
        f"  {result.accepted:,} messages accepted in {result.seconds:.1f} s"
        f" ({result.rate:.0f} msg/s), publication → last acceptance"
    )
    if result.planning_seconds is not None:
        say(f"  planning (every outbox row written) done {result.planning_seconds:.1f} s in")
    say(
        f"  worker peak RSS {result.peak_rss_kb / 1024:.0f} MB (VmRSS summed over"
        f" {result.peak_processes} processes of its group; shared pages counted in each)"
    )
    if result.accepted:
        say(
            f"  CPU time: worker {result.cpu_worker:.1f} s"
            f" ({1000 * result.cpu_worker / result.accepted:.2f} ms/message, planning included;"
            f" main process {result.cpu_worker_main:.1f} s),"
            f" SMTP sink {result.cpu_sink:.1f} s"
            f" ({1000 * result.cpu_sink / result.accepted:.2f} ms/message),"
            f" benchmark {result.cpu_bench:.1f} s"
        )
    say(
        f"  duplicates {result.duplicates} (same Message-ID twice: {result.duplicate_message_ids}),"
        f" missing {result.missing}, sent to non-subscribers {result.unexpected}"
    )
    if result.window_ms:
        p50, p99, worst = result.window_ms
        say(
            f"  sink's acceptance → sent time recorded by the worker: median {p50:.2f} ms,"
            f" p99 {p99:.2f} ms, max {worst:.0f} ms (the start of the window in which a crash"
            " sends it twice; the UPDATE and any wait for a lock come on top)"
        )
    statuses = ", ".join(f"{name} {n:,}" for name, n in result.statuses.items())
    say(f"  outbox rows: {statuses}")
    if result.killed_at_accepted is not None:
        say(
            f"  killed after {result.killed_at_accepted:,} accepted; rows in 'sending' at the"
            f" kill: {result.sending_at_kill} (the chunks the worker had claimed; of those, at"
            " most one per pool process was in an SMTP conversation, and only those can arrive"
            f" twice); duplicates outside them: {result.duplicates_outside_in_flight}"
        )
        if result.duplicate_ages_ms:
            ages = ", ".join(f"{age:.1f} ms" for age in result.duplicate_ages_ms)
            say(f"  each duplicate's first copy was accepted this long before the SIGKILL: {ages}")
    say(f"  load average {result.load_start} at start, {result.load_end} at the end")


def print_summary(results: list[Result]) -> None:
    rows = []
    for result in results:
        target_seconds = TARGET_SECONDS * result.expected / TARGET_MESSAGES
        rows += [
            (
                f"{result.label}: time to last message",
                f"{result.seconds:.1f} s",
                f"< {target_seconds:.0f} s",
                verdict(not result.timed_out and result.seconds < target_seconds),
            ),
            (
                f"{result.label}: throughput",
                f"{result.rate:.0f} msg/s",
                f">= {TARGET_RATE:.0f}",
                "",
            ),
            (
                f"{result.label}: duplicates",
                str(result.duplicates),
                "0",
                verdict(result.duplicates == 0),
            ),
            (
                f"{result.label}: missing",
                str(result.missing),
                "0",
                verdict(result.missing == 0 and not result.timed_out),
            ),
            (
                f"{result.label}: to non-subscribers",
                str(result.unexpected),
                "0",
                verdict(result.unexpected == 0),
            ),
            (f"{result.label}: worker peak RSS", f"{result.peak_rss_kb / 1024:.0f} MB", "", ""),
        ]
    width = max(len(row[0]) for row in rows)
    say(f"  {'measure':<{width}}  {'value':>12}  {'target':>9}  result")
    for name, value, target, outcome in rows:
        say(f"  {name:<{width}}  {value:>12}  {target:>9}  {outcome}")


# -- main --------------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=TARGET_MESSAGES, help="default 100000")
    parser.add_argument("--no-kill", action="store_true", help="skip the run with a killed worker")
    parser.add_argument(
        "--kill-at", type=float, default=0.4, help="kill when this share is sent (default 0.4)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per run before giving up (default 120 + 10 ms per subscriber)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args(argv)
    if options.subscribers < 1:
        parser.error("--subscribers must be at least 1")
    if not 0 < options.kill_at < 1:
        parser.error("--kill-at must be between 0 and 1")
    if options.timeout is None:
        options.timeout = 120 + options.subscribers * 0.01
    return options


def run(
    options: argparse.Namespace, workdir: Path, cleanups: list[Callable[[], None]]
) -> list[Result]:
    started = time.monotonic()
    env = Environment(cleanups=cleanups)
    prepare_environment(workdir, env)
    support.setup_django()
    cleanups.append(purge_broker)
    say(f"Fan-out benchmark: {options.subscribers:,} confirmed subscribers")
    say(f"  temporary folder: {workdir}")
    say(f"  database: {env.database}")
    say(f"  broker: {env.broker}")
    say(f"  {os.cpu_count()} CPUs; {support.uptime()}")
    purged = purge_broker()
    if purged:
        say(f"  purged {purged} old tasks from the broker")
    say(f"  setup and migrations: {time.monotonic() - started:.1f} s")
    begun = time.monotonic()
    expected = make_subscribers(options.subscribers)
    say(
        f"  {options.subscribers:,} subscribers (+{UNCONFIRMED} unconfirmed,"
        f" +{UNSUBSCRIBED} unsubscribed) inserted in {time.monotonic() - begun:.1f} s"
    )
    worker_env = dict(os.environ)

    results = []
    say("\nRun 1: fan-out, nothing goes wrong")
    first = run_fanout(
        label="run 1",
        number=1,
        expected=expected,
        workdir=workdir,
        worker_env=worker_env,
        kill_at=None,
        timeout=options.timeout,
    )
    print_result(first)
    results.append(first)

    if not options.no_kill:
        say(f"\nRun 2: a new announcement; the worker is SIGKILLed at ~{options.kill_at:.0%} sent")
        second = run_fanout(
            label="run 2 (kill)",
            number=2,
            expected=expected,
            workdir=workdir,
            worker_env=worker_env,
            kill_at=options.kill_at,
            timeout=options.timeout,
        )
        print_result(second)
        if second.simulations:
            say(
                f"  note: the rows the dead worker held were recovered by the sweepers after a"
                f" simulated {SIMULATED_MINUTES}-minute wait; in production they would arrive"
                f" ~{SIMULATED_MINUTES} minutes after the crash (SENDING_TIMEOUT, SWEEP_GRACE),"
                " and the time above does not include that wait"
            )
        if second.duplicates:
            say(
                "  note: each duplicate is a message the sink accepted in the instant before the"
                " kill, whose row was still 'sending' (the worker died before marking it sent);"
                " the sweeper cannot tell it from one never sent, so it is sent again with the"
                " same Message-ID"
            )
        results.append(second)

    say("\nSummary")
    print_summary(results)
    say(f"  {support.uptime()}")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    return support.run_benchmark(
        "bench-fanout-",
        lambda workdir, cleanups: run(options, workdir, cleanups) is not None,
        keep=options.keep,
    )


if __name__ == "__main__":
    sys.exit(main())
