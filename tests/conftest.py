"""Shared fixtures. `world` is a small county: units and one user per role. Extend it by adding
fixtures that take `world` (e.g. API clients logged in as `world.office`)."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest

from accounts.choices import Classification, Role, UnitKind
from tests.factories import UnitFactory, UserFactory


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploaded evidence goes to a throw-away directory."""
    settings.MEDIA_ROOT = tmp_path / "media"


def build_world() -> SimpleNamespace:
    """Create the units and users of the test county; usable from fixtures of any scope."""
    w = SimpleNamespace()
    # Units
    w.party_office = UnitFactory(name="县委办公室", kind=UnitKind.PARTY_OFFICE)
    w.office_unit = UnitFactory(name="县委督查室", kind=UnitKind.SUPERVISION_OFFICE, parent=w.party_office)
    w.edu = UnitFactory(name="县教育局", kind=UnitKind.DEPARTMENT)
    w.env = UnitFactory(name="县环保局", kind=UnitKind.DEPARTMENT)
    w.town = UnitFactory(name="黄庄乡", kind=UnitKind.TOWNSHIP)
    w.town_sub = UnitFactory(name="黄庄乡农业服务中心", kind=UnitKind.OTHER, parent=w.town)
    w.discipline_unit = UnitFactory(name="县纪委监委", kind=UnitKind.DISCIPLINE)
    w.organization_unit = UnitFactory(name="县委组织部", kind=UnitKind.ORGANIZATION)

    C = Classification
    # Users: (attribute, unit, roles, clearance)
    people = [
        ("office", w.office_unit, [Role.OFFICE_STAFF], C.CONFIDENTIAL),
        ("office_low", w.office_unit, [Role.OFFICE_STAFF], C.INTERNAL),
        ("leader", w.party_office, [Role.LEADER], C.CONFIDENTIAL),
        ("edu_handler", w.edu, [Role.UNIT_HANDLER], C.INTERNAL),
        ("edu_head", w.edu, [Role.UNIT_HEAD], C.SECRET),
        ("env_handler", w.env, [Role.UNIT_HANDLER], C.INTERNAL),
        ("env_head", w.env, [Role.UNIT_HEAD], C.SECRET),
        ("town_handler", w.town, [Role.UNIT_HANDLER], C.INTERNAL),
        ("town_sub_handler", w.town_sub, [Role.UNIT_HANDLER], C.INTERNAL),
        ("discipline", w.discipline_unit, [Role.DISCIPLINE], C.SECRET),
        ("organization", w.organization_unit, [Role.ORGANIZATION], C.SECRET),
        ("admin", w.office_unit, [Role.ADMINISTRATOR], C.CONFIDENTIAL),
    ]
    for attr, unit, roles, clearance in people:
        user = UserFactory(username=attr, full_name=attr, unit=unit, roles=roles, clearance=clearance)
        setattr(w, attr, user)
    w.admin.is_staff = w.admin.is_superuser = True
    w.admin.save(update_fields=["is_staff", "is_superuser"])
    for unit, head in ((w.edu, w.edu_head), (w.env, w.env_head)):
        unit.head = head
        unit.save()
    return w


@pytest.fixture
def world(db) -> SimpleNamespace:
    return build_world()


# The reference data the migrations seed (calendar 2004-2026, warning thresholds, reminder
# policies). A transactional test's flush empties every table, and which tests come after one
# depends on how the run is split over workers (scripts/test.sh runs on every core). So after a
# flush, the next test that uses the database finds the seeds restored by the same seed functions
# (idempotent), before any of its fixtures run: outside its transaction and outside a module's
# (tests/module_data.py), so the restored rows stay. Preferred to serialized_rollback, which
# collides with the content types a previous transactional test's flush re-created.
SEED_MIGRATIONS = (
    ("0004_seed_calendar", "forwards"),
    ("0006_seed_warning_thresholds", "seed"),
    ("0008_seed_reminder_policies", "seed"),
)
_FLUSHED = pytest.StashKey[bool]()


def _database_use(item: pytest.Item) -> str:
    """ "transactional", "db" or "": as pytest-django orders tests (its pytest_collection_modifyitems)."""
    fixtures = getattr(item, "fixturenames", ())
    marker = item.get_closest_marker("django_db")
    if "transactional_db" in fixtures or "live_server" in fixtures:
        return "transactional"
    if marker is not None and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return "transactional"
    return "db" if marker is not None or "db" in fixtures else ""


def _seed_reference_data() -> None:
    import importlib

    from django.apps import apps
    from django.db import connection

    from supervision.models import CalendarDay

    if not CalendarDay.objects.exists():
        for name, function in SEED_MIGRATIONS:
            module = importlib.import_module(f"supervision.migrations.{name}")
            getattr(module, function)(apps, connection.schema_editor())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    if item.config.stash.get(_FLUSHED, False) and _database_use(item):
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            _seed_reference_data()
        item.config.stash[_FLUSHED] = False
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    try:
        return (yield)
    finally:
        if _database_use(item) == "transactional":
            item.config.stash[_FLUSHED] = True


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each schemathesis operation test (tests/test_schemathesis.py) gets its operation in its node id.
    Schemathesis 4.32 on pytest 9 gives them all the function's own id, and pytest-xdist's file
    scheduling (scripts/test.sh) keys the work by node id: all but one operation would silently not
    run. The name already holds it: "test_api_conforms_to_schema[GET /api/v1/items/]"."""
    from _pytest.nodeid import NodeId
    from schemathesis.pytest.plugin import SchemathesisFunction

    for item in items:
        if isinstance(item, SchemathesisFunction) and "[" in item.name and "[" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}[{item.name.partition('[')[2]}")
    # Any other pair of tests sharing an id would be lost the same way: refuse to run rather than pass.
    twins = sorted(nodeid for nodeid, n in Counter(item.nodeid for item in items).items() if n > 1)
    if twins:
        raise pytest.UsageError(f"tests share a node id, and pytest-xdist would run only one of each: {twins[:5]}")
