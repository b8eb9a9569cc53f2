"""The real parts the tests and the benchmarks (``bench/``) start beside the site: a Celery
worker or beat, gunicorn, an SMTP sink, a private redis-server, a private Dovecot (IMAP); what
starting them takes (free ports, waiting, process groups, the environment, a throwaway
database); and what both ask of the site they run: which statements a page costs, and time
passing for the sweepers.

Every process is started in its own session, so that stopping it stops what it forked, and
asks the kernel to end it if its parent dies (even by SIGKILL). Nothing here imports Django at
module level: the benchmarks set their environment first. The SMTP sink runs in the caller's
process (the tests) or in one of its own (``python -m tests.harness serve-sink LOG PORT READY``,
the benchmarks).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import getpass
import http.client
import logging
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

# Django sets TZ to the site's time zone: uptime keeps the clock of the shell that started us.
_SHELL_TZ = os.environ.get("TZ")


def say(text: str = "") -> None:
    print(text, flush=True)


def uptime() -> str:
    environment = dict(os.environ)
    if _SHELL_TZ is None:
        environment.pop("TZ", None)
    else:
        environment["TZ"] = _SHELL_TZ
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, timeout=5, check=False, env=environment
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        one, five, fifteen = os.getloadavg()
        return f"load average: {one:.2f}, {five:.2f}, {fifteen:.2f}"


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval=0.1):
    """Poll until ``condition()`` is truthy and return its value; TimeoutError after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


def die_with_parent() -> None:
    """Run in a child before it starts: SIGTERM it if its parent dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the finally blocks still stop it, short of a SIGKILL


def stop_process_group(process: subprocess.Popen | None, sig: int, timeout: float = 20) -> None:
    """Signal a child started in its own session (and everything it forked); reap it."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_process(
    command: list[str], log_path: Path, env: dict[str, str] | None, cwd: Path = ROOT
) -> subprocess.Popen:
    """``command`` in ``cwd`` (the project), in its own session, its output appended to
    ``log_path``; ended by the kernel if this process dies."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env if env is not None else dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )


def proc_stat(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command (which may hold spaces and
    parentheses): state, parent, process group, ...; OSError when there is no such process."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def processes() -> Iterator[tuple[int, list[str]]]:
    """Each process of the machine: its pid and ``proc_stat`` fields."""
    for pid in (int(entry.name) for entry in os.scandir("/proc") if entry.name.isdigit()):
        try:
            fields = proc_stat(pid)
        except OSError:
            continue  # it ended meanwhile
        yield pid, fields


def child_pids(parent: int) -> list[int]:
    return [pid for pid, fields in processes() if int(fields[1]) == parent]


def http_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# -- the environment ---------------------------------------------------------------------------


def process_env(**overrides: str) -> dict[str, str]:
    """This process's environment with ``overrides``: what a helper process starts with."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", **overrides}


def production_settings(var_dir: Path, name: str) -> dict[str, str]:
    """Environment for the site in production mode (DEBUG off) on loopback, in ``var_dir``.

    Put into ``os.environ`` before Django starts, so this process and its children agree.
    """
    (var_dir / "static").mkdir(parents=True, exist_ok=True)  # whitenoise warns without it
    return {
        "DJANGO_SETTINGS_MODULE": "helpcenter.settings",
        "VAR_DIR": str(var_dir),
        "SEARCH_INDEX_DIR": str(var_dir / "index"),
        "DEBUG": "0",
        "SECRET_KEY": f"bench-{name}-{secrets.token_hex(16)}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "STATIC_PLAIN_STORAGE": "1",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


def _postgres_admin(url: str):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or None,
        password=parts.password or None,
        dbname=parts.path.lstrip("/") or "postgres",
        autocommit=True,
        connect_timeout=10,
    )


def use_database(suffix: str, var_dir: Path, cleanups: list[Callable[[], None]]) -> str:
    """SQLite in ``var_dir`` by default; with ``DATABASE_URL`` (PostgreSQL), a throwaway
    database ``<name>_<suffix>`` beside the given one, dropped at the end. Returns a
    description; sets ``DATABASE_URL`` for this process and its children."""
    url = os.environ.get("DATABASE_URL", "")
    if url and not urlsplit(url).scheme.startswith(("postgres", "pgsql")):
        os.environ.pop("DATABASE_URL")
        return f"SQLite, {var_dir / 'db.sqlite3'} (DATABASE_URL is not PostgreSQL: ignored)"
    if not url:
        return f"SQLite, {var_dir / 'db.sqlite3'}"
    from psycopg import sql

    given = urlsplit(url).path.lstrip("/") or "postgres"
    name = f"{given}_{suffix}"
    drop_statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with _postgres_admin(url) as admin:
        admin.execute(drop_statement)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with _postgres_admin(url) as admin:
            admin.execute(drop_statement)

    cleanups.append(drop)
    os.environ["DATABASE_URL"] = with_path(url, f"/{name}")
    parts = urlsplit(url)
    return (
        f"PostgreSQL, throwaway database {name!r} on {parts.hostname}:{parts.port or 5432}"
        f" (created now, dropped at the end; {given!r} untouched)"
    )


def setup_django(project_dir: Path = ROOT) -> None:
    """Django in this process (the project in ``project_dir``), its database migrated and its
    cache table made."""
    import django
    from django.core.management import call_command

    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)


def is_page_query(sql: str) -> bool:
    """Whether a statement is one a page costs the database: the database cache's own
    statements are left out (the cache is Redis in production), and so are savepoints
    (transaction control, not reads)."""
    return "helpcenter_cache" not in sql and "SAVEPOINT" not in sql


# -- the sweepers, a few minutes later ---------------------------------------------------------


def let_time_pass(minutes: int) -> int:
    """Move back by ``minutes`` the stored times of what is unsent or pending (outbox rows,
    mailings being planned, index updates, case updates, link requests and webhook deliveries),
    so the beat's sweepers act as they would that much later. Returns the unsent outbox rows."""
    from datetime import timedelta

    from django.db.models import F

    from cases.models import Case, CaseLinkRequest
    from kb.models import IndexingState
    from kb.services.indexing import pending_index_updates
    from notifications.models import Dispatch, OutgoingMessage
    from webhooks.models import Delivery

    delta = timedelta(minutes=minutes)
    unsent = OutgoingMessage.objects.filter(
        status__in=[OutgoingMessage.Status.QUEUED, OutgoingMessage.Status.SENDING]
    )
    moved = unsent.count()
    for name in ("next_attempt_at", "sending_started_at", "requeued_at", "created_at"):
        unsent.filter(**{f"{name}__isnull": False}).update(**{name: F(name) - delta})
    Dispatch.objects.filter(status=Dispatch.Status.PLANNING).update(
        created_at=F("created_at") - delta
    )
    IndexingState.objects.filter(pk__in=pending_index_updates()).update(
        queued_at=F("queued_at") - delta
    )
    Case.objects.filter(update_pending_since__isnull=False).update(
        update_pending_since=F("update_pending_since") - delta
    )
    undelivered = Delivery.objects.filter(
        status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING]
    )
    for name in ("next_attempt_at", "sending_started_at", "requeued_at"):
        undelivered.filter(**{f"{name}__isnull": False}).update(**{name: F(name) - delta})
    CaseLinkRequest.objects.update(
        created_at=F("created_at") - delta, next_attempt_at=F("next_attempt_at") - delta
    )
    return moved


# -- processes ---------------------------------------------------------------------------------


class CeleryProcess:
    """``celery -A helpcenter worker`` (or ``beat``) in its own session.

    ``launcher`` is how Python runs Celery: the tests' subclass goes through ``tests.clock``,
    so that the worker shares a moved clock.
    """

    launcher: tuple[str, ...] = ("celery",)

    def __init__(
        self,
        log_path: Path,
        env: dict[str, str] | None,
        *,
        concurrency: int | None = 2,
        beat: bool = False,
        name: str | None = None,
        loglevel: str = "INFO",
    ) -> None:
        self.log_path = log_path
        self.env = env
        self.concurrency = concurrency
        self.beat = beat
        self.name = name or log_path.stem
        self.loglevel = loglevel
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        if self.beat:
            schedule = self.log_path.with_suffix(".schedule")
            arguments = ["beat", f"--loglevel={self.loglevel}", f"--schedule={schedule}"]
        else:
            arguments = [
                "worker", f"--loglevel={self.loglevel}",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                f"--hostname={self.name}@%h",
            ]  # fmt: skip
            if self.concurrency:
                arguments.append(f"--concurrency={self.concurrency}")
        return [sys.executable, "-m", *self.launcher, "-A", "helpcenter", *arguments]

    def start(self, ready: Callable[[], bool] | None = None) -> float:
        """Start and wait until it says it is ready (or ``ready()`` is true); returns the
        seconds that took."""
        started = time.monotonic()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.touch()
        offset = self.log_path.stat().st_size
        said = b"beat: Starting" if self.beat else b" ready."
        self.process = start_process(self.command(), self.log_path, self.env)

        def is_ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{log_tail(self.log_path)}")
            return ready() if ready else said in self.log_path.read_bytes()[offset:]

        wait_until(is_ready, READY_TIMEOUT, f"{self.name} start", interval=0.1)
        return time.monotonic() - started

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process_group(self.process, sig)

    def kill(self) -> None:
        """SIGKILL the whole group (main process and pool children), as a crash would."""
        self.stop(signal.SIGKILL)


class Gunicorn:
    """``gunicorn helpcenter.wsgi`` with its own process group; ``stop`` never hangs."""

    def __init__(self, folder: Path, workers: int, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.log_path = folder / "gunicorn.log"
        self.workers = workers
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self, ready_path: str = "/es/", headers: dict[str, str] | None = None) -> None:
        """Start, and wait until ``ready_path`` answers 200 and every worker is up."""
        gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
        command = [
            str(gunicorn if gunicorn.exists() else Path(sys.executable).parent / "gunicorn"),
            "helpcenter.wsgi", "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
            "--no-control-socket",  # gunicorn 27 would open one in ~/.gunicorn, shared
        ]  # fmt: skip
        self.process = start_process(command, self.log_path, self.env)

        def answers() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; its log:\n{log_tail(self.log_path)}")
            try:
                return http_get(self.port, ready_path, headers)[0] == 200
            except OSError:
                return False

        wait_until(answers, READY_TIMEOUT, "gunicorn answering", interval=0.2)
        wait_until(lambda: len(self.worker_pids()) == self.workers, READY_TIMEOUT, "workers")

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid) if self.process else []

    def workers_time(self) -> tuple[float, float]:
        """Seconds the workers spent on a CPU, and runnable but waiting for one (the share of
        the machine that other work took from them)."""
        on_cpu = waiting = 0.0
        for pid in self.worker_pids():
            try:  # /proc/<pid>/schedstat: on-CPU and run-queue time in nanoseconds
                running, queued, _slices = Path(f"/proc/{pid}/schedstat").read_text().split()
            except (OSError, ValueError):
                continue
            on_cpu += int(running) / 1e9
            waiting += int(queued) / 1e9
        return on_cpu, waiting

    def error_lines(self) -> list[str]:
        """Tracebacks and errors in the log (Django logs each 500 with its traceback)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if "Traceback" in line or " ERROR " in line]

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown (TERM waits 30 s)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)


class PrivateRedis:
    """A redis-server of our own on a free loopback port, in a temporary folder, without
    persistence: stopping it loses everything it held, as a crash would."""

    MISSING = (
        "redis-server is not installed. On Debian or Ubuntu:\n"
        "    sudo apt-get install -y redis-server\n"
        "(the benchmark starts its own server on a free port; it never uses the system's)."
    )

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "redis"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log_path = self.folder / "redis.log"
        self.process: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        command = [
            shutil.which("redis-server") or "redis-server",
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
            "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--logfile", str(self.log_path),
        ]  # fmt: skip
        self.process = start_process(command, self.folder / "stdout.log", None)

        def answers() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited:\n{log_tail(self.log_path)}")
            return self.ping()

        wait_until(answers, READY_TIMEOUT, "redis-server start", interval=0.05)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        stop_process_group(self.process, signal.SIGKILL)

    def stop(self) -> None:
        stop_process_group(self.process, signal.SIGTERM)


class S3Server:
    """An S3-compatible server on a free loopback port: moto in server mode (``python -m
    moto.server``), in its own process; it keeps its buckets in memory."""

    REGION = "us-east-1"
    ACCESS_KEY = "helpcenter-test"
    SECRET_KEY = "helpcenter-test-secret"

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "s3"
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        log_path = self.folder / "moto.log"
        self.process = start_process(command, log_path, process_env())

        def answers() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited:\n{log_tail(log_path)}")
            try:
                return http_get(self.port, "/moto-api/")[0] < 500
            except OSError:
                return False

        wait_until(answers, READY_TIMEOUT, "moto server start", interval=0.1)

    def storage(self, bucket: str, *, prefix: str = "attachments") -> dict:
        """A STORAGES entry for ``bucket`` on this server, as the settings build it."""
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "location": prefix,
                "endpoint_url": self.url,
                "region_name": self.REGION,
                "access_key": self.ACCESS_KEY,
                "secret_key": self.SECRET_KEY,
                "default_acl": None,
                "querystring_auth": True,
                "file_overwrite": True,
            },
        }

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=self.REGION,
            aws_access_key_id=self.ACCESS_KEY,
            aws_secret_access_key=self.SECRET_KEY,
        )

    def stop(self) -> None:
        stop_process_group(self.process, signal.SIGTERM)


class ClamdServer:
    """ClamAV's daemon (Debian's clamav-daemon) on a private socket, with a database of our own
    signatures only (``signatures``: name to the bytes it flags), so it starts in seconds with
    no virus database to download."""

    MISSING = (
        "clamd is not installed. On Debian or Ubuntu:\n"
        "    sudo apt-get install -y clamav-daemon\n"
        "(the tests start their own clamd with a database of one test signature)."
    )

    def __init__(self, folder: Path, signatures: dict[str, bytes]) -> None:
        self.folder = folder / "clamd"
        self.signatures = signatures
        # A socket's path must stay under ~100 characters, whatever the test folder's length.
        self.socket_dir = Path(tempfile.mkdtemp(prefix="clamd-"))
        self.socket = self.socket_dir / "clamd.sock"
        self.process: subprocess.Popen | None = None

    @staticmethod
    def executable() -> str | None:
        return shutil.which("clamd") or next(
            (path for path in ("/usr/sbin/clamd",) if Path(path).exists()), None
        )

    @classmethod
    def available(cls) -> bool:
        return cls.executable() is not None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        database = self.folder / "db"
        database.mkdir(parents=True, exist_ok=True)
        (database / "helpcenter-test.ndb").write_text(
            "".join(f"{name}:0:*:{mark.hex()}\n" for name, mark in self.signatures.items())
        )
        config = self.folder / "clamd.conf"
        config.write_text(
            "Foreground yes\n"
            f"LocalSocket {self.socket}\n"
            f"DatabaseDirectory {database}\n"
            f"LogFile {self.folder / 'clamd.log'}\n"
            f"User {getpass.getuser()}\n"
        )
        command = [self.executable() or "clamd", "--config-file", str(config)]
        self.process = start_process(command, self.folder / "stdout.log", None)

        def answers() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"clamd exited:\n{log_tail(self.folder / 'stdout.log')}")
            return self.ping()

        wait_until(answers, READY_TIMEOUT, "clamd start", interval=0.1)

    def ping(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as connection:
                connection.settimeout(2)
                connection.connect(str(self.socket))
                connection.sendall(b"zPING\0")
                return connection.recv(16).startswith(b"PONG")
        except OSError:
            return False

    def stop(self) -> None:
        stop_process_group(self.process, signal.SIGTERM)
        shutil.rmtree(self.socket_dir, ignore_errors=True)


# -- the SMTP sink -----------------------------------------------------------------------------

MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it accepts.

    In memory, parsed (``messages``: the tests), or with ``log``, as one ``time, recipient,
    Message-ID`` line per recipient, written and flushed before it answers 250, so anything a
    worker saw accepted is in the file (the benchmarks: ``SinkProcess``). ``refuse[address] =
    450`` (or 550) makes it answer RCPT TO for that address with that code.
    """

    def __init__(self, log=None) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refuse: dict[str, int] = {}
        self.log = log
        self._lock = threading.Lock()
        self.controller = None

    def start(self, port: int | None = None) -> int:
        """Listen on ``port`` (a free one by default), in a thread; returns the port."""
        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
        self.port = port or free_port()
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, server_hostname="sink", ready_timeout=10
        )
        self.controller.start()
        return self.port

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.refuse.get(address.lower())
        if code:
            return f"{code} {'Mailbox busy, try later' if code < 500 else 'No such user here'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        if self.log is None:
            message = email.message_from_bytes(content, policy=email.policy.default)
            with self._lock:
                self.messages.append(message)
        else:
            found = MESSAGE_ID.search(content.split(b"\r\n\r\n", 1)[0])
            message_id = found.group(1).decode(errors="replace") if found else "-"
            now = time.time()
            for recipient in envelope.rcpt_tos:
                self.log.write(f"{now:.6f}\t{recipient.lower()}\t{message_id}\n")
            self.log.flush()
        return "250 Message accepted for delivery"

    def recipients(self) -> list[str]:
        with self._lock:
            return [str(message["To"]) for message in self.messages]

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
        self.refuse.clear()


def serve_sink(log_path: Path, port: int, ready_path: Path) -> int:
    """The sink's own process (``SinkProcess``): serve until SIGTERM or the parent's death."""
    stop: list[bool] = []
    parent = os.getppid()
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    with log_path.open("a", buffering=1 << 16) as log:
        sink = SmtpSink(log)
        sink.start(port)
        ready_path.write_text(str(os.getpid()))
        try:
            while not stop and os.getppid() == parent:
                time.sleep(0.2)
        finally:
            sink.stop()
    return 0


class SinkProcess:
    """An ``SmtpSink`` in a process of its own, seen from the benchmark: start, read what it
    accepted (``accepted``: time, recipient, Message-ID), stop."""

    def __init__(self, folder: Path, name: str = "smtp-sink") -> None:
        self.log_path = folder / f"{name}.log"
        self.ready_path = folder / f"{name}.ready"
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self._offset = 0
        self._partial = ""
        self.accepted: list[tuple[float, str, str]] = []

    def start(self) -> None:
        self.log_path.touch()
        command = [sys.executable, "-m", "tests.harness", "serve-sink"]
        command += [str(self.log_path), str(self.port), str(self.ready_path)]
        self.process = start_process(command, self.log_path.with_suffix(".out"), None)
        wait_until(
            lambda: self.ready_path.exists() or self.process.poll() is not None,
            READY_TIMEOUT,
            "SMTP sink start",
        )
        if self.process.poll() is not None:
            raise RuntimeError(f"the SMTP sink exited with {self.process.returncode}")

    def poll(self) -> int:
        """Read the lines written since the last call; returns how many messages so far."""
        with self.log_path.open("r") as log:
            log.seek(self._offset)
            chunk = log.read()
            self._offset = log.tell()
        if chunk:
            lines = (self._partial + chunk).split("\n")
            self._partial = lines.pop()
            for line in lines:
                parts = line.split("\t")
                if len(parts) == 3:
                    self.accepted.append((float(parts[0]), parts[1], parts[2]))
        return len(self.accepted)

    def stop(self) -> None:
        stop_process_group(self.process, signal.SIGTERM)


# -- a webhook receiver ------------------------------------------------------------------------


class WebhookReceiver:
    """An HTTP server on loopback, in threads, that takes webhook posts as a receiving system
    would: it verifies each one's signature with the Standard Webhooks reference library
    (``standardwebhooks``, independent of the site's signing code) and keeps ``(time,
    webhook-id, type)`` of each verified post in ``received`` (a post that fails verification
    is answered 400 and kept in ``rejected``). ``answer`` is the status it replies with;
    ``delay`` seconds it waits before replying (a slow receiver)."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.answer = 204
        self.delay = 0.0
        self.received: list[tuple[float, str, str]] = []
        self.rejected: list[str] = []
        self.bodies: list[dict] = []
        self.hosts: list[str] = []  # the Host header of each verified post
        self._lock = threading.Lock()
        self.server = None
        self.tls = None  # an ssl.SSLContext to serve https (set before start)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/hooks/"

    def start(self) -> WebhookReceiver:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the site's client expects

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender went away mid-body (a worker killed mid-post): no request
                    # arrived, as any server sees it, and there is no one to answer.
                    self.close_connection = True
                    return
                code = receiver.take(body, dict(self.headers.items()))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def take(self, body: bytes, headers: dict[str, str]) -> int:
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        try:
            payload = Webhook(self.secret).verify(body, headers)
        except (WebhookVerificationError, ValueError, RuntimeError) as error:
            with self._lock:
                self.rejected.append(repr(error))
            return 400
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.received.append(
                (
                    time.time(),
                    headers.get("webhook-id") or headers.get("Webhook-Id"),
                    payload["type"],
                )
            )
            self.bodies.append(payload)
            self.hosts.append(headers.get("Host", ""))
        return self.answer

    def ids(self) -> list[str]:
        with self._lock:
            return [webhook_id for _, webhook_id, _ in self.received]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self.rejected.clear()
            self.bodies.clear()
            self.hosts.clear()
        self.answer, self.delay = 204, 0.0

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


# -- a benchmark's run -------------------------------------------------------------------------


def run_benchmark(
    prefix: str, run: Callable[[Path, list[Callable[[], None]]], bool], *, keep: bool
) -> int:
    """Run ``run(workdir, cleanups)`` in a fresh temporary folder, then the cleanups it
    registered (last first). Exit status: 0 when it passed, 1 when a check failed, 2 when the
    run itself failed, 130 when interrupted (Ctrl-C or SIGTERM)."""
    import tempfile
    import traceback

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    cleanups: list[Callable[[], None]] = []
    code = 2
    try:
        code = 0 if run(workdir, cleanups) else 1
    except KeyboardInterrupt:
        say("\nInterrupted.")
        code = 130
    except Exception as error:
        say(f"\nThe benchmark failed: {error!r}")
        traceback.print_exc()
    finally:
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception as error:
                say(f"  cleanup failed: {error!r}")
        if keep:
            say(f"\nKept the temporary folder: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return code


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "serve-sink":
        sys.exit(serve_sink(Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])))
    sys.exit("usage: python -m tests.harness serve-sink LOG PORT READY (started by SinkProcess)")


# -- an IMAP server ---------------------------------------------------------------------------


class PrivateDovecot:
    """Dovecot (Debian's ``dovecot-imapd``) of our own: a private configuration in a temporary
    folder, plain IMAP on a free loopback port, one user whose mail is a Maildir in that
    folder. It never reads or touches the machine's own Dovecot configuration."""

    MISSING = (
        "dovecot is not installed. On Debian or Ubuntu:\n"
        "    sudo apt-get install -y dovecot-imapd\n"
        "(the tests start their own server on a free port with a private configuration)."
    )
    USER, PASSWORD = "support", "imap-test-password"

    def __init__(self) -> None:
        # Its own folder, open to Dovecot's unprivileged processes (pytest's tmp_path is
        # private to the user who runs the tests, and Dovecot's auth runs as another).
        self.folder = Path(tempfile.mkdtemp(prefix="dovecot-"))
        self.folder.chmod(0o755)
        self.port = free_port()
        self.log_path = self.folder / "dovecot.log"
        self.process: subprocess.Popen | None = None

    @staticmethod
    def binary() -> str | None:
        return shutil.which("dovecot") or next(
            (path for path in ("/usr/sbin/dovecot",) if Path(path).exists()), None
        )

    @classmethod
    def available(cls) -> bool:
        return cls.binary() is not None

    def url(self, folder: str = "INBOX") -> str:
        return f"imap://{self.USER}:{self.PASSWORD}@127.0.0.1:{self.port}/{folder}"

    def _configuration(self) -> str:
        import grp
        import pwd

        folder = self.folder
        if os.geteuid() == 0:
            # Dovecot will not serve mail as root: the mailbox belongs to nobody, and the
            # login and internal processes run as the package's own users.
            user, group = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
            privileges = ""
        else:
            user = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
            privileges = f"default_login_user = {user}\ndefault_internal_user = {user}\n"
        return (
            (
                f"base_dir = {folder}/run\nstate_dir = {folder}/state\n"
                f"log_path = {self.log_path}\n{privileges}"
                "protocols = imap\nlisten = 127.0.0.1\nssl = no\n"
                "disable_plaintext_auth = no\nauth_mechanisms = plain login\n"
                f"mail_location = maildir:{folder}/mail/%u\nfirst_valid_uid = 1\n"
                "passdb {\n  driver = passwd-file\n"
                f"  args = scheme=PLAIN username_format=%u {folder}/passwd\n}}\n"
                "userdb {\n  driver = static\n"
                f"  args = uid={user} gid={group} home={folder}/mail/%u\n}}\n"
                "service imap-login {\n"
                f"  inet_listener imap {{\n    address = 127.0.0.1\n    port = {self.port}\n  }}\n"
                "  inet_listener imaps {\n    port = 0\n  }\n}\n"
            ),
            user,
            group,
        )

    def start(self) -> None:
        for sub in ("run", "state", "mail"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        configuration, user, group = self._configuration()
        (self.folder / "dovecot.conf").write_text(configuration)
        (self.folder / "passwd").write_text(f"{self.USER}:{{PLAIN}}{self.PASSWORD}\n")
        shutil.chown(self.folder / "mail", user, group)
        command = [self.binary() or "dovecot", "-F", "-c", str(self.folder / "dovecot.conf")]
        self.process = start_process(command, self.folder / "stdout.log", None)

        def answers() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"dovecot exited:\n{log_tail(self.folder / 'stdout.log')}\n"
                    f"{log_tail(self.log_path)}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                    return connection.recv(64).startswith(b"* OK")
            except OSError:
                return False

        wait_until(answers, READY_TIMEOUT, "dovecot start", interval=0.05)

    def client(self):
        """A logged-in IMAP client (imapclient), as a mail client or a delivery would use."""
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(self.USER, self.PASSWORD)
        return client

    def deliver(self, *messages: bytes, folder: str = "INBOX") -> None:
        """Put messages into the mailbox (IMAP APPEND), as the mail server's delivery does."""
        client = self.client()
        try:
            for raw in messages:
                client.append(folder, raw)
        finally:
            client.logout()

    def stop(self) -> None:
        stop_process_group(self.process, signal.SIGTERM)
        shutil.rmtree(self.folder, ignore_errors=True)
