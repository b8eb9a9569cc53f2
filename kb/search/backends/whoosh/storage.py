"""On-disk layout of the index: generations, the CURRENT pointer, locks, rebuild journal.

::

    index_dir/
        CURRENT                name of the live generation, replaced atomically
        gen-<time_ns>-<pid>/   one complete Whoosh index per generation
        BUILDING               generation a rebuild is writing (while it runs)
        journal-<gen>.jsonl    incremental writes made while that rebuild ran
        .lock                  shared by incremental writers, exclusive to switch
        .rebuild.lock          held for the whole of a rebuild

A rebuild writes a new generation while searches and incremental writes keep
using the live one.  Incremental writes made meanwhile are also journaled and
replayed into the new generation before the switch, so they are not lost.
Locks are ``flock`` locks, so this is POSIX only.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kb.search.base import SearchBusy

GENERATION_RE = re.compile(r"gen-\d+-\d+")

_POLL_SECONDS = 0.05


@contextmanager
def _flock(path: Path, *, exclusive: bool, timeout: float | None) -> Iterator[None]:
    """Hold an flock on ``path``; wait at most ``timeout`` seconds (None: forever)."""
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if timeout is None:
            fcntl.flock(fd, mode)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise SearchBusy(f"timed out waiting for {path}") from None
                    time.sleep(_POLL_SECONDS)
        yield
    finally:
        os.close(fd)  # releases the lock


class GenerationStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._current = root / "CURRENT"
        self._building = root / "BUILDING"
        self._lock = root / ".lock"
        self._rebuild_lock = root / ".rebuild.lock"

    # -- the live generation -------------------------------------------------

    def current_signature(self) -> tuple[int, int, int] | None:
        """Changes whenever CURRENT is replaced; a stat is much cheaper than a read."""
        try:
            st = os.stat(self._current)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def read_current(self) -> str | None:
        """Name of the live generation; None if there is none.

        Raises ValueError when CURRENT holds something that is not a generation name.
        """
        try:
            name = self._current.read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not GENERATION_RE.fullmatch(name):
            raise ValueError(f"CURRENT holds an invalid generation name: {name!r}")
        return name

    def path(self, name: str) -> Path:
        return self.root / name

    def new_generation(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        name = f"gen-{time.time_ns()}-{os.getpid()}"
        self.path(name).mkdir()
        return name

    def switch_current(self, name: str) -> None:
        tmp = self.root / f"CURRENT.{os.getpid()}.tmp"
        tmp.write_text(name + "\n", encoding="utf-8")
        os.replace(tmp, self._current)

    def remove_other_generations(self, keep: str) -> None:
        """Delete other generations and all journals (call after the switch).

        Readers that still have old files open keep reading them (POSIX).
        """
        for entry in self.root.iterdir():
            if entry.name == keep:
                continue
            if entry.is_dir() and GENERATION_RE.fullmatch(entry.name):
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.startswith("journal-"):
                entry.unlink(missing_ok=True)

    def discard_generation(self, name: str) -> None:
        shutil.rmtree(self.path(name), ignore_errors=True)
        self._journal(name).unlink(missing_ok=True)

    # -- locks -----------------------------------------------------------------

    def lock(self, *, exclusive: bool, timeout: float | None) -> Any:
        """Shared for incremental writes, exclusive to create or switch generations."""
        self.root.mkdir(parents=True, exist_ok=True)
        return _flock(self._lock, exclusive=exclusive, timeout=timeout)

    def rebuild_lock(self) -> Any:
        """Serialises rebuilds; also tells writers that a rebuild is alive."""
        self.root.mkdir(parents=True, exist_ok=True)
        return _flock(self._rebuild_lock, exclusive=True, timeout=None)

    def _rebuild_running(self) -> bool:
        fd = os.open(self._rebuild_lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    # -- rebuild journal ---------------------------------------------------------

    def set_building(self, name: str | None) -> None:
        if name is None:
            self._building.unlink(missing_ok=True)
        else:
            self._building.write_text(name + "\n", encoding="utf-8")

    def building(self) -> str | None:
        """Generation being rebuilt right now (a BUILDING left by a crash is ignored)."""
        try:
            name = self._building.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if not GENERATION_RE.fullmatch(name) or not self._rebuild_running():
            return None
        return name

    def _journal(self, name: str) -> Path:
        return self.root / f"journal-{name}.jsonl"

    def append_journal(self, name: str, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        # One O_APPEND write per entry, so concurrent writers do not interleave.
        fd = os.open(self._journal(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def read_journal(self, name: str) -> list[dict[str, Any]]:
        try:
            text = self._journal(name).read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]
