"""Queue Celery tasks once the transaction that made them necessary has committed."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)
_left_to_sweepers = threading.local()


def _send(task: Task, args: tuple, kwargs: dict) -> None:
    try:
        task.apply_async(args=args, kwargs=kwargs)
    except Exception:
        # The broker is down. The work is already recorded in the database (an outbox row, an
        # article marked for indexing), and a periodic sweeper queues it again: the customer's
        # request must not fail because of it.
        logger.exception("Could not queue %s%r; the sweeper will retry it", task.name, args)


def enqueue_after_commit(task: Task, *args, **kwargs) -> None:
    """Send ``task`` to the broker after the current transaction commits (at once outside one).

    Unlike ``task.delay_on_commit``, a broker failure is logged instead of raised into the
    request that caused it.
    """
    if task.name in getattr(_left_to_sweepers, "names", ()):
        return
    transaction.on_commit(partial(_send, task, args, kwargs))


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
