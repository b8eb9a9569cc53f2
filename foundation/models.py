from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """When a Celery worker last ran the heartbeat job that beat sends every minute."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    seen_at = models.DateTimeField(_("last seen"))

    class Meta:
        db_table = "helpcenter_workerheartbeat"  # the table from before the move out of helpcenter
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


class DailyCounter(models.Model):
    """How many times something happened on a day (visits, contact form opened, ...)."""

    day = models.DateField(_("day"))
    name = models.CharField(_("name"), max_length=40)
    value = models.PositiveBigIntegerField(_("count"), default=0)

    class Meta:
        db_table = "helpcenter_dailycounter"
        verbose_name = _("daily counter")
        verbose_name_plural = _("daily counters")
        constraints = [
            models.UniqueConstraint(fields=["day", "name"], name="helpcenter_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.name}: {self.value}"
