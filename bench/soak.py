"""Soak benchmark: the ``make run`` process set for half an hour under a day's light traffic,
and proof that it stays up and loses or repeats nothing.

Run with ``.venv/bin/python bench/soak.py`` (``--minutes 30`` by default; ``--help``).

In a fresh temporary folder, with the embedded defaults only (SQLite, the filesystem broker,
mail written to files, the Whoosh index, DEBUG=1): what ``make run`` does (migrate,
createcachetable, load_demo, rebuild_search_index), then ``honcho start`` on the project's
Procfile: runserver, a Celery worker and Celery beat, each under ``helpcenter/supervise.py``,
and the start-up banner. Traffic, the whole time (bench/faults.py's clients, at a quieter pace):

- readers: the home page, searches (typos included), articles, case status pages, the feed,
  and now and then a static file;
- a customer who opens cases through the contact form, writes on their cases, votes on
  articles and subscribes to notices; a staff member replying on the desk;
- ``/healthz`` every second; beat ticking as configured;
- every ``--announce-every`` minutes an announcement mailed to every subscriber (a small
  fan-out), and once an article published (the worker must index it);
- every ``--burst-every`` seconds, a burst of tasks sent at the same instant from several
  threads through the broker, as beat sends its due tasks (the race that killed the worker).

At the end traffic stops, the outbox and the other to-do lists drain (real time, with beat's
sweepers; nothing is simulated), and the benchmark prints, per process, its uptime, restarts
and the exceptions in its log; for the traffic, the errors (must be 0), and every write a
client was told succeeded looked up in the database and every email in the mail folder
(0 lost, 0 duplicated).

Exit status: 0 when all of that holds, 1 otherwise, 2 when the run itself failed.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _support as support  # bench/_support.py, beside this file
import faults  # bench/faults.py: the clients, the journal and the loss checks
from _support import say

PROCESSES = ("web", "worker", "beat")
BANNER = "Web, worker and beat are up."
UP_TIMEOUT = 180.0
DRAIN_TIMEOUT = 480.0  # case update emails wait CASE_UPDATE_COALESCE_MINUTES (3) first
HONCHO_LINE = re.compile(r"^\d\d:\d\d:\d\d (\S+?)\.\d+\s*\| (.*)$")
EXCEPTION_LINE = re.compile(r"Traceback \(most recent call last\)|\b(ERROR|CRITICAL)\b")
BURST_TASKS = (
    "kb.tasks.sweep_pending_index_updates",
    "kb.tasks.flush_article_views",
    "foundation.tasks.flush_counters",
    "notifications.tasks.process_due_announcements",
    "notifications.tasks.requeue_stalled_messages",
    "notifications.tasks.resume_unfinished_dispatches",
)


# -- the mail folder as a sink -----------------------------------------------------------------


class MailFolder:
    """Django's file backend's folder seen as bench/faults.py's SMTP sink: ``poll()`` reads
    what was written since the last call, ``accepted`` holds (time, recipient, Message-ID)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.accepted: list[tuple[float, str, str]] = []
        self._offsets: dict[Path, int] = {}
        self._partial: dict[Path, bytes] = {}

    def poll(self) -> int:
        for path in sorted(self.folder.glob("*.log")) if self.folder.is_dir() else ():
            offset = self._offsets.get(path, 0)
            with path.open("rb") as file:
                file.seek(offset)
                chunk = file.read()
                self._offsets[path] = file.tell()
            if not chunk:
                continue
            text = self._partial.get(path, b"") + chunk
            complete, _, self._partial[path] = text.rpartition(b"\n")
            for found in support.MESSAGE_ID.finditer(complete + b"\n"):
                self.accepted.append((time.time(), "", found.group(1).decode(errors="replace")))
        return len(self.accepted)


# -- the process set ---------------------------------------------------------------------------


@dataclass
class ProcessReport:
    name: str
    restarts: int = 0
    exceptions: list[str] = field(default_factory=list)
    lines: int = 0
    static_lines: int = 0
    up_since: float = 0.0  # time.time() of its last "ready"


class MakeRun:
    """``honcho start`` on the project's Procfile, as ``make run`` starts it."""

    def __init__(self, workdir: Path, env: dict[str, str], port: int, code: Path) -> None:
        self.log_path = workdir / "honcho.log"
        self.code = code
        self.env = env
        self.port = port
        self.var_dir = Path(env["VAR_DIR"])
        self.process: subprocess.Popen | None = None
        self.started = 0.0

    def start(self) -> float:
        honcho = Path(sys.executable).parent / "honcho"
        self.started = time.time()
        self.process = support.start_process(
            [str(honcho), "start", "--procfile", "Procfile", "--port", str(self.port)],
            self.log_path,
            self.env,
            cwd=self.code,
        )
        support.wait_until(self._banner_seen, UP_TIMEOUT, "web, worker and beat up", 0.2)
        return time.time() - self.started

    def _banner_seen(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"honcho exited:\n{support.log_tail(self.log_path, 60)}")
        return BANNER.encode() in self.log_path.read_bytes()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def stop(self) -> None:
        # What Ctrl-C does: honcho passes SIGTERM on to every process group.
        support.stop_process_group(self.process, signal.SIGINT, timeout=30)

    def reports(self, up_to: int) -> dict[str, ProcessReport]:
        """Each process's figures from honcho's log up to byte ``up_to`` (before the stop)."""
        reports = {name: ProcessReport(name) for name in PROCESSES}
        text = self.log_path.read_bytes()[:up_to].decode(errors="replace")
        for line in text.splitlines():
            match = HONCHO_LINE.match(line)
            if not match or match.group(1) not in reports:
                continue
            report, message = reports[match.group(1)], match.group(2)
            report.lines += 1
            if f"supervise[{report.name}]:" in message and " restart " in message:
                report.restarts += 1
                report.exceptions.append(message)
            elif EXCEPTION_LINE.search(message):
                report.exceptions.append(message)
            if '"GET /static/' in message:
                report.static_lines += 1
        for name, report in reports.items():
            ready = self.var_dir / "run" / f"{name}.ready"
            report.up_since = ready.stat().st_mtime if ready.exists() else 0.0
        return reports


# -- what the benchmark does beside the clients --------------------------------------------------


class QuietTraffic(faults.Traffic):
    """bench/faults.py's clients at the pace of an ordinary day."""

    def __init__(self, port, data, journal, options) -> None:
        super().__init__(port, data, journal, options)
        self.read_pause = options.read_pause
        self.write_pause = options.write_pause
        self.staff_pause = options.staff_pause

    def start(self) -> None:
        super().start()
        thread = threading.Thread(target=self._guarded, args=(self.assets, 0), daemon=True)
        thread.start()
        self.threads.append(thread)

    def assets(self, rng) -> None:
        visitor = faults.Visitor(self.port, self.journal)
        paths = ("/static/js/timezone.js", "/static/vendor/htmx/htmx.min.js")
        while not self.stop.wait(self.read_pause * 3):
            visitor.get("static file", rng.choice(paths))


def send_burst(number: int, size: int) -> None:
    """``size`` tasks sent at the same instant from as many threads (a heartbeat with a name
    of its own first, then beat's periodic jobs), as beat sends the tasks that fall due
    together."""
    from foundation.tasks import record_worker_heartbeat
    from helpcenter.celery import app

    barrier = threading.Barrier(size)
    failures: list[str] = []

    def send(slot: int) -> None:
        barrier.wait()
        try:
            if slot == 0:
                record_worker_heartbeat.delay(f"soak-burst-{number}")
            else:
                app.send_task(BURST_TASKS[(slot - 1) % len(BURST_TASKS)])
        except Exception as error:
            failures.append(repr(error))

    threads = [threading.Thread(target=send, args=(slot,)) for slot in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"burst {number} could not be sent: {failures[:3]}")


def pending_work() -> dict[str, int]:
    """What is still to do in the database's to-do lists (all 0 once everything is done)."""
    from cases.models import Case, CaseLinkRequest
    from kb.services.indexing import pending_index_updates
    from notifications.models import Dispatch

    counts = faults.outbox_counts()
    return {
        "outbox rows queued or sending": counts["queued"] + counts["sending"],
        "cases waiting to be told": Case.objects.filter(update_pending_since__isnull=False).count(),
        "index updates pending": pending_index_updates().count(),
        "case link requests": CaseLinkRequest.objects.count(),
        "mailings planning": Dispatch.objects.filter(status=Dispatch.Status.PLANNING).count(),
    }


def heartbeats_missing(bursts: int) -> list[str]:
    from foundation.models import WorkerHeartbeat

    seen = set(
        WorkerHeartbeat.objects.filter(name__startswith="soak-burst-").values_list(
            "name", flat=True
        )
    )
    return [f"soak-burst-{n}" for n in range(1, bursts + 1) if f"soak-burst-{n}" not in seen]


# -- main --------------------------------------------------------------------------------------


def settings_for(var_dir: Path, port: int) -> dict[str, str]:
    """What ``make run`` runs with: DEBUG=1 and the embedded defaults, nothing configured."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL", "REDIS_URL", "REDIS_CACHE_URL", "EMAIL_URL", "SEARCH_INDEX_DIR",
            "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE", "SITE_URL",
        }
    }  # fmt: skip
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "helpcenter.settings",
            "DEBUG": "1",
            "VAR_DIR": str(var_dir),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "SITE_URL": f"http://127.0.0.1:{port}",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        }
    )
    return env


def prepare(workdir: Path, env: dict[str, str], code: Path) -> None:
    """``make run``'s set-up steps, each a ``manage.py`` command."""
    log = workdir / "setup.log"
    for command in (
        ["migrate", "--noinput"],
        ["createcachetable"],
        ["load_demo"],
        ["rebuild_search_index"],
    ):
        with log.open("ab") as out:
            done = subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=code,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode:
            raise RuntimeError(f"manage.py {command[0]} failed:\n{support.log_tail(log)}")


def parse_options(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long (30)")
    parser.add_argument("--readers", type=int, default=2, help="reading clients (2)")
    parser.add_argument("--writers", type=int, default=1, help="customers writing (1)")
    parser.add_argument("--read-pause", type=float, default=1.0, help="seconds (1)")
    parser.add_argument("--write-pause", type=float, default=8.0, help="seconds (8)")
    parser.add_argument("--staff-pause", type=float, default=20.0, help="seconds (20)")
    parser.add_argument("--cases", type=int, default=20, help="cases made beforehand (20)")
    parser.add_argument("--subscribers", type=int, default=30, help="confirmed (30)")
    parser.add_argument("--announce-every", type=float, default=10.0, help="minutes (10)")
    parser.add_argument("--burst-every", type=float, default=60.0, help="seconds (60)")
    parser.add_argument("--burst-size", type=int, default=8, help="tasks at once (8)")
    parser.add_argument(
        "--revision", default="", help="run this commit (default: the working tree as it is)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args(argv)
    if options.minutes <= 0 or options.readers < 1 or options.writers < 1:
        parser.error("--minutes > 0, --readers and --writers >= 1")
    if options.cases < 2 or options.burst_size < 2:
        parser.error("--cases and --burst-size >= 2")
    options.articles = 0  # bench/faults.py's make_data: the demo articles only
    return options


def copy_of_the_code(workdir: Path, revision: str) -> Path:
    """The project's files copied into ``workdir``: runserver reloads when a source file
    changes, and edits made elsewhere during a half-hour run must not restart it. By default
    the working tree (what git tracks or would); with ``revision``, that commit."""
    code = workdir / "code"
    code.mkdir(parents=True)
    if revision:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", revision],
            cwd=support.PROJECT_DIR,
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(code, filter="data")
        return code
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=support.PROJECT_DIR,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = support.PROJECT_DIR / name
        if source.is_file():
            target = code / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return code


@dataclass
class Day:
    """What the benchmark itself did during the run."""

    began: float = 0.0
    ran: float = 0.0
    announcements: int = 0
    bursts: int = 0
    down_at: float = 0.0


def drive(site: MakeRun, options, journal, checks_run, mail: MailFolder) -> Day:
    """The run's timeline beside the clients: announcements, one article, task bursts, a
    line a minute; stops early if honcho exits (the site went down)."""
    day = Day(began=time.time())
    end = day.began + options.minutes * 60
    next_burst = day.began + options.burst_every / 2
    next_announcement = day.began + 60
    next_report = day.began + 60
    article_published = False
    while time.time() < end:
        now = time.time()
        if not site.alive():
            day.down_at = now
            say(f"  t={now - day.began:6.0f}s  honcho EXITED: the site is down")
            break
        if now >= next_announcement:
            day.announcements += 1
            checks_run.dispatches.append(faults.publish_announcement(day.announcements))
            next_announcement += options.announce_every * 60
        if not article_published and now >= day.began + options.minutes * 30:
            faults.publish_article_while_index_is_gone()  # any time: the worker indexes it
            article_published = True
        if now >= next_burst:
            day.bursts += 1
            send_burst(day.bursts, options.burst_size)
            next_burst += options.burst_every
        if now >= next_report:
            errors = sum(1 for o in journal.outcomes if o.error)
            restarts = sum(r.restarts for r in site.reports(site.log_size()).values())
            say(
                f"  t={now - day.began:6.0f}s  requests {len(journal.outcomes):,}, errors"
                f" {errors}, writes acknowledged {len(journal.acked_at)}, announcements"
                f" {day.announcements}, bursts {day.bursts}, emails {mail.poll():,}, restarts"
                f" {restarts}; load {os.getloadavg()[0]:.2f}"
            )
            next_report += 60
        time.sleep(0.5)
    day.ran = time.time() - day.began
    return day


def drain(bursts: int) -> None:
    started = time.monotonic()
    try:
        support.wait_until(
            lambda: not any(pending_work().values()) and not heartbeats_missing(bursts),
            DRAIN_TIMEOUT,
            "the to-do lists empty",
            interval=2.0,
        )
        say(f"  everything done {time.monotonic() - started:.0f} s after traffic stopped")
    except TimeoutError:
        say(f"  NOT drained after {DRAIN_TIMEOUT:.0f} s: {pending_work()}")


def process_table(reports: dict[str, ProcessReport], stopped: float) -> None:
    say(f"  {'process':<8} {'uptime':>9} {'restarts':>8} {'exceptions':>10} {'log lines':>9}")
    for report in reports.values():
        uptime = (stopped - report.up_since) / 60 if report.up_since else 0.0
        say(
            f"  {report.name:<8} {uptime:>5.1f} min {report.restarts:>8}"
            f" {len(report.exceptions):>10} {report.lines:>9}"
        )
        for line in report.exceptions[:5]:
            say(f"      {line[:160]}")


def run(options: argparse.Namespace, workdir: Path, cleanups: list[Callable[[], None]]) -> bool:
    say("Soak benchmark: `make run`'s processes (web, worker, beat under helpcenter/supervise.py)")
    say(f"on the embedded defaults for {options.minutes:g} minutes. Folder: {workdir}")
    say(f"  {os.cpu_count()} CPUs; {support.uptime()}")
    port = support.free_port()
    env = settings_for(workdir / "var", port)
    started = time.perf_counter()
    code = copy_of_the_code(workdir, options.revision)
    prepare(workdir, env, code)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(code)  # Celery's Django fix-up puts the current folder first on sys.path
    support.setup_django(code)  # this process too reads the copy
    import logging

    logging.getLogger().setLevel(logging.ERROR)
    data = faults.make_data(options)
    from django.db import connections

    connections.close_all()
    took = time.perf_counter() - started
    say(f"  set-up as `make run` does it, in a copy of the code: {took:.0f} s")

    site = MakeRun(workdir, env, port, code)
    cleanups.append(site.stop)
    up_after = site.start()
    say(f"  honcho start: web, worker and beat up, banner printed {up_after:.1f} s later")

    journal = faults.Journal()
    traffic = QuietTraffic(port, data, journal, options)
    mail = MailFolder(workdir / "var" / "mail")
    fake_site = SimpleNamespace(sink=mail, server=SimpleNamespace(port=port))
    checks_run = faults.Run(fake_site, data, journal, options)
    say(
        f"\nTraffic: {options.readers} readers (a request every {options.read_pause:g} s each),"
        f" {options.writers} customer(s) writing (every {options.write_pause:g} s), a staff"
        f" member (a desk reply every {options.staff_pause:g} s), /healthz every second; an"
        f" announcement to {options.subscribers} subscribers every {options.announce_every:g}"
        f" min; a burst of {options.burst_size} tasks at once every {options.burst_every:g} s"
    )
    traffic.start()
    day = drive(site, options, journal, checks_run, mail)
    traffic.finish()
    if traffic.crashes:
        raise RuntimeError(f"traffic threads failed: {traffic.crashes}")
    say(f"  traffic stopped after {day.ran / 60:.1f} min; {support.uptime()}")

    say("\nDraining (real time: the worker and beat's sweepers do it)")
    drain(day.bursts)
    mail.poll()
    checks = faults.verify(fake_site, checks_run, journal)  # asks the site: before the stop
    stopped_at, stopped = site.log_size(), time.time()
    honcho_alive = site.alive() and not day.down_at
    reports = site.reports(stopped_at)
    site.stop()

    say("\nProcesses (honcho's log up to the stop)")
    process_table(reports, stopped)
    poison = list((workdir / "var" / "broker" / "poison").glob("*"))
    static_lines = sum(r.static_lines for r in reports.values())
    say(
        f"  honcho running to the end: {honcho_alive}; poison messages set aside:"
        f" {len(poison)}; runserver lines for static files: {static_lines}"
    )

    say("\nTraffic, per route")
    for line in faults.route_table(journal):
        say(line)
    errors = Counter(o.error for o in journal.outcomes if o.error)
    say(
        f"  {len(journal.outcomes):,} requests in {day.ran / 60:.1f} min, errors"
        f" {sum(errors.values())}"
        + (": " + "; ".join(f"{k} x{n}" for k, n in errors.items()) if errors else "")
    )
    say(f"  writes tried: {', '.join(f'{k} {n}' for k, n in sorted(journal.attempts.items()))}")

    say("\nChecks: what clients were told, against the database and the mail folder")
    missing_bursts = heartbeats_missing(day.bursts)
    left = {what: n for what, n in pending_work().items() if n}
    processes_ok = (
        honcho_alive
        and not poison
        and not any(r.restarts or r.exceptions for r in reports.values())
    )
    checks += [
        faults.Check(
            "task bursts",
            not missing_bursts,
            f"{day.bursts} bursts of {options.burst_size} tasks sent at once; bursts whose"
            f" heartbeat never ran {len(missing_bursts)}",
        ),
        faults.Check("drained", not left, f"left undone: {left or 'nothing'}"),
        faults.Check(
            "processes",
            processes_ok,
            "web, worker and beat up the whole run, no restart, no exception in the logs"
            if processes_ok
            else "a process restarted, logged an exception or went down (see above)",
        ),
        faults.Check("errors", not errors, f"{sum(errors.values())} errors shown to clients"),
    ]
    for check in checks:
        say(f"  {'PASS' if check.ok else 'FAIL'}  {check.name}: {check.text}")
    ok = all(check.ok for check in checks)
    say(f"\n{'PASS' if ok else 'FAIL'}; {support.uptime()}")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    return support.run_benchmark(
        "bench-soak-",
        lambda workdir, cleanups: run(options, workdir, cleanups),
        keep=options.keep,
    )


if __name__ == "__main__":
    sys.exit(main())
