"""System checks of the knowledge base (``manage.py check``, and before runserver/migrate)."""

from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from kb.search import get_search_backend


@register("kb", "search")
def check_search_backend(app_configs=None, **kwargs) -> list[CheckMessage]:
    """kb.E001: SEARCH_BACKEND cannot be loaded; kb.W001: its fast path is off."""
    try:
        backend = get_search_backend()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint="Set SEARCH_BACKEND to a backend class.", id="kb.E001")]
    fast_path = backend.fast_path
    if fast_path is None or fast_path.active:
        return []
    return [
        Warning(
            f"The search fast path is off: {fast_path.reason}",
            hint=(
                "Results stay the same, but searches of common words take hundreds of "
                "milliseconds. Install the pinned whoosh-reloaded (requirements.txt) or adapt "
                "kb/search/backends/whoosh/postings.py to the installed version, then check "
                "with bench/search.py."
            ),
            id="kb.W001",
        )
    ]
