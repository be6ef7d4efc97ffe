"""config/wsgi.py: the application the web workers serve, with the garbage collector tuned for them."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wsgi_module_serves_django_warmed_up_and_with_a_web_workers_collector():
    # A fresh interpreter: importing config.wsgi here would retune the test process's collector.
    probe = (
        "import gc, sys, config.wsgi as w; from django.utils.translation import trans_real; "
        "print(type(w.application).__name__, gc.get_threshold()[0], gc.get_freeze_count() > 10_000, "
        "'supervision.api.views.ledger' in sys.modules, 'zh-hans' in trans_real._translations)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    # Warmed up: the views are imported and the catalogs loaded before the first request.
    assert out.stdout.split() == ["WSGIHandler", "50000", "True", "True", "True"]
