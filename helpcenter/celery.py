"""The Celery application, configured from Django settings (the ``CELERY_`` namespace)."""

import os
from pathlib import Path

from celery import Celery

from helpcenter import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpcenter.settings")

# Before any connection is made: the embedded broker's URL scheme, and redis:// with a fix
# that keeps the worker up when Redis goes away (helpcenter/broker.py).
broker.register()

app = Celery("helpcenter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _create_filesystem_broker_folders(sender: Celery, **kwargs) -> None:
    # kombu's filesystem transport expects its folders to exist; both the web process (which
    # sends) and the worker (which receives) end up here.
    if broker.is_filesystem(sender.conf.broker_url):
        options = sender.conf.broker_transport_options
        for key in ("data_folder_in", "data_folder_out", "control_folder", *broker.FOLDERS):
            folder = options.get(key)
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)
