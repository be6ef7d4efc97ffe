"""Fixtures shared by the supervision tests."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from supervision.demo import load_demo
from tests.module_data import module_transaction


@pytest.fixture(scope="module")
def _demo_module(django_db_setup, django_db_blocker, tmp_path_factory):
    """The README's demo county, loaded once per test module that asks for it (a load takes many
    seconds); see tests/module_data.py."""
    media_root = tmp_path_factory.mktemp("demo-media")
    with module_transaction(django_db_blocker, media_root):
        yield SimpleNamespace(first_load=load_demo(), media_root=media_root)


@pytest.fixture
def demo_county(_demo_module, db, settings) -> SimpleNamespace:
    """The module's demo county; `first_load` is what load_demo() answered when it loaded it.
    MEDIA_ROOT points at the demo's evidence files (instead of tests/conftest.py's per-test
    directory). Read users and items from the database in each test."""
    settings.MEDIA_ROOT = _demo_module.media_root
    return _demo_module
