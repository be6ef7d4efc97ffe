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


def test_deploy_check_is_clean_with_the_defaults_and_an_audit_key():
    out = _run("manage.py", "check", "--deploy", "--fail-level", "WARNING", DUBAN_AUDIT_KEYS=f"k1:{secrets.token_hex(32)}")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "System check identified no issues" in out.stdout + out.stderr


def test_an_unkeyed_or_unanchored_audit_chain_is_warned_of():
    """Without the key the database alone can recompute the chain; without anchors it can cut the
    newest events off: `check --deploy` names each, in Chinese."""
    keyless = _run("manage.py", "check", "--deploy")
    assert "duban.W001" in keyless.stderr and "审计链未加密钥" in keyless.stderr, keyless.stderr
    assert "duban.W002" not in keyless.stderr  # anchored by default
    neither = _run("manage.py", "check", "--deploy", DUBAN_AUDIT_ANCHOR_FILE="")
    assert "duban.W001" in neither.stderr and "duban.W002" in neither.stderr, neither.stderr


def test_turning_https_protections_off_brings_their_warnings_back():
    out = _run("manage.py", "check", "--deploy", DJANGO_SECURE_SSL_REDIRECT="false", DJANGO_SECURE_HSTS_SECONDS="0")
    assert "security.W008" in out.stderr and "security.W004" in out.stderr, out.stderr


def test_the_proxys_https_header_is_believed_only_when_named():
    assert _setting("SECURE_PROXY_SSL_HEADER") == "None"
    named = _setting("SECURE_PROXY_SSL_HEADER", DJANGO_SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO")
    assert named == "('HTTP_X_FORWARDED_PROTO', 'https')"
