"""What the benchmarks share beyond the processes: their data (demo content, generated
articles, cases and their sessions, customers' searches) and wrk. The processes, the SMTP sink,
the environment and the run itself come from ``tests/harness.py``, which the tests' worker and
SMTP sink use too; they are re-exported here, so a benchmark imports one module.
"""

from __future__ import annotations

import math
import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from tests.harness import (  # noqa: E402, F401  (re-exported for the benchmarks)
    MESSAGE_ID,
    CeleryProcess,
    Gunicorn,
    PrivateDovecot,
    PrivateRedis,
    SinkProcess,
    child_pids,
    development_settings,
    free_port,
    http_get,
    log_tail,
    percentile,
    process_env,
    production_settings,
    run_benchmark,
    say,
    setup_django,
    start_process,
    stop_process_group,
    uptime,
    use_database,
    wait_until,
    with_path,
)

WRK_MISSING = (
    "wrk (the HTTP load generator) is not installed. On Debian or Ubuntu:\n"
    "    sudo apt-get install -y wrk\n"
    "then run this benchmark again."
)
REDIS_MISSING = PrivateRedis.MISSING


# -- the broker -------------------------------------------------------------------------------


def queue_depth() -> int:
    """Tasks waiting in the broker's default queue (not those a worker already took)."""
    from helpcenter.celery import app

    with app.connection_for_read() as connection:
        try:
            declared = connection.default_channel.queue_declare(
                queue=app.conf.task_default_queue, passive=True
            )
        except connection.channel_errors:
            return 0  # Redis: an empty queue is no key at all
        return declared.message_count


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


@dataclass
class WrkResult:
    """What wrk measured, from the ``BENCH`` line its script prints (``bench/*.lua``)."""

    route: str
    connections: int
    requests: int = 0
    seconds: float = 0.0
    p50_ms: float = math.nan
    p90_ms: float = math.nan
    p95_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    redirects: int = 0
    errors: Counter = field(default_factory=Counter)  # "HTTP 403", "socket read"...
    generator_cpu_seconds: float = 0.0

    @classmethod
    def parse(cls, output: str, **fields) -> WrkResult:
        values = parse_bench_line(output)
        result = cls(
            requests=int(values["requests"]),
            seconds=int(values["duration_us"]) / 1e6,
            redirects=int(values.get("redirects", 0)),
            errors=Counter(),
            **fields,
        )
        for name in ("p50", "p90", "p95", "p99", "max"):
            if f"{name}_us" in values:
                setattr(result, f"{name}_ms", int(values[f"{name}_us"]) / 1000)
        for kind in ("connect", "read", "write", "timeout"):
            if int(values[kind]):
                result.errors[f"socket {kind}"] = int(values[kind])
        if values["statuses"] != "-":
            for item in values["statuses"].split(","):
                status, count = item.split(":")
                result.errors[f"HTTP {status}"] += int(count)
        return result

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())
