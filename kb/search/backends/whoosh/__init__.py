"""The Whoosh search backend: the only package that imports Whoosh."""

from .engine import WhooshSearchBackend

__all__ = ["WhooshSearchBackend"]
