"""An announcement to 100,000 subscribers through a real worker into SMTP (README: Benchmarks)."""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import _support as bench
from _support import harness, say

TARGET_MESSAGES = 100_000
TARGET_SECONDS = 300.0  # 100,000 messages in under 5 minutes
UNCONFIRMED = UNSUBSCRIBED = 3  # subscribers who must get nothing
PROGRESS_EVERY = 5.0  # seconds between progress lines
SAMPLE_EVERY = 0.5  # seconds between RSS samples (and the loop's tick)
BEAT_EVERY = 60.0  # the beat schedule runs the outbox sweepers every minute
STALL_SECONDS = 3.0  # kill run: no new acceptance and an empty queue for this long = stalled
SETTLE_SECONDS = 2.0  # after the last row is sent: wait this long for late duplicates
SIMULATED_MINUTES = 11  # > SENDING_TIMEOUT (10 min) and SWEEP_GRACE (5 min)
MAX_SIMULATIONS = 5
KILL_AT = 0.4  # the share accepted when the worker is SIGKILLed in the second run
KILL_WAIT = 30.0  # seconds to wait for the worker to be mid-chunk before killing it
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def group_sample(pgid: int) -> tuple[int, int, dict[int, float]]:
    """For a process group: VmRSS summed (kB), how many processes, CPU seconds per pid."""
    total = count = 0
    cpu: dict[int, float] = {}
    for pid, fields in harness.processes():
        if int(fields[2]) != pgid:
            continue
        cpu[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        try:
            total += int(Path(f"/proc/{pid}/status").read_text().split("VmRSS:", 1)[1].split()[0])
        except (OSError, IndexError):
            continue  # it ended meanwhile (a zombie has no VmRSS line)
        count += 1
    return total, count, cpu


class Worker(harness.CeleryProcess):
    """The worker with Celery's default concurrency; its memory and CPU time sampled."""

    def __init__(self, folder: Path, name: str, env: dict[str, str]) -> None:
        super().__init__(folder / f"{name}.log", env, concurrency=None, loglevel="WARNING")
        self.peak_rss_kb = self.peak_processes = 0
        self.cpu: dict[int, float] = {}  # CPU seconds per process of the group, last seen

    def start(self, *, probe: bool = True) -> float:
        """Start it and wait until it ran a probe task (it takes tasks from the broker and
        writes to the database); returns the seconds that took. With tasks already waiting
        the probe would queue behind them, so a restart only waits for its pool."""
        from foundation.models import WorkerHeartbeat
        from foundation.tasks import record_worker_heartbeat

        if probe:
            record_worker_heartbeat.delay(name=f"bench-{self.name}")

        def ready() -> bool:
            if probe:
                return WorkerHeartbeat.objects.filter(name=f"bench-{self.name}").exists()
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


def queue_depth() -> int:
    """Tasks waiting in the broker's default queue (not those a worker already took)."""
    from helpcenter.celery import app

    with app.connection_for_read() as connection:
        try:
            queue = app.conf.task_default_queue
            return connection.default_channel.queue_declare(queue, passive=True).message_count
        except connection.channel_errors:
            return 0  # Redis: an empty queue is no key at all


def make_subscribers(count: int) -> set[str]:
    """``count`` confirmed subscribers (and a few who must get nothing); returns who must."""
    from django.utils import timezone

    from notifications.models import Subscriber

    now = timezone.now()
    emails = [f"abonado{n:06d}@example.com" for n in range(count)]
    Subscriber.objects.bulk_create(
        [
            *(Subscriber(email=email, language="es" if n % 3 else "en", confirmed_at=now)
              for n, email in enumerate(emails)),
            *(Subscriber(email=f"sin-confirmar{n}@example.com", language="es")
              for n in range(UNCONFIRMED)),
            *(Subscriber(email=f"de-baja{n}@example.com", language="es", confirmed_at=now,
                         unsubscribed_at=now) for n in range(UNSUBSCRIBED)),
        ],
        batch_size=5_000,
    )  # fmt: skip
    return set(emails)


# -- one run -----------------------------------------------------------------------------------
class FanOut:
    """One announcement to every subscriber, through a worker and an SMTP sink of its own;
    with ``kill_at``, the worker is SIGKILLed when that share was accepted. Its figures are
    in ``result``: seconds (publication to the last acceptance), planning_seconds (to every
    outbox row written), duplicate_ages_ms (each duplicate's first acceptance to the kill),
    window_ms (an acceptance to its row's sent mark: p50, p99, max), cpu (seconds of the
    worker, its main process, the sink, the benchmark), load (at the start and the end)."""

    def __init__(self, number: int, expected: set[str], workdir: Path, kill_at=None) -> None:
        self.number, self.expected, self.workdir, self.kill_at = number, expected, workdir, kill_at
        self.result = SimpleNamespace(
            label=f"run {number}" + (" (kill)" if kill_at else ""), expected=len(expected),
            seconds=0.0, accepted=0, duplicates=0, duplicate_message_ids=0, missing=0,
            unexpected=0, peak_rss_kb=0, peak_processes=0, planning_seconds=None,
            duplicate_ages_ms=[], statuses={}, timed_out=False, killed_at_accepted=None,
            sending_at_kill=0, duplicates_outside_in_flight=0, simulations=0,
            load=[load_average()], window_ms=[], cpu={},
        )  # fmt: skip
        self.sink = harness.SinkProcess(workdir, f"sink-{number}")
        self.workers: list[Worker] = []
        self.in_flight: set[str] = set()
        self.killed_at = 0.0

    def new_worker(self, letter: str, *, probe: bool = True) -> float:
        env = {**os.environ, "EMAIL_URL": f"smtp://127.0.0.1:{self.sink.port}"}
        self.workers.append(Worker(self.workdir, f"worker-{self.number}{letter}", env))
        return self.workers[-1].start(probe=probe)

    def run(self, timeout: float) -> SimpleNamespace:
        bench_cpu, result = sum(os.times()[:2]), self.result
        try:
            self.sink.start()
            ready = self.new_worker("a")
            say(
                f"  SMTP sink on port {self.sink.port} (own process), worker ready in {ready:.1f} s"
            )
            self.published = time.time()
            self.dispatch = bench.publish_incident(self.number)
            say(f"  published announcement {self.number} (dispatch {self.dispatch}) at t=0")
            self.wait(timeout)
            self.count()
        except BaseException:
            for worker in self.workers:
                tail = harness.log_tail(worker.log_path)
                say(f"  --- last lines of {worker.log_path.name} ---\n{tail}")
            raise
        finally:
            for worker in self.workers:
                worker.sample()
                worker.stop()
            result.peak_rss_kb = max((w.peak_rss_kb for w in self.workers), default=0)
            result.peak_processes = max((w.peak_processes for w in self.workers), default=0)
            sink_pid = self.sink.process.pid if self.sink.process else 0
            result.cpu = {
                "worker": sum(sum(w.cpu.values()) for w in self.workers),
                "main": sum(w.cpu.get(w.process.pid, 0.0) for w in self.workers if w.process),
                "sink": sum(group_sample(sink_pid)[2].values()) if sink_pid else 0.0,
                "bench": sum(os.times()[:2]) - bench_cpu,
            }
            self.sink.stop()
            result.load.append(load_average())
        return result

    def say(self, text: str) -> None:
        say(f"  t={time.time() - self.published:5.1f}s  {text}")

    def wait(self, timeout: float) -> None:
        """Until every row is sent and nothing more comes; kills the worker on the way, and
        lets SIMULATED time pass for the sweepers when the rows it held are stuck."""
        from notifications.models import Dispatch

        result, started = self.result, time.monotonic()
        next_progress, next_beat = started + PROGRESS_EVERY, started + 60.0
        last_count, last_change, previous = 0, started, (started, 0)
        planning = Dispatch.objects.filter(pk=self.dispatch, status=Dispatch.Status.PLANNING)
        while True:
            now, count = time.monotonic(), self.sink.poll()
            if count != last_count:
                last_count, last_change = count, now
            self.workers[-1].sample()
            killed = result.killed_at_accepted is not None
            if self.kill_at and not killed and count >= self.kill_at * len(self.expected):
                self.kill()
                last_change = time.monotonic()
                continue
            if now >= next_progress:
                c = bench.outbox_counts(self.dispatch)
                rate = (count - previous[1]) / max(now - previous[0], 1e-6)
                previous, next_progress = (now, count), now + PROGRESS_EVERY
                self.say(
                    f"accepted {count:>7,} ({rate:4.0f}/s)  rows: queued {c['queued']:,} sending"
                    f" {c['sending']} sent {c['sent']:,} failed {c['failed']}  broker"
                    f" {queue_depth()}  worker RSS {self.workers[-1].sample() / 1024:.0f} MB"
                    f"  load {os.getloadavg()[0]:.2f}"
                )
            if now >= next_beat:
                if any((swept := bench.run_sweepers()).values()):
                    self.say("beat sweepers: " + ", ".join(f"{k} {n}" for k, n in swept.items()))
                next_beat = now + BEAT_EVERY
            if (idle := now - last_change) >= SETTLE_SECONDS:
                c = bench.outbox_counts(self.dispatch)
                unsent, planned = c["queued"] + c["sending"], not planning.exists()
                if planned and not unsent and queue_depth() == 0:
                    return  # everything is sent and nothing is coming any more
                stalled = idle >= STALL_SECONDS and queue_depth() == 0 and (unsent or not planned)
                if killed and stalled:
                    if result.simulations >= MAX_SIMULATIONS:
                        say("  still stalled after the simulated waits; giving up")
                        result.timed_out = True
                        return
                    result.simulations += 1
                    moved, swept = harness.let_time_pass(SIMULATED_MINUTES), bench.run_sweepers()
                    self.say(
                        f"stalled with {c['queued']} rows queued and {c['sending']} sending"
                        f" (their tasks died with the worker): SIMULATED {SIMULATED_MINUTES}"
                        f" minutes passing (moved the timestamps of {moved} unsent rows and of"
                        " the dispatch back), then ran the sweepers: "
                        + ", ".join(f"{k} {n}" for k, n in swept.items())
                    )
                    last_change = time.monotonic()
            if time.monotonic() - started > timeout:
                say(f"  timed out after {timeout:.0f} s")
                result.timed_out = True
                return
            time.sleep(SAMPLE_EVERY)

    def kill(self) -> None:
        """SIGKILL the worker mid-chunk (rows claimed, some sent), then start another."""
        from notifications.models import OutgoingMessage

        status = OutgoingMessage.Status.SENDING
        sending = OutgoingMessage.objects.filter(dispatch_id=self.dispatch, status=status)
        try:
            harness.wait_until(sending.exists, KILL_WAIT, "a chunk in flight", interval=0.01)
        except TimeoutError:
            say(f"  (no chunk was being sent within {KILL_WAIT:.0f} s: killed anyway)")
        self.killed_at = time.time()
        self.workers[-1].kill()
        self.result.killed_at_accepted = count = self.sink.poll()
        self.in_flight = set(sending.values_list("recipient", flat=True))
        c = bench.outbox_counts(self.dispatch)
        self.result.sending_at_kill = c["sending"]
        self.say(f"SIGKILL to the worker's process group after {count:,} accepted: rows sending"
                 f" {c['sending']}, queued {c['queued']:,}, sent {c['sent']:,}, tasks still in the"
                 f" broker {queue_depth()}")  # fmt: skip
        ready = self.new_worker("b", probe=False)
        self.say(f"new worker ready (pool up {ready:.1f} s after the start)")

    def count(self) -> None:
        """What the sink accepted, against who should have had it."""
        from notifications.models import Dispatch, OutgoingMessage

        result, accepted = self.result, self.sink.accepted
        self.sink.poll()
        result.accepted = len(accepted)
        result.seconds = max(max(at for at, _, _ in accepted) - self.published, 0.0)
        received = Counter(recipient for _, recipient, _ in accepted)
        ids = Counter(message_id for _, _, message_id in accepted)
        result.duplicates = sum(n - 1 for n in received.values() if n > 1)
        result.duplicate_message_ids = sum(n - 1 for n in ids.values() if n > 1)
        result.missing = len(self.expected - set(received))
        result.unexpected = sum(n for to, n in received.items() if to not in self.expected)
        if result.killed_at_accepted is not None:
            duplicated = {address for address, n in received.items() if n > 1}
            result.duplicates_outside_in_flight = len(duplicated - self.in_flight)
            first: dict[str, float] = {}
            for at, recipient, _ in accepted:
                first.setdefault(recipient, at)
            result.duplicate_ages_ms = sorted(
                1000 * (self.killed_at - first[a]) for a in duplicated
            )
        result.statuses = dict(bench.outbox_counts(self.dispatch))
        # How long after the sink accepted each message the worker took its row's sent time: a
        # lower bound of the window in which a crash sends it twice (a wait for a lock comes on
        # top). A recipient accepted twice is left out: which acceptance goes with it is unclear.
        once = {recipient: at for at, recipient, _ in accepted if received[recipient] == 1}
        rows = OutgoingMessage.objects.filter(
            dispatch_id=self.dispatch, status=OutgoingMessage.Status.SENT
        ).values_list("recipient", "sent_at")
        delays = sorted(
            1000 * (sent_at.timestamp() - once[recipient])
            for recipient, sent_at in rows.iterator(5000)
            if recipient in once
        )
        if delays:
            result.window_ms = [
                delays[len(delays) // 2],
                delays[int(len(delays) * 0.99)],
                delays[-1],
            ]
        if planned_at := Dispatch.objects.get(pk=self.dispatch).planned_at:
            result.planning_seconds = planned_at.timestamp() - self.published


# -- report ------------------------------------------------------------------------------------
def print_result(r: SimpleNamespace) -> None:
    rate = r.accepted / r.seconds if r.seconds else 0.0
    say(f"  {r.accepted:,} messages accepted in {r.seconds:.1f} s ({rate:.0f} msg/s),"
        " publication → last acceptance")  # fmt: skip
    if r.planning_seconds is not None:
        say(f"  planning (every outbox row written) done {r.planning_seconds:.1f} s in")
    say(f"  worker peak RSS {r.peak_rss_kb / 1024:.0f} MB (VmRSS summed over"
        f" {r.peak_processes} processes of its group; shared pages counted in each)")  # fmt: skip
    if r.accepted:
        cpu, each = r.cpu, {k: 1000 * v / r.accepted for k, v in r.cpu.items()}
        say(f"  CPU time: worker {cpu['worker']:.1f} s ({each['worker']:.2f} ms/message,"
            f" planning included; main process {cpu['main']:.1f} s), SMTP sink {cpu['sink']:.1f} s"
            f" ({each['sink']:.2f} ms/message), benchmark {cpu['bench']:.1f} s")  # fmt: skip
    say(f"  duplicates {r.duplicates} (same Message-ID twice: {r.duplicate_message_ids}),"
        f" missing {r.missing}, sent to non-subscribers {r.unexpected}")  # fmt: skip
    if r.window_ms:
        p50, p99, worst = r.window_ms
        say(f"  sink's acceptance → sent time recorded by the worker: median {p50:.2f} ms,"
            f" p99 {p99:.2f} ms, max {worst:.0f} ms (the start of the window in which a crash"
            " sends it twice; the UPDATE and any wait for a lock come on top)")  # fmt: skip
    say(f"  outbox rows: {', '.join(f'{name} {n:,}' for name, n in r.statuses.items())}")
    if r.killed_at_accepted is not None:
        say(f"  killed after {r.killed_at_accepted:,} accepted; rows in 'sending' at the"
            f" kill: {r.sending_at_kill} (the chunks the worker had claimed; of those, at"
            " most one per pool process was in an SMTP conversation, and only those can arrive"
            f" twice); duplicates outside them: {r.duplicates_outside_in_flight}")  # fmt: skip
        if r.duplicate_ages_ms:
            ages = ", ".join(f"{age:.1f} ms" for age in r.duplicate_ages_ms)
            say(f"  each duplicate's first copy was accepted this long before the SIGKILL: {ages}")
    say(f"  load average {r.load[0]} at start, {r.load[-1]} at the end")


def print_summary(results: list[SimpleNamespace]) -> None:
    rows: list = [("measure", "value", "target", "result")]
    for r in results:
        target = TARGET_SECONDS * r.expected / TARGET_MESSAGES
        rate = r.accepted / r.seconds if r.seconds else 0.0
        rows += [
            (f"{r.label}: time to last message", f"{r.seconds:.1f} s", f"< {target:.0f} s",
             bench.verdict(not r.timed_out and r.seconds < target)),
            (f"{r.label}: throughput", f"{rate:.0f} msg/s",
             f">= {TARGET_MESSAGES / TARGET_SECONDS:.0f}", ""),
            (f"{r.label}: duplicates", r.duplicates, "0", bench.verdict(r.duplicates == 0)),
            (f"{r.label}: missing", r.missing, "0", bench.verdict(not (r.missing or r.timed_out))),
            (f"{r.label}: to non-subscribers", r.unexpected, "0", bench.verdict(not r.unexpected)),
            (f"{r.label}: worker peak RSS", f"{r.peak_rss_kb / 1024:.0f} MB", "", ""),
        ]  # fmt: skip
    bench.table(rows)


# -- main --------------------------------------------------------------------------------------
def run(options, workdir: Path, cleanups: bench.Cleanups) -> bool:
    started = time.monotonic()
    notes = bench.use_site(workdir, "fanout", cleanups, debug=True, redis_db=15)
    bench.start_django(cleanups)
    say(f"Fan-out benchmark: {options.subscribers:,} confirmed subscribers")
    say(f"  temporary folder: {workdir}")
    bench.say_each(notes)
    say(f"  {os.cpu_count()} CPUs; {bench.uptime()}")
    say(f"  setup and migrations: {time.monotonic() - started:.1f} s")
    begun = time.monotonic()
    expected = make_subscribers(options.subscribers)
    say(f"  {options.subscribers:,} subscribers (+{UNCONFIRMED} unconfirmed,"
        f" +{UNSUBSCRIBED} unsubscribed) inserted in {time.monotonic() - begun:.1f} s")  # fmt: skip
    timeout = 120 + options.subscribers * 0.01
    say("\nRun 1: fan-out, nothing goes wrong")
    results = [FanOut(1, expected, workdir).run(timeout)]
    print_result(results[0])
    if not options.no_kill:
        say(f"\nRun 2: a new announcement; the worker is SIGKILLed at ~{KILL_AT:.0%} sent")
        results.append(FanOut(2, expected, workdir, KILL_AT).run(timeout))
        print_result(results[1])
        if results[1].simulations:
            say(f"  note: the rows the dead worker held were recovered by the sweepers after a"
                f" simulated {SIMULATED_MINUTES}-minute wait; in production they would arrive"
                f" ~{SIMULATED_MINUTES} minutes after the crash (SENDING_TIMEOUT, SWEEP_GRACE),"
                " and the time above does not include that wait")  # fmt: skip
        if results[1].duplicates:
            say("  note: each duplicate is a message the sink accepted in the instant before the"
                " kill, whose row was still 'sending' (the worker died before marking it sent);"
                " the sweeper cannot tell it from one never sent, so it is sent again with the"
                " same Message-ID")  # fmt: skip
    say("\nSummary")
    print_summary(results)
    say(f"  {bench.uptime()}")
    return True


if __name__ == "__main__":
    options = bench.options(
        __doc__,
        ("--subscribers", TARGET_MESSAGES, "default 100000"),
        ("--no-kill", "skip the run with a killed worker"),
        require=[(lambda o: o.subscribers >= 1, "--subscribers must be at least 1")],
    )  # fmt: skip
    sys.exit(bench.launch("bench-fanout-", run, options))
