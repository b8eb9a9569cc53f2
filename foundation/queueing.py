"""Queue Celery tasks once the transaction that made them necessary has committed.

Tasks are queued by name (as Zulip queues its events): a service says
``enqueue_after_commit("kb.tasks.sync_article_to_index", article_id)`` and never imports the
task module, so the tasks import the services they call and nothing imports back. The names
are the ones beat and the workers already know; ``tests/test_queueing.py`` checks that every
name the apps queue is a registered task.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial

from celery import current_app as app
from django.db import transaction

logger = logging.getLogger(__name__)
_left_to_sweepers = threading.local()


def _send(task_name: str, args: tuple, kwargs: dict, eta: datetime | None = None) -> None:
    try:
        # The registered task's own apply_async when this process has imported it, else
        # send_task by name: the same message either way.
        app.signature(task_name).apply_async(args=args, kwargs=kwargs, eta=eta)
    except Exception:
        # The broker is down. The work is already recorded in the database (an outbox row, an
        # article marked for indexing), and a periodic sweeper queues it again: the customer's
        # request must not fail because of it.
        logger.exception("Could not queue %s%r; the sweeper will retry it", task_name, args)


def enqueue_after_commit(task_name: str, *args, **kwargs) -> None:
    """Send the task named ``task_name`` (``"<app>.tasks.<function>"``) to the broker after the
    current transaction commits (at once outside one).

    Unlike ``task.delay_on_commit``, a broker failure is logged instead of raised into the
    request that caused it.
    """
    if task_name in getattr(_left_to_sweepers, "names", ()):
        return
    transaction.on_commit(partial(_send, task_name, args, kwargs))


def enqueue_at_after_commit(eta: datetime, task_name: str, *args) -> None:
    """``enqueue_after_commit``, for a task to run at ``eta`` (a worker holds it until then).

    Only for moments a few minutes away: a worker killed meanwhile loses what it held, and
    the Redis broker hands a task out again once its visibility timeout (an hour) has passed.
    Whatever is due later, or must not be lost, is a row that a periodic sweeper also finds.
    """
    if task_name in getattr(_left_to_sweepers, "names", ()):
        return
    transaction.on_commit(partial(_send, task_name, args, {}, eta))


@contextmanager
def leave_to_sweepers(*task_names: str) -> Iterator[None]:
    """Within this block (this thread), ``enqueue_after_commit`` sends none of these tasks.

    Only for work recorded in the database that something else will do: a bulk load whose
    rows stay pending for a rebuild that follows, or else for the periodic sweeper.
    """
    previous = getattr(_left_to_sweepers, "names", ())
    _left_to_sweepers.names = (*previous, *task_names)
    try:
        yield
    finally:
        _left_to_sweepers.names = previous
