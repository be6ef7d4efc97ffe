"""Shared fixtures. `world` is a small county: units and one user per role. Extend it by adding
fixtures that take `world` (e.g. API clients logged in as `world.office`)."""

from __future__ import annotations

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
# policies). A transactional test's flush empties every table, so tests that run after one (and
# need the seeded rows) ask for this fixture: it re-runs the same seed functions, which are
# idempotent. Preferred to serialized_rollback, which collides with the content types a previous
# transactional test's flush re-created.
SEED_MIGRATIONS = (
    ("0004_seed_calendar", "forwards"),
    ("0006_seed_warning_thresholds", "seed"),
    ("0008_seed_reminder_policies", "seed"),
)


@pytest.fixture
def reference_data(django_db_blocker):
    import importlib

    from django.apps import apps
    from django.db import connection

    from supervision.models import CalendarDay

    with django_db_blocker.unblock():
        if not CalendarDay.objects.exists():
            for name, function in SEED_MIGRATIONS:
                module = importlib.import_module(f"supervision.migrations.{name}")
                getattr(module, function)(apps, connection.schema_editor())
