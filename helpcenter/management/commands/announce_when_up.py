import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from helpcenter.management.commands.load_demo import DEMO_ADMIN_PASSWORD, DEMO_ADMIN_USERNAME

PROCESSES = ("web", "worker", "beat")


class Command(BaseCommand):
    help = (
        "Used by `make run`: wait until web, worker and beat are up, print the site's URL and the"
        " demo admin's credentials, then stay (honcho stops everything when one process ends)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait (300)")

    def handle(self, *args, timeout: float, **options) -> None:
        started = time.time()
        ready_dir = Path(settings.VAR_DIR) / "run"
        deadline = time.monotonic() + timeout
        waiting = set(PROCESSES)
        while waiting and time.monotonic() < deadline:
            # helpcenter/supervise.py writes <name>.ready when the process says it is up; one left
            # by an earlier run is older than this command.
            waiting = {
                name
                for name in waiting
                if not _touched_since(ready_dir / f"{name}.ready", started)
                or (name == "web" and not _answers(f"{settings.SITE_URL}/healthz"))
            }
            time.sleep(0.5)
        if waiting:
            self.stderr.write(f"Still not up after {timeout:.0f} s: {', '.join(sorted(waiting))}")
        else:
            self._banner()
        while True:  # stay: honcho would take the ending of this process for a crash
            time.sleep(3600)

    def _banner(self) -> None:
        rule = "=" * 72
        lines = [
            rule,
            "Web, worker and beat are up.",
            f"  Site:  {settings.SITE_URL}/",
        ]
        if settings.DEBUG:
            lines.append(
                f"  Admin: {settings.SITE_URL}/admin/  user {DEMO_ADMIN_USERNAME!r},"
                f" password {DEMO_ADMIN_PASSWORD!r}"
            )
        lines += ["  Ctrl-C stops everything.", rule]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))


def _touched_since(path: Path, since: float) -> bool:
    try:
        return path.stat().st_mtime >= since - 1
    except OSError:
        return False


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):  # noqa: S310 (our own SITE_URL)
            return True
    except urllib.error.HTTPError:
        return True  # it answers (/healthz is 503 while a part is down)
    except OSError:
        return False
