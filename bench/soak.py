"""`make run`'s processes for half an hour under light traffic (README: Benchmarks)."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import _support as bench
import _traffic  # bench/_traffic.py: the customers, the journal and the loss checks
from _support import harness, say

PROCESSES = ("web", "worker", "beat")
UP_TIMEOUT = 180.0
READ_PAUSE, WRITE_PAUSE, STAFF_PAUSE = 1.0, 8.0, 20.0  # seconds, for each reader, writer, staff
DRAIN_TIMEOUT = 480.0  # case update emails wait CASE_UPDATE_COALESCE_MINUTES (3) first
HONCHO_LINE = re.compile(r"^\d\d:\d\d:\d\d (\S+?)\.\d+\s*\| (.*)$")
EXCEPTION_LINE = re.compile(r"Traceback \(most recent call last\)|\b(ERROR|CRITICAL)\b")
CONFIGURED = (  # what `make run` leaves unset
    "DATABASE_URL", "REDIS_URL", "REDIS_CACHE_URL", "EMAIL_URL", "SECRET_KEY", "SEARCH_INDEX_DIR",
    "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE", "SITE_URL",
)  # fmt: skip
BURST_TASKS = (
    "kb.tasks.sweep_pending_index_updates", "kb.tasks.flush_article_views",
    "foundation.tasks.flush_counters", "notifications.tasks.process_due_announcements",
    "notifications.tasks.requeue_stalled_messages",
    "notifications.tasks.resume_unfinished_dispatches",
)  # fmt: skip


class MailFolder:
    """Django's file backend's folder seen as an SMTP sink (``_traffic.verify``): ``poll()``
    reads what was written since the last call into ``accepted`` (time, "", Message-ID)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.accepted: list[tuple[float, str, str]] = []
        self._read: dict[Path, int] = {}

    def poll(self) -> int:
        for path in sorted(self.folder.glob("*.log")):
            text = path.read_bytes()
            complete = text[self._read.get(path, 0) : text.rfind(b"\n") + 1]
            self._read[path] = self._read.get(path, 0) + len(complete)
            for found in harness.MESSAGE_ID.finditer(complete):
                self.accepted.append((time.time(), "", found.group(1).decode(errors="replace")))
        return len(self.accepted)


class MakeRun:
    """``honcho start`` on the project's Procfile, as ``make run`` starts it."""

    def __init__(self, workdir: Path, env: dict[str, str], code: Path) -> None:
        self.log_path, self.env, self.code = workdir / "honcho.log", env, code
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        started = time.time()
        honcho = str(Path(sys.executable).parent / "honcho")
        command = [honcho, "start", "--procfile", "Procfile", "--port", self.env["PORT"]]
        self.process = harness.start_process(command, self.log_path, self.env, cwd=self.code)

        def banner_seen() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"honcho exited:\n{harness.log_tail(self.log_path, 60)}")
            return b"Web, worker and beat are up." in self.log_path.read_bytes()

        harness.wait_until(banner_seen, UP_TIMEOUT, "web, worker and beat up", 0.2)
        return time.time() - started

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        # What Ctrl-C does: honcho passes SIGTERM on to every process group.
        harness.stop_process_group(self.process, signal.SIGINT, timeout=30)

    def reports(self, up_to: int | None = None) -> dict[str, SimpleNamespace]:
        """Each process's restarts, exceptions, log lines and static-file lines in honcho's
        log (up to byte ``up_to``), and since when it is up."""
        reports = {
            name: SimpleNamespace(name=name, restarts=0, exceptions=[], lines=0, static=0)
            for name in PROCESSES
        }
        for line in self.log_path.read_bytes()[:up_to].decode(errors="replace").splitlines():
            if not (match := HONCHO_LINE.match(line)) or match[1] not in reports:
                continue
            report, message = reports[match[1]], match[2]
            report.lines += 1
            report.static += '"GET /static/' in message
            restart = f"supervise[{report.name}]:" in message and " restart " in message
            report.restarts += restart
            if restart or EXCEPTION_LINE.search(message):
                report.exceptions.append(message)
        for name, report in reports.items():
            ready = Path(self.env["VAR_DIR"]) / "run" / f"{name}.ready"
            report.up_since = ready.stat().st_mtime if ready.exists() else 0.0
        return reports


def send_burst(number: int, size: int) -> None:
    """``size`` tasks sent at the same instant from as many threads (a heartbeat with a name
    of its own first, then beat's periodic jobs), as beat sends the tasks that fall due
    together."""
    from foundation.tasks import record_worker_heartbeat
    from helpcenter.celery import app

    barrier, failures = threading.Barrier(size), []

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


def left_undone(bursts: int) -> dict[str, int]:
    """What is still to do in the database's to-do lists, and bursts whose heartbeat never
    ran (all 0 once everything is done)."""
    from cases.models import Case, CaseLinkRequest
    from foundation.models import WorkerHeartbeat
    from kb.services.indexing import pending_index_updates
    from notifications.models import Dispatch

    counts = bench.outbox_counts()
    beats = set(WorkerHeartbeat.objects.values_list("name", flat=True))
    undone = {
        "outbox rows queued or sending": counts["queued"] + counts["sending"],
        "cases waiting to be told": Case.objects.filter(update_pending_since__isnull=False).count(),
        "index updates pending": pending_index_updates().count(),
        "case link requests": CaseLinkRequest.objects.count(),
        "mailings planning": Dispatch.objects.filter(status=Dispatch.Status.PLANNING).count(),
        "bursts whose heartbeat never ran": sum(
            f"soak-burst-{n}" not in beats for n in range(1, bursts + 1)
        ),
    }
    return {what: n for what, n in undone.items() if n}


# -- set-up ------------------------------------------------------------------------------------
def copy_of_the_code(workdir: Path) -> Path:
    """The files git tracks (or would) copied into ``workdir``: runserver reloads when a
    source file changes, and edits made elsewhere during a half-hour run must not restart it."""
    code = workdir / "code"
    code.mkdir(parents=True)
    listed = ["git", "ls-files", "--cached", "--others", "--exclude-standard"]
    files = subprocess.run(listed, cwd=harness.ROOT, capture_output=True, check=True)
    names = [n for n in files.stdout.decode().splitlines() if (harness.ROOT / n).is_file()]
    tar = subprocess.run(["tar", "-cf", "-", "--", *names], cwd=harness.ROOT, capture_output=True,
                         check=True).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(tar)) as files:
        files.extractall(code, filter="data")
    return code


def make_run_settings(var_dir: Path) -> dict[str, str]:
    """What ``make run`` runs with: DEBUG=1 and the embedded defaults, nothing configured."""
    port = harness.free_port()
    return {
        **{key: value for key, value in os.environ.items() if key not in CONFIGURED},
        "DJANGO_SETTINGS_MODULE": "helpcenter.settings", "DEBUG": "1", "VAR_DIR": str(var_dir),
        "HOST": "127.0.0.1", "PORT": str(port), "SITE_URL": f"http://127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }  # fmt: skip


def prepare(workdir: Path, env: dict[str, str], code: Path) -> None:
    """``make run``'s set-up steps, each a ``manage.py`` command."""
    log = workdir / "setup.log"
    for command in (["migrate", "--noinput"], ["createcachetable"], ["load_demo"],
                    ["rebuild_search_index"]):  # fmt: skip
        if _traffic.manage(command, env, log, code):
            raise RuntimeError(f"manage.py {command[0]} failed:\n{harness.log_tail(log)}")


# -- the day -----------------------------------------------------------------------------------
def drive(site: MakeRun, options, traffic, mail: MailFolder) -> SimpleNamespace:
    """The run's timeline beside the clients: announcements, one article, task bursts, a
    line a minute; stops early if honcho exits (the site went down)."""
    day = SimpleNamespace(began=time.time(), dispatches=[], bursts=0, down=False)
    end = day.began + options.minutes * 60
    next_burst, next_announcement = day.began + options.burst_every / 2, day.began + 60
    next_report, article_published = day.began + 60, False
    while (now := time.time()) < end:
        if not site.alive():
            day.down = True
            say(f"  t={now - day.began:6.0f}s  honcho EXITED: the site is down")
            break
        if now >= next_announcement:
            day.dispatches.append(bench.publish_incident(len(day.dispatches) + 1))
            next_announcement += options.announce_every * 60
        if not article_published and now >= day.began + options.minutes * 30:
            _traffic.publish_article_while_index_is_gone()  # any time: the worker indexes it
            article_published = True
        if now >= next_burst:
            day.bursts += 1
            send_burst(day.bursts, options.burst_size)
            next_burst += options.burst_every
        if now >= next_report:
            journal = traffic.journal
            restarts = sum(r.restarts for r in site.reports().values())
            say(f"  t={now - day.began:6.0f}s  requests {len(journal.outcomes):,}, errors"
                f" {sum(1 for o in journal.outcomes if o.error)}, writes acknowledged"
                f" {len(journal.acked_at)}, announcements {len(day.dispatches)}, bursts"
                f" {day.bursts}, emails {mail.poll():,}, restarts {restarts};"
                f" load {os.getloadavg()[0]:.2f}")  # fmt: skip
            next_report += 60
        time.sleep(0.5)
    day.ran = time.time() - day.began
    return day


def run(options, workdir: Path, cleanups: bench.Cleanups) -> bool:
    say("Soak benchmark: `make run`'s processes (web, worker, beat under helpcenter/supervise.py)")
    say(f"on the embedded defaults for {options.minutes:g} minutes. Folder: {workdir}")
    say(f"  {os.cpu_count()} CPUs; {bench.uptime()}")
    env = make_run_settings(workdir / "var")
    started = time.perf_counter()
    code = copy_of_the_code(workdir)
    prepare(workdir, env, code)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(code)  # Celery's Django fix-up puts the current folder first on sys.path
    sys.path.insert(0, str(code))  # this process too reads the copy
    options.articles = 0  # the demo articles only
    data = _traffic.make_data(options, cleanups)
    took = time.perf_counter() - started
    say(f"  set-up as `make run` does it, in a copy of the code: {took:.0f} s")

    site = MakeRun(workdir, env, code)
    cleanups.append(site.stop)
    say(f"  honcho start: web, worker and beat up, banner printed {site.start():.1f} s later")

    port, pauses = int(env["PORT"]), (READ_PAUSE, WRITE_PAUSE, STAFF_PAUSE, 1.0)
    traffic = _traffic.Traffic(port, data, options, pauses)
    mail = MailFolder(workdir / "var" / "mail")
    say(
        f"\nTraffic: {options.readers} readers (a request every {READ_PAUSE:g} s each),"
        f" {options.writers} customer(s) writing (every {WRITE_PAUSE:g} s), a staff"
        f" member (a desk reply every {STAFF_PAUSE:g} s), /healthz every second; an"
        f" announcement to {options.subscribers} subscribers every {options.announce_every:g}"
        f" min; a burst of {options.burst_size} tasks at once every {options.burst_every:g} s"
    )

    def assets(rng) -> None:
        visitor = _traffic.Visitor(traffic)
        paths = ("/static/js/timezone.js", "/static/vendor/htmx/htmx.min.js")
        while not traffic.stop.wait(READ_PAUSE * 3):
            visitor.request("static file", rng.choice(paths))

    traffic.start(assets)
    day = drive(site, options, traffic, mail)
    traffic.finish()
    say(f"  traffic stopped after {day.ran / 60:.1f} min; {bench.uptime()}")

    say("\nDraining (real time: the worker and beat's sweepers do it)")
    began = time.monotonic()
    try:
        harness.wait_until(lambda: not left_undone(day.bursts), DRAIN_TIMEOUT, "drained", 2.0)
        say(f"  everything done {time.monotonic() - began:.0f} s after traffic stopped")
    except TimeoutError:
        say(f"  NOT drained after {DRAIN_TIMEOUT:.0f} s: {left_undone(day.bursts)}")
    mail.poll()
    # Before the stop: the search check asks the site.
    checks = _traffic.verify(mail, traffic, day.dispatches)
    stopped_at, stopped = site.log_path.stat().st_size, time.time()
    honcho_alive = site.alive() and not day.down
    reports = site.reports(stopped_at)
    site.stop()

    say("\nProcesses (honcho's log up to the stop)")
    rows: list = [("process", "uptime", "restarts", "exceptions", "log lines")]
    for report in reports.values():
        uptime = (stopped - report.up_since) / 60 if report.up_since else 0.0
        row = (f"{uptime:.1f} min", report.restarts, len(report.exceptions), report.lines)
        rows.append((report.name, *row))
    bench.table(rows)
    for report in reports.values():
        for line in report.exceptions[:5]:
            say(f"      {report.name}: {line[:160]}")
    poison = list((workdir / "var" / "broker" / "poison").glob("*"))
    say(
        f"  honcho running to the end: {honcho_alive}; poison messages set aside: {len(poison)};"
        f" runserver lines for static files: {sum(r.static for r in reports.values())}"
    )

    say("\nTraffic, per route")
    errors = _traffic.route_table(traffic.journal)
    say(f"  {len(traffic.journal.outcomes):,} requests in {day.ran / 60:.1f} min, errors"
        f" {errors.total()}"
        + (": " + "; ".join(f"{k} x{n}" for k, n in errors.items()) if errors else ""))  # fmt: skip

    say("\nChecks: what clients were told, against the database and the mail folder")
    left = left_undone(day.bursts)
    missing_bursts = left.pop("bursts whose heartbeat never ran", 0)
    processes_ok = honcho_alive and not poison and not any(r.exceptions for r in reports.values())
    checks += [
        _traffic.Check(
            "task bursts", not missing_bursts,
            f"{day.bursts} bursts of {options.burst_size} tasks sent at once; bursts whose"
            f" heartbeat never ran {missing_bursts}",
        ),
        _traffic.Check("drained", not left, f"left undone: {left or 'nothing'}"),
        _traffic.Check(
            "processes", processes_ok,
            "web, worker and beat up the whole run, no restart, no exception in the logs"
            if processes_ok else "a process restarted, logged an exception or went down",
        ),
        _traffic.Check("errors", not errors, f"{errors.total()} errors shown to clients"),
    ]  # fmt: skip
    return _traffic.print_checks(checks)


if __name__ == "__main__":
    options = bench.options(
        __doc__,
        ("--minutes", 30.0, "how long (30)"),
        ("--readers", 2, "reading clients (2)"),
        ("--writers", 1, "customers writing (1)"),
        ("--cases", 20, "cases made beforehand (20)"),
        ("--subscribers", 30, "confirmed (30)"),
        ("--announce-every", 10.0, "minutes (10)"),
        ("--burst-every", 60.0, "seconds (60)"),
        ("--burst-size", 8, "tasks at once (8)"),
        require=[
            (lambda o: o.minutes > 0 and o.readers >= 1 and o.writers >= 1,
             "--minutes > 0, --readers and --writers >= 1"),
            (lambda o: o.cases >= 2 and o.burst_size >= 2, "--cases and --burst-size >= 2"),
        ],
    )  # fmt: skip
    sys.exit(bench.launch("bench-soak-", run, options))
