"""Data built once for a whole test module.

Data that many tests of a module only read (the demo county, a hand-counted ledger) is built once,
by a module-scoped fixture, inside `module_transaction`, which is rolled back when the module is
done. Each test's own transaction (pytest-django's `db`) nests inside it as a savepoint, so
whatever a test writes is gone before the next one. The outer transaction never commits: on-commit
hooks of the build never run, just as they never ran when each test built the data inside its own
transaction. Such a module must have no `transaction=True` test (its flush would end the outer
transaction), every test of it must see the same data (so that the order of tests cannot matter),
and its tests take model instances through `reread`, so that one test's changes to an instance's
attributes (or cached properties) never reach the next."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from django.db import transaction
from django.db.models import Model
from django.test import override_settings


@contextmanager
def module_transaction(django_db_blocker, media_root: Path) -> Iterator[None]:
    """Database access, a transaction rolled back at the end, and uploaded files in `media_root`
    (point each test's MEDIA_ROOT there too, if it reads them)."""
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media_root), transaction.atomic():
        try:
            yield
        finally:
            transaction.set_rollback(True)


def reread(value):
    """`value` with its model instances read afresh from the database: an instance, or a namespace,
    list, tuple or dict of them (nested); other values as they are."""
    if isinstance(value, Model):
        return value if value.pk is None else type(value)._base_manager.get(pk=value.pk)
    if isinstance(value, SimpleNamespace):
        return SimpleNamespace(**{name: reread(v) for name, v in vars(value).items()})
    if type(value) in (list, tuple):
        return type(value)(reread(v) for v in value)
    if type(value) is dict:
        return {key: reread(v) for key, v in value.items()}
    return value


def clocked_ledger_fixtures(build_ledger):
    """The fixtures of a module whose tests read one ledger built on a moving clock: `_built` (module
    scope: tests/conftest.py's world and `build_ledger(world, set_clock)`, in `module_transaction`)
    and `world` (each test's fresh copy of it, MEDIA_ROOT where the ledger's files are). Assign
    both in the module: `_built, world = clocked_ledger_fixtures(build_ledger)`."""
    import pytest
    from django.utils import timezone

    from tests.conftest import build_world

    @pytest.fixture(scope="module")
    def _built(django_db_setup, django_db_blocker, tmp_path_factory):
        media_root = tmp_path_factory.mktemp("media")
        with module_transaction(django_db_blocker, media_root):
            with pytest.MonkeyPatch.context() as patch:
                w = build_world()
                ledger = build_ledger(w, lambda moment: patch.setattr(timezone, "now", lambda: moment))
            yield SimpleNamespace(world=w, ledger=ledger, media_root=media_root)

    @pytest.fixture
    def world(_built, db, settings):
        """tests/conftest.py's world, with the module's ledger beside it."""
        settings.MEDIA_ROOT = _built.media_root
        return reread(_built.world)

    return _built, world
