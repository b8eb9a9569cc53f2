"""The embedded broker: kombu's filesystem transport, made safe for several processes.

kombu's own filesystem transport creates a message file and then writes into it, so a worker
polling the folder can open the file while it is still empty (kombu issue 1551); the
``JSONDecodeError`` it then raises is not a connection error, so Celery calls it
"Unrecoverable" and the worker exits. This transport

- writes every message (and every exchange table) to a hidden temporary file in the same
  folder and renames it into place: a reader sees the whole file or none of it;
- claims a message by renaming it into ``processing_folder`` before reading it, so that of
  several workers exactly one gets it;
- sets aside a message it cannot read (empty, truncated, not JSON, not a kombu message) in
  ``poison_folder`` with an ERROR in the log, and goes on with the next one: a bad file is
  never a reason for the worker to stop.

Selected with ``CELERY_BROKER_URL = "helpcenter-filesystem://"`` (see ``settings.py``).

``redis://`` URLs get kombu's Redis transport with one fix (``RedisTransport``): once Redis has
gone away and the consumer's connection was collected, kombu 5.7 could still build a
connection pool for the old channel (to restore or acknowledge the tasks it held, with
``acks_late``) from a transport whose client is gone, and raised ``AttributeError: 'NoneType'
object has no attribute 'hostname'`` (kombu issues 582 and 970, the same path): not a
connection error, so Celery stopped the worker ("Unrecoverable error"). It is now raised as
the connection error it is; Celery logs it and reconnects, and Redis redelivers the tasks.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic_ns

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

logger = logging.getLogger(__name__)

TRANSPORT_NAME = "helpcenter-filesystem"
FOLDERS = ("processing_folder", "poison_folder")  # transport options of ours
TEMPORARY_PREFIX = "."  # kombu's readers take only "<stamp>_<uuid>.<queue>.msg": never these


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that no reader ever sees a partial file: a hidden
    temporary file in the same folder (so the rename is atomic), then ``os.replace``."""
    temporary = path.with_name(f"{TEMPORARY_PREFIX}{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def _message_name(queue: str) -> str:
    # kombu's naming (the time first, so a sorted listing is FIFO), in zero-padded
    # nanoseconds rather than milliseconds: two messages of one millisecond keep their order.
    return f"{monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg"


class Channel(filesystem.Channel):
    """A filesystem channel whose files are whole when seen, and whose bad files are set
    aside instead of stopping the worker."""

    @cached_property
    def processing_folder(self) -> Path:
        return self._sibling_folder("processing_folder", "processing")

    @cached_property
    def poison_folder(self) -> Path:
        return self._sibling_folder("poison_folder", "poison")

    def _sibling_folder(self, option: str, default: str) -> Path:
        # Beside the queue folder by default: the same file system, so renames are atomic.
        folder = Path(
            self.transport_options.get(option) or Path(self.data_folder_in).parent / default
        )
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # -- messages ---------------------------------------------------------------------------

    def _put(self, queue, payload, **kwargs):
        path = Path(self.data_folder_out) / _message_name(queue)
        try:
            write_atomically(path, str_to_bytes(dumps(payload)))
        except OSError as exc:
            raise ChannelError(f"Cannot add file {str(path)!r} to directory") from exc

    def _get(self, queue):
        wanted = f"{queue}.msg"
        folder = Path(self.data_folder_in)
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = self.processing_folder / name
            try:
                os.rename(folder / name, claimed)
            except OSError:
                continue  # another worker took it first
            try:
                raw = claimed.read_bytes()
            except OSError as exc:
                raise ChannelError(f"Cannot read file {str(claimed)!r} from queue.") from exc
            try:
                payload = loads(bytes_to_str(raw))
                self.Message(payload, channel=self)  # what the consumer will do with it
            except Exception as exc:  # anything unreadable is a poison message
                self._set_aside(claimed, len(raw), exc)
                continue
            self._done_with(claimed)
            return payload
        raise Empty()

    def _done_with(self, claimed: Path) -> None:
        try:
            if self.store_processed:
                os.replace(claimed, Path(self.processed_folder) / claimed.name)
            else:
                claimed.unlink()
        except OSError:
            logger.warning("Could not remove the processed broker message %s", claimed)

    def _set_aside(self, claimed: Path, size: int, error: Exception) -> None:
        target = self.poison_folder / claimed.name
        try:
            os.replace(claimed, target)
        except OSError:
            target = claimed
        logger.error(
            "Set aside a broker message that cannot be read (%d bytes, %s: %s): %s."
            " The worker goes on; the database's sweepers redo the work it stood for.",
            size,
            type(error).__name__,
            str(error)[:200],
            target,
        )

    # -- exchange tables ----------------------------------------------------------------------

    # kombu writes these in place (``open("wb")`` truncates before the lock is taken), so a
    # process routing a message could read an empty table. They are changed here under a lock
    # file of their own and replaced whole; readers need no lock.

    def get_table(self, exchange):
        file = self._exchange_file(exchange)
        try:
            table = loads(bytes_to_str(file.read_bytes()))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise ChannelError(f"Cannot read {file}") from exc
        return [filesystem.exchange_queue_t(*row) for row in table]

    @contextlib.contextmanager
    def _table_lock(self, file: Path):
        self.control_folder.mkdir(parents=True, exist_ok=True)
        with open(file.with_name(f"{file.name}.lock"), "ab") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        file = self._exchange_file(exchange)
        row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        try:
            with self._table_lock(file):
                rows = self.get_table(exchange)
                if row not in rows:
                    write_atomically(file, str_to_bytes(dumps([row, *rows])))
        except OSError as exc:
            raise ChannelError(f"Cannot open {file}") from exc

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        # The virtual channel's bookkeeping (kombu's filesystem._delete then rewrites the table).
        filesystem.virtual.Channel._delete(
            self, queue, exchange, routing_key, pattern, *args, **kwargs
        )
        file = self._exchange_file(exchange)
        row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_lock(file):
            rows = self.get_table(exchange)
            if row in rows:
                rows.remove(row)
                write_atomically(file, str_to_bytes(dumps(rows)))


class Transport(filesystem.Transport):
    Channel = Channel
    # kombu remembers the bindings it has made per transport class; ours are in other files.
    global_state = filesystem.virtual.BrokerState()
    driver_type = "filesystem"
    driver_name = "filesystem"


class RedisChannel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise kombu_redis.get_redis_ConnectionError()(
                "the broker connection is closed (Redis went away)"
            )
        return super()._connparams(asynchronous=asynchronous)


class RedisTransport(kombu_redis.Transport):
    Channel = RedisChannel


def folder_options(root: Path) -> dict[str, str]:
    """The transport options of a broker kept in ``root`` (settings.py spells out the same)."""
    return {
        "data_folder_in": str(root / "queue"),
        "data_folder_out": str(root / "queue"),
        "control_folder": str(root / "control"),
        "processing_folder": str(root / "processing"),
        "poison_folder": str(root / "poison"),
    }


def is_filesystem(url: str) -> bool:
    """Whether a broker URL names kombu's filesystem transport or this one."""
    return url.partition("://")[0] in ("filesystem", TRANSPORT_NAME)


def register() -> None:
    """Make ``helpcenter-filesystem://`` a broker URL kombu understands, and ``redis://`` mean
    the fixed Redis transport, in this process (idempotent)."""
    TRANSPORT_ALIASES[TRANSPORT_NAME] = f"{__name__}:Transport"
    TRANSPORT_ALIASES["redis"] = f"{__name__}:RedisTransport"
