"""What only the benchmarks share, beside tests/harness.py (README: Benchmarks)."""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

import _corpus  # noqa: E402  (bench/_corpus.py, beside this file)

from tests import harness  # noqa: E402
from tests.harness import percentile, say, uptime  # noqa: E402, F401  (for the benchmarks)

Cleanups = list[Callable[[], None]]
MISSING = {
    "wrk": "wrk (the HTTP load generator) is not installed. On Debian or Ubuntu:\n"
    "    sudo apt-get install -y wrk\nthen run this benchmark again.",
    "redis-server": harness.PrivateRedis.MISSING,
    "dovecot": harness.PrivateDovecot.MISSING,
}


# -- the run -----------------------------------------------------------------------------------
def options(doc: str, *arguments: tuple, require=()):
    """The command line: each argument is ``(flag, default, help)``, of the default's type,
    or ``(flag, help)``, a switch; ``require``: ``(condition(options), message)`` pairs;
    ``--keep`` keeps the temporary folder."""
    parser = argparse.ArgumentParser(description=doc)
    for flag, *rest in (*arguments, ("--keep", "keep the temporary folder")):
        if len(rest) == 1:
            parser.add_argument(flag, action="store_true", help=rest[0])
        else:
            parser.add_argument(flag, type=type(rest[0]), default=rest[0], help=rest[1])
    parsed = parser.parse_args()
    for condition, message in require:
        if not condition(parsed):
            parser.error(message)
    return parsed


def launch(prefix: str, run: Callable, options, *, needs: Sequence[str] = ()) -> int:
    """``run(options, workdir, cleanups)`` in a fresh temporary folder, through the harness
    (exit status 0 passed, 1 a check failed, 2 the run failed); ``needs``: programs that must
    be installed."""
    for program in needs:
        if not (shutil.which(program) or Path("/usr/sbin", program).exists()):
            say(MISSING[program])
            return 2
    return harness.run_benchmark(
        prefix, lambda workdir, cleanups: run(options, workdir, cleanups), keep=options.keep
    )


def use_site(
    workdir: Path,
    name: str,
    cleanups: Cleanups,
    *,
    debug: bool = False,
    sqlite: bool = False,
    redis_db: int | None = None,
    redis_url: str = "",
) -> list[str]:
    """Point this process and its children at a site of their own in ``workdir/var``:
    production mode on loopback (``debug``: DEBUG=1), mail written to files, SQLite there
    (with ``DATABASE_URL``, a throwaway PostgreSQL database beside it, unless ``sqlite``).
    The cache and the broker: ``redis_url`` (a private server); or with ``REDIS_URL`` and
    ``redis_db``, that server on database ``redis_db`` only (flushed before and after);
    otherwise the database table and kombu's filesystem transport. Returns what it chose."""
    var_dir = workdir / "var"
    settings = {**harness.production_settings(var_dir, name), "DEBUG": "1" if debug else "0"}
    os.environ.update(settings)
    # With --keep the server can be started again on the same data (the same SECRET_KEY, or
    # the sessions no longer decode): env $(cat site.env) .venv/bin/gunicorn helpcenter.wsgi
    (workdir / "site.env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    given_redis = os.environ.pop("REDIS_URL", "")
    for variable in ("EMAIL_URL", "REDIS_CACHE_URL"):
        os.environ.pop(variable, None)
    notes = []
    if sqlite and os.environ.pop("DATABASE_URL", None):
        notes.append("DATABASE_URL is set but ignored: the database is SQLite in the folder")
    notes.append(f"database: {harness.use_database(f'bench_{name}', var_dir, cleanups)}")
    if redis_url:
        os.environ["REDIS_URL"] = redis_url  # the cache is its next database
        notes.append(f"broker and cache: the private redis-server, {redis_url}")
    elif given_redis and redis_db is not None:
        url = harness.with_path(given_redis, f"/{redis_db}")
        os.environ["REDIS_URL"] = os.environ["REDIS_CACHE_URL"] = url

        def flush() -> None:
            import redis

            client = redis.Redis.from_url(url, socket_connect_timeout=5)
            client.flushdb()
            client.close()

        flush()
        cleanups.append(flush)
        notes.append(f"broker and cache: Redis {given_redis}, on database {redis_db} only")
    else:
        if given_redis:
            notes.append("REDIS_URL is set but ignored, so nothing reaches that Redis")
        notes.append("broker: kombu's filesystem transport; cache: the database table")
    return notes


def start_django(cleanups: Cleanups) -> None:
    """Django in this process, its database migrated; its connections closed at the end."""
    harness.setup_django()
    from django.db import connections

    cleanups.append(connections.close_all)


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
DEGRADED_SEARCH = "Search is working in a simpler mode right now; results may be less complete."


def degraded_marker() -> bytes:
    """What the Spanish search page says when the database answers instead of the index."""
    from django.utils import translation
    from django.utils.translation import gettext

    with translation.override("es"):
        return gettext(DEGRADED_SEARCH).encode()


def load_demo_content() -> None:
    """The demo opening hours, notices, categories, articles, contact reasons and case."""
    from cases import demo as cases_demo
    from kb import demo as kb_demo
    from notifications import demo as notifications_demo

    for module in (notifications_demo, kb_demo, cases_demo):
        module.load(io.StringIO())


def add_generated_articles(count: int, seed: int) -> None:
    """``count`` more published articles in the demo categories (bench/_corpus.py)."""
    from django.db import transaction

    from kb.models import Article, Category

    categories = {category.slug: category for category in Category.objects.all()}
    material = _corpus.load_demo_material()
    articles = _corpus.generate_articles(count, categories, material, random.Random(seed))
    with transaction.atomic():
        Article.objects.bulk_create(list(articles), batch_size=500)


def published_article_paths(limit: int, seed: int) -> list[str]:
    from kb.models import Article

    articles = list(Article.objects.filter(status=Article.Status.PUBLISHED).order_by("pk"))
    chosen = random.Random(seed).sample(articles, min(limit, len(articles)))
    return [article.get_absolute_url() for article in chosen]


CASE_SUBJECTS = (
    "Mi pedido no ha llegado todavía", "El pago falla al finalizar la compra",
    "Quiero cambiar la dirección de entrega", "Me han cobrado dos veces el mismo pedido",
    "No puedo entrar en mi cuenta", "El producto llegó dañado", "¿Cuándo me devolvéis el dinero?",
    "La factura tiene un error en el NIF", "Quiero cancelar la suscripción",
    "El código de descuento no funciona",
)  # fmt: skip


def open_cases(count: int, seed: int) -> list[tuple[int, str, str]]:
    """``count`` cases opened through ``cases.services`` (each with its outbox email), a
    staff reply on every other one; returns (id, reference, customer email)."""
    from cases import services
    from cases.models import ContactReason

    rng, opened = random.Random(seed), []
    reasons = ContactReason.objects.filter(parent__isnull=False, active=True)
    reasons = list(reasons.filter(is_status_inquiry=False).order_by("pk"))
    for number in range(count):
        email = f"cliente{number:05d}@example.com"
        case = services.open_case(
            reason=rng.choice(reasons), customer_email=email, customer_name=f"Cliente {number}",
            language="es", subject=rng.choice(CASE_SUBJECTS),
            description="Os escribo porque el pedido sigue sin moverse desde hace días.",
        )  # fmt: skip
        if number % 2:
            body = "Lo estamos revisando con el almacén."
            services.reply_to_customer(case=case, body=body, actor=None)
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


# -- the outbox --------------------------------------------------------------------------------
def publish_incident(number: int) -> int:
    """What staff do from the notices desk: an incident notice, mailed to every subscriber.
    Returns the id of its mailing."""
    from notifications.models import Announcement, Dispatch
    from notifications.services.announcements import publish_announcement

    announcement = Announcement(
        kind=Announcement.Kind.INCIDENT, severity=Announcement.Severity.WARNING,
        title_es=f"Problema con los pagos con tarjeta ({number})",
        title_en=f"Problem with card payments ({number})",
        body_es="Algunos pagos con tarjeta fallan desde las 10:00. **Ya estamos en ello.**"
        "\n\nSi tu pago falló, no se ha cobrado: puedes intentarlo de nuevo más tarde.",
        body_en="Some card payments fail since 10:00. **We are on it.**\n\n"
        "If your payment failed you were not charged: you can try again later.",
    )  # fmt: skip
    announcement = publish_announcement(announcement=announcement, actor=None)
    return Dispatch.objects.get(announcement=announcement, update=None).pk


def outbox_counts(dispatch_id: int | None = None) -> Counter:
    """Outbox rows per status (of one mailing, if given)."""
    from django.db.models import Count

    from notifications.models import OutgoingMessage

    rows = OutgoingMessage.objects.all()
    if dispatch_id is not None:
        rows = rows.filter(dispatch_id=dispatch_id)
    counts = Counter(dict.fromkeys(OutgoingMessage.Status.values, 0))
    counts.update(dict(rows.values_list("status").annotate(n=Count("pk")).order_by()))
    return counts


def run_sweepers() -> dict[str, int]:
    """What the beat runs every minute or two, called in this process; what each did."""
    from cases.services import requeue_case_link_requests, send_pending_updates
    from kb.services.indexing import sweep_pending_index_updates
    from notifications.services import announcements, outbox

    return {
        "outbox rows re-queued": outbox.requeue_stalled_messages(),
        "mailings resumed": announcements.resume_unfinished_dispatches(),
        "index updates re-queued": sweep_pending_index_updates(),
        "case update emails written": send_pending_updates(),
        "case link requests re-queued": requeue_case_link_requests(),
    }


# -- wrk ---------------------------------------------------------------------------------------
WRK_SCRIPT = PROJECT_DIR / "bench" / "requests.lua"


def request_file(path: Path, requests: Sequence[str]) -> Path:
    """The requests wrk chooses from (``bench/requests.lua``): "<path>" or
    "<path>\\t<Cookie header value>", one a line."""
    path.write_text("".join(f"{line}\n" for line in requests))
    return path


@dataclass
class WrkResult:
    """What wrk measured, from the ``BENCH`` line ``bench/requests.lua`` prints."""

    route: str
    connections: int
    requests: int
    seconds: float
    redirects: int
    ms: dict[str, float]  # latency: p50, p90, p95, p99, max
    errors: Counter  # "HTTP 403", "socket read"...

    @classmethod
    def parse(cls, output: str, route: str, connections: int) -> WrkResult:
        line = next((row for row in output.splitlines() if row.startswith("BENCH ")), "")
        if not line:
            raise RuntimeError(f"no BENCH line in wrk's output:\n{output}")
        values = dict(item.split("=", 1) for item in line.split()[1:])
        sockets = ("connect", "read", "write", "timeout")
        errors = Counter({f"socket {kind}": int(values[kind]) for kind in sockets})
        for item in values["statuses"].split(",") if values["statuses"] != "-" else ():
            status, count = item.split(":")
            errors[f"HTTP {status}"] += int(count)
        ms = {
            name: int(values[f"{name}_us"]) / 1000 for name in ("p50", "p90", "p95", "p99", "max")
        }
        return cls(route, connections, int(values["requests"]), int(values["duration_us"]) / 1e6,
                   int(values["redirects"]), ms, +errors)  # fmt: skip

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def run_wrk(server: harness.Gunicorn, seconds: float, routes: dict[str, tuple[int, Path]]):
    """One wrk (1 thread) per route, ``{route: (connections, request file)}``, all at once;
    returns their results, the CPU seconds the load generators took in all, and the
    (on-CPU, waiting-for-a-CPU) seconds of the server's workers meanwhile."""
    before, busy_before = resource.getrusage(resource.RUSAGE_CHILDREN), server.workers_time()
    running = {}
    for route, (connections, requests) in routes.items():
        command = [
            shutil.which("wrk") or "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            "--timeout=10s", "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{server.port}", "--",
            str(requests),
        ]  # fmt: skip
        running[route] = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    results = []
    for route, process in running.items():
        try:
            output, _ = process.communicate(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"wrk for {route} failed ({process.returncode}):\n{output}")
        results.append(WrkResult.parse(output, route, routes[route][0]))
    after, busy_after = resource.getrusage(resource.RUSAGE_CHILDREN), server.workers_time()
    generators = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return results, generators, tuple(b - a for a, b in zip(busy_before, busy_after, strict=True))


def workers_report(busy: tuple[float, float], workers: int, seconds: float, requests: int):
    """Lines on what the server's workers did during a run of ``seconds``: ``busy`` is
    their (on-CPU, waiting-for-a-CPU) seconds, from ``run_wrk``."""
    on_cpu, waiting = busy
    if not requests or on_cpu <= 0:
        return []
    window = workers * seconds
    return [
        f"workers: of {window:.0f} s ({workers} x {seconds:.0f} s), on a CPU {on_cpu:.1f} s"
        f" ({100 * on_cpu / window:.0f}%), runnable but waiting for a CPU {waiting:.1f} s"
        f" ({100 * waiting / window:.0f}%: other work on the machine and the load generators)",
        f"{1000 * on_cpu / requests:.2f} ms of CPU per request in the workers: {workers} idle"
        f" cores would serve at most {workers * requests / on_cpu:.0f} requests/s",
    ]


# -- printing ----------------------------------------------------------------------------------
def table(rows: Sequence[Sequence[object] | None], indent: str = "  ") -> None:
    """Print ``rows`` (the first one the header) in columns, the first left-aligned and the
    others right-aligned, each as wide as its widest cell; a row ``None`` is a rule."""
    cells = [[str(cell) for cell in row] for row in rows if row is not None]
    widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(len(cells[0]))]
    for row in rows:
        if row is None:
            say(indent + "-" * (sum(widths) + 2 * len(widths) - 2))
            continue
        texts = [str(cell) for cell in row]
        aligned = [text.rjust(width) for text, width in zip(texts, widths, strict=False)]
        say((indent + "  ".join([texts[0].ljust(widths[0]), *aligned[1:]])).rstrip())


def say_each(lines: Iterable[str], indent: str = "  ") -> None:
    for line in lines:
        say(f"{indent}{line}")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"
