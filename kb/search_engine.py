"""The one search engine instance of this process, for the configured index folder."""

from pathlib import Path
from threading import Lock

from django.conf import settings

from kb.search import WhooshSearchEngine

_engines: dict[Path, WhooshSearchEngine] = {}
_engines_lock = Lock()


def get_search_engine() -> WhooshSearchEngine:
    # One engine (and so one open searcher) per process and index folder: opening a searcher
    # per query costs 30-45 ms on a large index.
    index_dir = Path(settings.SEARCH_INDEX_DIR)
    with _engines_lock:
        engine = _engines.get(index_dir)
        if engine is None:
            engine = _engines[index_dir] = WhooshSearchEngine(index_dir)
        return engine
