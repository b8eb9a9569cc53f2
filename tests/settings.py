"""Test settings: the real settings module, given the environment a test run needs.

Only environment defaults are set here (pytest-django imports settings before any conftest
runs, so they cannot come from a fixture); everything else is helpcenter/settings.py.
"""

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("STATIC_PLAIN_STORAGE", "1")
os.environ.setdefault("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", "1")  # the receivers are on loopback
os.environ.setdefault("VAR_DIR", str(_ROOT / "var" / "test"))

from helpcenter.settings import *  # noqa: E402, F403

# Hashing speed only; every test that creates users would otherwise spend ~0.2 s on PBKDF2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
