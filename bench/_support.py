"""What bench/load.py and bench/faults.py share: throwaway settings, databases and processes
on loopback (gunicorn, Celery, a private redis-server, an SMTP sink, wrk), and small figures.

Every process is started in its own session, so that stopping it stops what it forked, and
asks the kernel to end it if the benchmark dies (even by SIGKILL). The SMTP sink runs as
``python bench/_support.py --serve-sink LOG PORT READY`` in its own process.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT_DIR = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

WRK_MISSING = (
    "wrk (the HTTP load generator) is not installed. On Debian or Ubuntu:\n"
    "    sudo apt-get install -y wrk\n"
    "then run this benchmark again."
)
REDIS_MISSING = (
    "redis-server is not installed. On Debian or Ubuntu:\n"
    "    sudo apt-get install -y redis-server\n"
    "(the benchmark starts its own server on a free port; it never uses the system's)."
)

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
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


def die_with_parent() -> None:
    """Run in a child before it starts: SIGTERM it if the benchmark dies, even by SIGKILL."""
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


def _spawn(command: list[str], log_path: Path, env: dict[str, str] | None) -> subprocess.Popen:
    return start_process(command, log_path, env)


def start_process(
    command: list[str], log_path: Path, env: dict[str, str] | None, cwd: Path = PROJECT_DIR
) -> subprocess.Popen:
    """``command`` in ``cwd`` (the project), in its own session, its output appended to
    ``log_path``; ended by the kernel if the benchmark dies."""
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


# -- settings and databases --------------------------------------------------------------------


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


def setup_django(project_dir: Path = PROJECT_DIR) -> None:
    import django
    from django.core.management import call_command

    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)


# -- data --------------------------------------------------------------------------------------

# What customers type in the search box: Spanish mostly, with typos, missing accents, capitals,
# whole sentences, and a few in English.
SEARCH_QUERIES = (
    "devolucion", "devolución de un pedido", "como devuelvo un producto", "devolver talla",
    "reembolso", "rembolso", "cuando me devolveis el dinero", "pedido no llega",
    "mi pedido no ha llegado", "pedio retrasado", "entrga", "seguimiento del pedido",
    "segimiento", "cambiar direccion de entrega", "cambiar dirección", "cancelar pedido",
    "cancelar un pedido ya enviado", "cobro duplicado", "me han cobrado dos veces",
    "tarjeta rechazada", "pago rechazado", "pago con tarjeta falla", "metodos de pago",
    "factura", "fatura con nif", "contraseña", "contrasena olvidada", "cuenta bloqueada",
    "codigo de acceso", "borrar mi cuenta", "privacidad datos personales", "envio internacional",
    "envío urgente", "gastos de envio", "plazo de entrega", "producto dañado", "paquete roto",
    "llegó roto", "falta un articulo", "código de descuento", "cupon no funciona",
    "tarjeta regalo", "garantia", "horario de atencion", "estado de mi caso", "DEVOLUCIÓN",
    "refund", "delivery time", "payment declined", "change delivery address",
)  # fmt: skip


def load_demo_content() -> None:
    """The demo opening hours, notices, categories, articles, contact reasons and case."""
    import io

    from cases import demo as cases_demo
    from kb import demo as kb_demo
    from notifications import demo as notifications_demo

    quiet = io.StringIO()
    for module in (notifications_demo, kb_demo, cases_demo):
        module.load(quiet)


def add_generated_articles(count: int, seed: int) -> int:
    """``count`` more published articles in the demo categories, written from the demo
    articles' vocabulary by bench/search.py's generator (a fixed seed)."""
    import random

    from django.db import transaction

    from kb.models import Article, Category

    if count <= 0:
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import search  # bench/search.py

    categories = {category.slug: category for category in Category.objects.all()}
    articles = search.generate_articles(
        count, categories, search.load_demo_material(), random.Random(seed)
    )
    with transaction.atomic():
        Article.objects.bulk_create(list(articles), batch_size=500)
    return count


def published_article_paths(limit: int, seed: int) -> list[str]:
    import random

    from kb.models import Article

    articles = list(Article.objects.filter(status=Article.Status.PUBLISHED).order_by("pk"))
    chosen = random.Random(seed).sample(articles, min(limit, len(articles)))
    return [article.get_absolute_url() for article in chosen]


CASE_SUBJECTS = (
    "Mi pedido no ha llegado todavía",
    "El pago falla al finalizar la compra",
    "Quiero cambiar la dirección de entrega",
    "Me han cobrado dos veces el mismo pedido",
    "El producto llegó dañado",
    "La factura tiene un error en el NIF",
)


def open_cases(count: int, seed: int) -> list[tuple[int, str, str]]:
    """``count`` cases opened through ``cases.services`` (each with its outbox email), a
    staff reply on every other one; returns (id, reference, customer email)."""
    import random

    from cases import services
    from cases.models import ContactReason

    rng = random.Random(seed)
    reasons = list(
        ContactReason.objects.filter(
            parent__isnull=False, active=True, is_status_inquiry=False
        ).order_by("pk")
    )
    opened = []
    for number in range(count):
        email = f"cliente{number:05d}@example.com"
        case = services.open_case(
            reason=rng.choice(reasons),
            customer_email=email,
            customer_name=f"Cliente {number}",
            language="es",
            subject=rng.choice(CASE_SUBJECTS),
            description="Os escribo porque el pedido sigue sin moverse desde hace días.",
        )
        if number % 2:
            services.reply_to_customer(
                case=case, body="Lo estamos revisando con el almacén.", actor=None
            )
        opened.append((case.pk, case.reference, email))
    return opened


def grant_sessions(case_ids: Sequence[int]) -> list[str]:
    """One database session per case, holding the right to open it, as the emailed link
    does (``cases.services.grant_session_access``); returns the session keys."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction

    from cases.models import Case
    from cases.services import grant_session_access

    keys = []
    with transaction.atomic():
        for case_id in case_ids:
            session = SessionStore()
            grant_session_access(session, Case(pk=case_id))  # cycle_key() saves the session
            keys.append(session.session_key)
    return keys


# -- processes ---------------------------------------------------------------------------------


class Gunicorn:
    """``gunicorn helpcenter.wsgi`` with its own process group; ``stop`` never hangs."""

    def __init__(self, folder: Path, workers: int, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.log_path = folder / "gunicorn.log"
        self.workers = workers
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self, ready_path: str = "/es/") -> None:
        gunicorn = PROJECT_DIR / ".venv" / "bin" / "gunicorn"
        command = [
            str(gunicorn if gunicorn.exists() else Path(sys.executable).parent / "gunicorn"),
            "helpcenter.wsgi",
            "-w",
            str(self.workers),
            "-b",
            f"127.0.0.1:{self.port}",
            "--no-control-socket",  # gunicorn 27 would open one in ~/.gunicorn, shared
        ]
        self.process = _spawn(command, self.log_path, self.env)

        def answers() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; its log:\n{log_tail(self.log_path)}")
            try:
                return http_get(self.port, ready_path)[0] == 200
            except OSError:
                return False

        wait_until(answers, READY_TIMEOUT, "gunicorn answering", interval=0.2)

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    children.append(int(entry.name))
        return children

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


def http_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class Celery:
    """``celery -A helpcenter worker`` (or ``beat``) in its own session."""

    def __init__(self, folder: Path, name: str, env: dict[str, str], *, beat: bool = False):
        self.name = name
        self.log_path = folder / f"{name}.log"
        self.env = env
        self.beat = beat
        self.process: subprocess.Popen | None = None

    def start(self, *, concurrency: int = 2) -> float:
        """Start and wait until it says it is ready; returns the seconds that took."""
        started = time.monotonic()
        self.log_path.touch()
        offset = self.log_path.stat().st_size
        if self.beat:
            schedule = self.log_path.with_suffix(".schedule")
            arguments = ["beat", "--loglevel=INFO", f"--schedule={schedule}"]
            ready = b"beat: Starting"
        else:
            arguments = [
                "worker", "--loglevel=INFO", f"--concurrency={concurrency}",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                f"--hostname={self.name}@%h",
            ]  # fmt: skip
            ready = b" ready."
        self.process = _spawn(
            [sys.executable, "-m", "celery", "-A", "helpcenter", *arguments],
            self.log_path,
            self.env,
        )

        def is_ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{log_tail(self.log_path)}")
            return ready in self.log_path.read_bytes()[offset:]

        wait_until(is_ready, READY_TIMEOUT, f"{self.name} start", interval=0.1)
        return time.monotonic() - started

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group (main process and pool children), as a crash would."""
        stop_process_group(self.process, signal.SIGKILL)

    def stop(self) -> None:
        stop_process_group(self.process, signal.SIGTERM)


class PrivateRedis:
    """A redis-server of our own on a free loopback port, in a temporary folder, without
    persistence: stopping it loses everything it held, as a crash would."""

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
        self.process = _spawn(command, self.folder / "stdout.log", None)

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


# -- the SMTP sink -----------------------------------------------------------------------------

MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
SINK_FIELDS = 3  # time, recipient, Message-ID


def serve_sink(log_path: Path, port: int, ready_path: Path) -> int:
    """The sink process: accept every message, append ``time, recipient, Message-ID`` lines.

    The line is written (and flushed) before the server answers 250, so anything a worker
    saw accepted is in the file.
    """
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    out = log_path.open("a", buffering=1 << 16)

    class Recorder:
        async def handle_DATA(self, server, session, envelope):
            content = envelope.original_content or envelope.content or b""
            if isinstance(content, str):
                content = content.encode()
            head = content.split(b"\r\n\r\n", 1)[0]
            found = MESSAGE_ID.search(head)
            message_id = found.group(1).decode(errors="replace") if found else "-"
            now = time.time()
            for recipient in envelope.rcpt_tos:
                out.write(f"{now:.6f}\t{recipient.lower()}\t{message_id}\n")
            out.flush()
            return "250 Message accepted for delivery"

    stop: list[bool] = []
    parent = os.getppid()
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    controller = Controller(
        Recorder(), hostname="127.0.0.1", port=port, server_hostname="sink.bench", ready_timeout=10
    )
    controller.start()
    ready_path.write_text(str(os.getpid()))
    try:
        while not stop and os.getppid() == parent:  # also end if the benchmark died
            time.sleep(0.2)
    finally:
        controller.stop()
        out.close()
    return 0


class SmtpSink:
    """The sink process seen from the benchmark: start, read what it accepted, stop."""

    def __init__(self, folder: Path) -> None:
        self.log_path = folder / "smtp-sink.log"
        self.ready_path = folder / "smtp-sink.ready"
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self._offset = 0
        self._partial = ""
        self.accepted: list[tuple[float, str, str]] = []  # (time, recipient, Message-ID)

    def start(self) -> None:
        self.log_path.touch()
        self.process = _spawn(
            [
                sys.executable, str(Path(__file__).resolve()), "--serve-sink", str(self.log_path),
                str(self.port), str(self.ready_path),
            ],
            self.log_path.with_suffix(".out"),
            None,
        )  # fmt: skip
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
                if len(parts) == SINK_FIELDS:
                    self.accepted.append((float(parts[0]), parts[1], parts[2]))
        return len(self.accepted)

    def stop(self) -> None:
        stop_process_group(self.process, signal.SIGTERM)


# -- wrk ---------------------------------------------------------------------------------------


def wrk_command(
    port: int, script: Path, seconds: float, connections: int, args: Sequence[str]
) -> list[str]:
    return [
        shutil.which("wrk") or "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout=10s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}",
        "--",
        *args,
    ]


def parse_bench_line(output: str) -> dict[str, str]:
    """The ``BENCH key=value ...`` line a wrk script prints in ``done()``."""
    line = next((row for row in output.splitlines() if row.startswith("BENCH ")), "")
    if not line:
        raise RuntimeError(f"no BENCH line in wrk's output:\n{output}")
    return dict(item.split("=", 1) for item in line.split()[1:])


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve-sink":
        sys.exit(serve_sink(Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])))
    sys.exit("usage: _support.py --serve-sink LOG PORT READY (started by the benchmarks)")


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
