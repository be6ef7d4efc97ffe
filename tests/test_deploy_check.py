"""`manage.py check --deploy` with the production settings (issue 11): no warning with the defaults,
HTTPS redirect and HSTS switchable by environment, the proxy's HTTPS header believed only when named."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DUBAN_"))}
    environ.update(DJANGO_SETTINGS_MODULE="config.settings.production", DJANGO_SECRET_KEY=secrets.token_urlsafe(50), **env)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120)


def _setting(name: str, **env: str) -> str:
    probe = f"import django; django.setup(); from django.conf import settings; print(repr(getattr(settings, {name!r}, None)))"
    out = _run("-c", probe, **env)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_deploy_check_is_clean_with_the_defaults():
    out = _run("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "System check identified no issues" in out.stdout + out.stderr


def test_turning_https_protections_off_brings_their_warnings_back():
    out = _run("manage.py", "check", "--deploy", DJANGO_SECURE_SSL_REDIRECT="false", DJANGO_SECURE_HSTS_SECONDS="0")
    assert "security.W008" in out.stderr and "security.W004" in out.stderr, out.stderr


def test_the_proxys_https_header_is_believed_only_when_named():
    assert _setting("SECURE_PROXY_SSL_HEADER") == "None"
    named = _setting("SECURE_PROXY_SSL_HEADER", DJANGO_SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO")
    assert named == "('HTTP_X_FORWARDED_PROTO', 'https')"
