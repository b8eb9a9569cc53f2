import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "helpcenter.settings",
    "DEBUG": "0",
    "SECRET_KEY": "x7$k2!production-like-secret-key-with-enough-entropy-9f3a1c5e7b",
    "ALLOWED_HOSTS": "help.example.com",
}


def run_manage(*args: str, drop: tuple[str, ...] = (), **extra: str):
    # A clean environment: the test run's own variables (tests/settings.py) must not leak in.
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(PRODUCTION_ENV)
    env.update(extra)
    for name in drop:
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize("variable", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_mode_refuses_to_start_without_a_required_variable(variable):
    result = run_manage("check", drop=(variable,))

    assert result.returncode != 0
    assert result.stderr.strip() == (
        f"helpcenter: {variable} must be set when DEBUG is off (see .env.example)."
    )


def test_debug_mode_starts_without_any_configuration():
    result = run_manage("check", drop=("SECRET_KEY", "ALLOWED_HOSTS"), DEBUG="1")

    assert result.returncode == 0, result.stderr


def test_deploy_checks_pass_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_an_unknown_sender_authentication_policy_refuses_to_start():
    result = run_manage("check", INBOUND_SENDER_AUTH="hold")

    assert result.returncode != 0
    assert result.stderr.strip() == (
        "helpcenter: INBOUND_SENDER_AUTH must be off, hold_failed or require, not 'hold'."
    )
