"""办结率, 在办率, 停滞率 and stage durations (issue 14), on the meeting one speaker counted by hand:
10 decisions, all due by now — 5 closed, 4 "in progress", 1 only assigned.

All registered and assigned on 07-01, due 09-30; the clock stands at 10-10 10:00. Of the four in
progress (不定期: the office's default cycle of 30 days + 7 days' grace):
    S  silent: its only report is the one of 07-01                                    → stale
    U1 U2 the lead unit reported 50% on 07-01, 10-01 and 10-05 (3 in a row the same)   → stale
    H  reported 60% on 10-01 and 70% on 10-05                                          → not stale
So: 办结率 5/10 = 50%, 在办率 4/10 = 40%, 停滞 3 of the 4 = 75%.
"""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from supervision import services
from supervision.choices import InstructionKind, ItemStatus
from supervision.models import FigureRules
from tests.conftest import build_world
from tests.factories import make_instruction, make_item, unit_actor
from tests.module_data import module_transaction, reread
from tests.supervision.stats.test_figures import _assert_drilldowns_agree, get

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
D = datetime.date


def at(month: int, day: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI)


@pytest.fixture
def clock(monkeypatch):
    def set_to(moment: datetime.datetime):
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


@pytest.fixture(scope="module")
def _meeting_built(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world and the meeting, built once for the module that uses them (see
    tests/module_data.py). test_assessment.py imports these fixtures with `meeting`."""
    media_root = tmp_path_factory.mktemp("media")
    with module_transaction(django_db_blocker, media_root):
        with pytest.MonkeyPatch.context() as patch:
            w = build_world()
            built = build_meeting(w, lambda moment: patch.setattr(timezone, "now", lambda: moment))
        yield SimpleNamespace(world=w, meeting=built, media_root=media_root)


@pytest.fixture
def world(_meeting_built, db, settings):
    """tests/conftest.py's world, with the meeting beside it."""
    settings.MEDIA_ROOT = _meeting_built.media_root
    return reread(_meeting_built.world)


@pytest.fixture
def meeting(_meeting_built, world, clock):
    clock(at(10, 10))
    return reread(_meeting_built.meeting)


def build_meeting(world, clock):
    clock(at(7, 1))
    instruction = make_instruction(office=world.office, kind=InstructionKind.MEETING_DECISION, title="常委会议定事项")
    items = {}
    for name, state in [
        *((f"closed{i}", ItemStatus.CLOSED) for i in range(5)),
        ("silent", ItemStatus.IN_PROGRESS),
        ("same1", ItemStatus.IN_PROGRESS),
        ("same2", ItemStatus.IN_PROGRESS),
        ("healthy", ItemStatus.IN_PROGRESS),
        ("assigned", ItemStatus.ASSIGNED),
    ]:
        items[name] = make_item(
            state,
            office=world.office,
            instruction=instruction,
            lead_unit=world.edu,
            owner=world.edu_handler,
            deadline=D(2026, 9, 30),
            title=name,
        )
    actor = unit_actor(world.edu, prefer=world.edu_handler)
    for day in (1, 5):
        clock(at(10, day))
        for name, progress in (("same1", 50), ("same2", 50), ("healthy", {1: 60, 5: 70}[day])):
            services.progress_report_create(actor=actor, item=items[name], progress_text="推进中", progress=progress)
    clock(at(10, 10))
    return instruction, items


def test_the_meeting_reads_50_percent_implemented_40_in_progress_and_most_of_those_stale(world, meeting):
    instruction, items = meeting
    params = {"instruction": instruction.pk}
    body = get(world.office, "/api/v1/stats/summary/", params)
    assert (body["due"]["count"], body["closed"]["count"], body["implementation_rate"]) == (10, 5, 0.5)
    assert (body["assigned"]["count"], body["completed"]["count"], body["completion_rate"]) == (10, 5, 0.5)
    assert (body["in_progress"]["count"], body["in_progress_rate"]) == (4, 0.4)
    assert (body["stale"]["count"], body["stale_rate"]) == (3, 0.75)
    stale = get(world.office, "/api/v1/items/", {**params, "stale": "true"})
    assert {row["title"] for row in stale["results"]} == {"silent", "same1", "same2"}
    # The ranking gives the lead unit the same.
    edu = next(u for u in get(world.office, "/api/v1/stats/units/", params)["results"] if u["unit"]["id"] == world.edu.pk)
    lead = edu["lead"]
    assert (lead["completion_rate"], lead["in_progress_rate"], lead["stale_rate"]) == (0.5, 0.4, 0.75)
    assert _assert_drilldowns_agree(world.office, body) > 10
    assert _assert_drilldowns_agree(world.office, edu) > 10


def test_the_office_sets_n_and_the_grace_in_the_admin(world, meeting):
    instruction, _items = meeting
    FigureRules.objects.create(pk=1, stale_unchanged_reports=4, stale_grace_days=7)
    body = get(world.office, "/api/v1/stats/summary/", {"instruction": instruction.pk})
    assert (body["stale"]["count"], body["stale_rate"]) == (1, 0.25)  # three 50% reports are no longer enough
    FigureRules.objects.filter(pk=1).update(stale_grace_days=200)
    body = get(world.office, "/api/v1/stats/summary/", {"instruction": instruction.pk})
    assert body["stale"]["count"] == 0  # the silent one is within 30 + 200 days
    assert _assert_drilldowns_agree(world.office, body) > 10


def test_stage_durations_by_lead_unit(world, meeting):
    instruction, _items = meeting
    body = get(world.office, "/api/v1/stats/stages/", {"instruction": instruction.pk})
    (row,) = body["results"]
    assert row["unit"]["id"] == world.edu.pk and row["items"]["count"] == 10
    # Signed and first reported on 07-01 by all but the only-assigned one, the same hour: 0 days.
    assert row["sign"] == {"measured": 9, "average_days": 0.0}
    assert row["first_report"] == {"measured": 9, "average_days": 0.0}
    assert row["office_review"] == {"measured": 5, "average_days": 0.0}
    # The five completion requests were filed by the handler and signed by the unit's head (rule 14)
    # the same hour, as a user would (tests/factories.py: endorsed): measured, 0 days. None is for
    # a unit with nothing signed (measured 0), not for a quick signature.
    assert row["unit_endorsement"] == {"measured": 5, "average_days": 0.0}
    assert _assert_drilldowns_agree(world.office, body) == 1
