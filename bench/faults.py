"""Faults under traffic: worker killed, Redis down, index gone (README: Benchmarks)."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import _support as bench
import _traffic  # bench/_traffic.py: the customers, the journal and the loss checks
from _support import harness, percentile, say

GUNICORN_WORKERS = 2
SIMULATED_MINUTES = 11  # past SWEEP_GRACE (5), SENDING_TIMEOUT (10) and the others
DRAIN_IDLE_SECONDS = 5.0  # waiting for the outbox stops when the sink took nothing this long
DRAIN_TIMEOUT = 120.0


def wait_for_outbox(sink, timeout: float, *, patient: bool = False) -> bool:
    """Until every outbox row is sent or failed and the sink has been idle a moment; unless
    ``patient``, give up once nothing has moved for a few seconds (what is left then waits
    for the sweepers)."""
    deadline = time.monotonic() + timeout
    last_count, last_change = sink.poll(), time.monotonic()
    while time.monotonic() < deadline:
        if (count := sink.poll()) != last_count:
            last_count, last_change = count, time.monotonic()
        counts, idle = bench.outbox_counts(), time.monotonic() - last_change
        if counts["queued"] + counts["sending"] == 0 and idle >= 1.0:
            return True
        if not patient and idle >= DRAIN_IDLE_SECONDS:
            return False
        time.sleep(0.25)
    return False


# -- the faults --------------------------------------------------------------------------------
@dataclass
class Phase:
    name: str
    start: float
    end: float = 0.0


class Run:
    """The site (a private Redis, the SMTP sink, gunicorn, a worker and beat), the timeline:
    phases, faults and what was learnt on the way."""

    def __init__(self, workdir: Path, cleanups: bench.Cleanups, options) -> None:
        self.workdir, self.options = workdir, options
        self.redis, self.sink = harness.PrivateRedis(workdir), harness.SinkProcess(workdir)
        for part in (self.redis, self.sink):
            part.start()
            cleanups.append(part.stop)
        self.notes = bench.use_site(workdir, "faults", cleanups, redis_url=self.redis.url(0))
        self.notes.append(f"SMTP sink on 127.0.0.1:{self.sink.port}")
        os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{self.sink.port}"
        # Customer update emails one minute after the staff reply instead of three, so some
        # leave during the run.
        os.environ["CASE_UPDATE_COALESCE_MINUTES"] = "1"
        self.server, self.env = harness.Gunicorn(workdir, GUNICORN_WORKERS), dict(os.environ)
        self.beat = harness.CeleryProcess(workdir / "beat.log", self.env, beat=True)
        self.worker: harness.CeleryProcess | None = None
        cleanups += [lambda: self.worker and self.worker.stop(), self.beat.stop, self.server.stop]
        self.phases: list[Phase] = []
        self.in_flight_at_kill: set[int] = set()
        self.dispatches: list[int] = []
        self.problems: list[str] = []  # each fails the run
        self.warnings: list[str] = []  # shown, but the customers lost nothing by them

    def new_worker(self, number: int) -> float:
        """Start worker ``number``, as a supervisor would; returns the seconds it took."""
        self.worker = harness.CeleryProcess(self.workdir / f"worker-{number}.log", self.env)
        return self.worker.start()

    def event(self, text: str) -> None:
        say(f"  t={time.time() - self.started:6.1f}s  {text}")

    def phase(self, name: str | None, seconds: float = 0.0) -> None:
        if self.phases and not self.phases[-1].end:
            self.phases[-1].end = time.time()
        if name:
            self.phases.append(Phase(name, time.time()))
            time.sleep(seconds)

    def announce(self, number: int, why: str) -> None:
        self.dispatches.append(bench.publish_incident(number))
        self.event(f"staff publishes announcement {number} ({why})")

    def worker_fault(self) -> None:
        from notifications.models import OutgoingMessage

        self.phase("(a) worker killed")
        sending = OutgoingMessage.objects.filter(status=OutgoingMessage.Status.SENDING)
        self.in_flight_at_kill = set(sending.values_list("pk", flat=True))
        counts = bench.outbox_counts()
        self.worker.kill()
        self.event(f"(a) SIGKILL to the Celery worker's process group (outbox rows sending"
                   f" {counts['sending']}, queued {counts['queued']})")  # fmt: skip
        time.sleep(self.options.worker_down)
        self.event(f"(a) a new worker is ready ({self.new_worker(2):.1f} s after its start)")
        self.phase("(a) after the restart", self.options.phase)

    def redis_fault(self) -> None:
        self.phase("(b) Redis down")
        self.redis.kill()
        self.event("(b) redis-server killed: the queued tasks, the cache and the rate-limit")
        self.event("    windows it held are gone (no persistence, as after a crash)")
        time.sleep(1.0)
        self.announce(2, "the broker is down")
        time.sleep(max(0.0, self.options.redis_down - 1.0))
        worker, log = self.worker, self.worker.log_path
        offset = log.stat().st_size
        self.redis.start()
        back = time.time()
        self.event(
            f"(b) redis-server started again on the same port, after {self.options.redis_down:g} s"
        )
        self.phase("(b) after Redis is back")

        def reconnected_or_gone() -> str:
            if not worker.alive():
                return "gone"
            return "back" if b"Connected to redis" in log.read_bytes()[offset:] else ""

        try:
            outcome = harness.wait_until(reconnected_or_gone, 60, "reconnection")
        except TimeoutError:
            outcome = "stuck"
        if outcome == "back":
            self.event(f"(b) the worker reconnected to the broker {time.time() - back:.1f} s later")
        elif outcome == "stuck":
            self.problems.append("the worker did not reconnect to Redis within 60 s")
            self.event("(b) the worker did NOT reconnect within 60 s")
        else:
            lines = reversed(log.read_text(errors="replace").splitlines())
            reason = next(
                (line.strip() for line in lines if "CRITICAL" in line),
                "no CRITICAL line in its log",
            )
            self.warnings.append(
                f"the worker exited when its broker connection dropped: {reason[:200]} (a kombu"
                " bug when the connection is lost while tasks are unacknowledged, as with"
                " acks_late); restarted as a supervisor would"
            )
            self.event("(b) the worker had EXITED when Redis went away:")
            self.event(f"    {reason[:160]}")
            ready = self.new_worker(3)
            self.event(f"(b) a new worker started, as a supervisor (systemd Restart=always) would;"
                       f" ready {ready:.1f} s later")  # fmt: skip
        time.sleep(max(0.0, self.options.phase - (time.time() - back)))

    def index_fault(self) -> None:
        index_dir = Path(self.env["SEARCH_INDEX_DIR"])
        self.phase("(c) index deleted")
        shutil.rmtree(index_dir)
        self.event(f"(c) search index folder deleted ({index_dir})")
        self.announce(3, "the index is gone")
        _traffic.publish_article_while_index_is_gone()
        word = _traffic.UNIQUE_WORD
        self.event(f"(c) staff publishes an article about '{word}' while the index is gone")
        time.sleep(self.options.index_down)
        self.phase("(c) rebuild")
        log, began = self.workdir / "rebuild.log", time.perf_counter()
        if status := _traffic.manage(["rebuild_search_index"], self.env, log):
            self.problems.append(f"rebuild_search_index failed: {harness.log_tail(log, 5)}")
        self.event(f"(c) manage.py rebuild_search_index done in {time.perf_counter() - began:.1f} s"
                   f" (exit status {status})")  # fmt: skip
        self.phase("(c) after the rebuild", self.options.phase)

    def recover(self) -> list[str]:
        """Drain the outbox, then let SIMULATED time pass for the sweepers until it drains."""

        def counts(prefix: str, drained: bool = True) -> str:
            c = bench.outbox_counts()
            return (
                f"{prefix}: {c['sent']:,} sent, {c['queued']} queued, {c['sending']} sending,"
                f" {c['failed']} failed" + ("" if drained else " (the rest waits for the sweepers)")
            )

        drained = wait_for_outbox(self.sink, DRAIN_TIMEOUT)
        lines = [counts("outbox after traffic stopped", drained)]
        for attempt in range(1, 4):
            moved = harness.let_time_pass(SIMULATED_MINUTES)
            swept = bench.run_sweepers()
            lines.append(
                f"SIMULATED {SIMULATED_MINUTES} minutes passing ({moved} unsent rows moved back),"
                f" then the beat's sweepers: "
                + ", ".join(f"{what} {n}" for what, n in swept.items())
            )
            drained = wait_for_outbox(self.sink, DRAIN_TIMEOUT)
            if drained and not any(swept.values()):
                break
            if attempt == 3 and not drained:
                lines.append("the outbox did not drain after three simulated sweeps")
        return [*lines, counts("outbox now")]


# -- report ------------------------------------------------------------------------------------
def phase_table(run: Run, journal: _traffic.Journal) -> int:
    """Print what users saw in each phase; returns the number of errors they saw in all."""
    run.sink.poll()
    rows: list = [("phase", "secs", "requests", "errors", "degraded", "p50 ms", "p99 ms",
                   "max ms", "writes ok", "emails", "healthz")]  # fmt: skip
    details, total_errors = [], 0
    for phase in run.phases:
        inside = [o for o in journal.outcomes if phase.start <= o.at < phase.end]
        errors = [o for o in inside if o.error]
        total_errors += len(errors)
        latencies = [o.seconds * 1000 for o in inside]
        health = [(status, state, checks) for at, status, state, checks in journal.health
                  if phase.start <= at < phase.end]  # fmt: skip
        said = Counter(state if status else "no answer" for status, state, _ in health)
        rows.append((
            phase.name, f"{phase.end - phase.start:.1f}", len(inside), len(errors),
            sum(o.degraded for o in inside), f"{percentile(latencies, 50):.0f}",
            f"{percentile(latencies, 99):.0f}", f"{max(latencies, default=0):.0f}",
            sum(1 for at in journal.acked_at if phase.start <= at < phase.end),
            sum(1 for at, _, _ in run.sink.accepted if phase.start <= at < phase.end),
            ", ".join(f"{s} {n}" for s, n in said.most_common()),
        ))  # fmt: skip
        if errors:
            kinds = Counter(f"{o.route}: {o.error}" for o in errors).most_common(6)
            details.append(f"    {phase.name}: " + "; ".join(f"{k} x{n}" for k, n in kinds))
        checks = Counter(f"{n} {s}" for _, _, c in health for n, s in c.items() if s != "ok")
        if checks:
            details.append(
                f"    {phase.name}: /healthz said "
                + ", ".join(f"{k} x{n}" for k, n in checks.most_common())
            )
    bench.table(rows)
    if details:
        say("  details:")
        say("\n".join(details))
    return total_errors


def server_log_summary(site: Run) -> int:
    """Print what gunicorn's log says about the faults; returns Django's 500s (must be none)."""
    text = site.server.log_path.read_text(errors="replace")
    server_errors = text.count("Internal Server Error")
    say(f"  gunicorn's log: tasks the web could not queue (broker down; the sweepers re-queue"
        f" them): {text.count('Could not queue')}; cache warnings (at most one per process"
        f" every 10 s): {text.count('cache unavailable')}, rate limits not checked:"
        f" {text.count('not checked: the cache is unavailable')}; search answered from the"
        f" database: {text.count('answering from the database')} lines; Django's 'Internal"
        f" Server Error' lines: {server_errors}")  # fmt: skip
    return server_errors


# -- main --------------------------------------------------------------------------------------
def run(options, workdir: Path, cleanups: bench.Cleanups) -> bool:
    say("Fault benchmark: the site, a Celery worker and beat, and customers, on a private")
    say(f"Redis; three faults one after another. Folder: {workdir}")
    say(f"  {os.cpu_count()} CPUs; {bench.uptime()}")
    site = Run(workdir, cleanups, options)
    bench.say_each(site.notes)
    # This process publishes announcements and reads through the app while Redis is down: its
    # warnings about that are expected (gunicorn's log is summed up instead).
    logging.getLogger("foundation.queueing").setLevel(logging.CRITICAL)
    say("\nData")
    data = _traffic.make_data(options, cleanups)
    from foundation.tasks import record_worker_heartbeat

    site.new_worker(1)
    site.beat.start()
    record_worker_heartbeat.delay()  # beat's first one comes a minute later: /healthz says ok
    site.server.start()
    say(f"  gunicorn helpcenter.wsgi -w {GUNICORN_WORKERS} on 127.0.0.1:{site.server.port}"
        " (DEBUG=0), celery worker (concurrency 2), celery beat")  # fmt: skip
    if not wait_for_outbox(site.sink, 120, patient=True):
        say("  note: the emails of the data set were not all sent before the traffic started")
    say(f"  emails of the data set delivered: {site.sink.poll()}")

    traffic = _traffic.Traffic(site.server.port, data, options)
    say(f"\nTraffic: {options.readers} readers (home, search, articles, status pages, feed),"
        f" {options.writers} customers writing (cases, messages, votes, subscriptions), a staff"
        " member replying on the desk, /healthz every second")  # fmt: skip
    say(f"  {bench.uptime()}")
    say("\nTimeline")
    site.started = time.time()
    traffic.start()
    site.event("traffic starts")
    site.phase("steady")
    site.announce(1, f"{data.subscribers} subscribers")
    time.sleep(options.phase)
    site.worker_fault()
    site.redis_fault()
    site.index_fault()
    site.phase(None)
    traffic.finish()
    site.event("traffic stops")
    say(f"  {bench.uptime()}")

    say("\nWhat users saw, per phase (errors: answers other than 2xx/3xx and socket errors;")
    say("degraded: searches answered from the database; writes ok: acknowledged writes;")
    say("emails: accepted by the SMTP sink)")
    errors = phase_table(site, traffic.journal)
    say("\nPer route, whole run")
    _traffic.route_table(traffic.journal)
    server_errors = server_log_summary(site)
    say(f"  worker alive: {site.worker.alive()}, beat alive: {site.beat.alive()}")
    say("\nRecovery (traffic stopped)")
    bench.say_each(site.recover())

    say("\nChecks: what clients were told, against the database and the SMTP sink")
    checks = _traffic.verify(site.sink, traffic, site.dispatches, site.in_flight_at_kill)
    checks.append(
        _traffic.Check("errors", errors == 0 and server_errors == 0, f"customers saw {errors}"
                       f" errors in all; Django logged {server_errors} server errors")
    )  # fmt: skip
    if not (site.beat.alive() and site.worker.alive()):
        site.problems.append("the worker or beat died during the run")
    return _traffic.print_checks(checks, site.problems, site.warnings)


if __name__ == "__main__":
    options = bench.options(
        __doc__,
        ("--phase", 15.0, "seconds of each calm phase (15)"),
        ("--worker-down", 5.0, "seconds (5)"),
        ("--redis-down", 30.0, "seconds (30)"),
        ("--index-down", 10.0, "seconds (10)"),
        ("--readers", 4, "reading clients (4)"),
        ("--writers", 3, "customers writing (3)"),
        ("--articles", 300, "generated articles (300)"),
        ("--cases", 60, "cases made beforehand (60)"),
        ("--subscribers", 200, "confirmed (200)"),
        require=[
            (lambda o: min(o.phase, o.worker_down, o.redis_down, o.index_down) > 0,
             "the durations must be positive"),
            (lambda o: o.readers >= 1 and o.writers >= 1 and o.cases >= 2,
             "--readers, --writers >= 1, --cases >= 2"),
        ],
    )  # fmt: skip
    sys.exit(bench.launch("bench-faults-", run, options, needs=["redis-server"]))
