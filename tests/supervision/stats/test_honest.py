"""Figures nobody can launder (issue 14): every path that used to move an item out of 应办结 or
out of 超期 is walked through the services on a moving clock, and the figures are checked against
the counts worked out by hand below, and against their drill-down lists.

- Late extension: due 08-31 (Q3), overdue in September, an extension to 10-31 approved on 10-10,
  closed on 10-20. Q3: due 1, closed 1, on time by the original deadline 0. Q4 by the original
  deadline: not due; by the current deadline (shown beside): due 1, on time 1.
- Failed return visit with a new deadline: due 08-31, closed on time on 08-20, the return visit of
  10-15 fails with a rectification deadline of 12-31. Q3: still due (1), not closed now (0), its
  closure of 08-20 still counted as a closure of Q3 and of August; relapsed (反弹) in Q4, not Q3.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from supervision import services
from supervision.choices import InstructionKind, ItemStatus, RequestKind, ReturnVisitResult
from supervision.models import Item, ItemRequest
from tests.factories import advance_item, endorsed, make_instruction, make_item, unit_actor
from tests.supervision.stats.test_figures import _assert_drilldowns_agree, get

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
D = datetime.date
Q3, Q4 = {"quarter": "2026Q3"}, {"quarter": "2026Q4"}


def at(month: int, day: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI)


@pytest.fixture
def clock(monkeypatch):
    def set_to(moment: datetime.datetime):
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


def _item(w, deadline: D, title: str) -> Item:
    instruction = make_instruction(office=w.office, kind=InstructionKind.MEETING_DECISION, title=f"{title}（会议）")
    return make_item(
        ItemStatus.IN_PROGRESS,
        office=w.office,
        instruction=instruction,
        lead_unit=w.edu,
        owner=w.edu_handler,
        deadline=deadline,
        title=title,
    )


def late_extension(w, clock) -> Item:
    clock(at(7, 1))
    item = _item(w, D(2026, 8, 31), "迟批延期")
    clock(at(10, 10))  # overdue since September; the extension comes late
    actor = unit_actor(w.edu, prefer=w.edu_handler)
    request = services.item_request_create(
        actor=actor, item=item, kind=RequestKind.EXTENSION, reason="客观原因", requested_deadline=D(2026, 10, 31)
    )
    services.item_request_decide(actor=w.office, request=endorsed(request), approve=True, comment="同意延期")
    clock(at(10, 20))
    return advance_item(item, ItemStatus.CLOSED, office=w.office)


def failed_return_visit(w, clock) -> Item:
    clock(at(7, 1))
    item = _item(w, D(2026, 8, 31), "回访反弹")
    clock(at(8, 20))
    advance_item(item, ItemStatus.CLOSED, office=w.office)
    clock(at(10, 15))
    services.return_visit_create(
        actor=w.office,
        item=Item.objects.get(pk=item.pk),
        result=ReturnVisitResult.FAILED,
        findings="问题反弹",
        new_deadline=D(2026, 12, 31),
    )
    return Item.objects.get(pk=item.pk)


def test_a_late_extension_on_an_overdue_item_keeps_it_due_and_late(world, clock):
    item = late_extension(world, clock)
    assert (item.original_deadline, item.deadline, item.status) == (D(2026, 8, 31), D(2026, 10, 31), ItemStatus.CLOSED)
    assert ItemRequest.objects.filter(item=item, kind=RequestKind.EXTENSION, status="approved").exists()
    clock(at(11, 16))
    q3 = get(world.office, "/api/v1/stats/summary/", Q3)
    # The extension does not move it out of Q3, where it was due; closed after 08-31 = late.
    assert (q3["due"]["count"], q3["closed"]["count"], q3["closed_on_time_original"]["count"]) == (1, 1, 0)
    assert (q3["implementation_rate"], q3["on_time_rate_original"]) == (1.0, 0.0)
    # By the current deadline, beside it: nothing was due in Q3.
    assert (q3["due_current"]["count"], q3["on_time_rate_extended"]) == (0, None)
    q4 = get(world.office, "/api/v1/stats/summary/", Q4)
    assert (q4["due"]["count"], q4["implementation_rate"]) == (0, None)
    assert (q4["due_current"]["count"], q4["closed_on_time_extended"]["count"], q4["on_time_rate_extended"]) == (1, 1, 1.0)
    # The ranking counts it the same way.
    units = get(world.office, "/api/v1/stats/units/", Q3)["results"]
    edu = next(u for u in units if u["unit"]["id"] == world.edu.pk)["lead"]
    assert (edu["due"]["count"], edu["on_time_rate_original"]) == (1, 0.0)
    assert _assert_drilldowns_agree(world.office, q3) > 5
    assert _assert_drilldowns_agree(world.office, q4) > 5


def test_an_overdue_item_extended_stays_overdue_by_the_original_deadline(world, clock):
    clock(at(7, 1))
    item = _item(world, D(2026, 8, 31), "迟批延期")
    clock(at(10, 10))
    request = services.item_request_create(
        actor=unit_actor(world.edu, prefer=world.edu_handler),
        item=item,
        kind=RequestKind.EXTENSION,
        reason="客观原因",
        requested_deadline=D(2026, 10, 31),
    )
    services.item_request_decide(actor=world.office, request=endorsed(request), approve=True, comment="同意延期")
    body = get(world.office, "/api/v1/stats/summary/")
    assert body["overdue"]["count"] == 0  # by the current deadline (the light)
    assert body["overdue_original"]["count"] == 1  # beside it: past 08-31
    assert _assert_drilldowns_agree(world.office, body) > 5


def test_a_failed_return_visit_with_a_new_deadline_counts_as_relapsed_and_stays_due(world, clock):
    item = failed_return_visit(world, clock)
    assert (item.status, item.deadline, item.original_deadline, item.closed_at) == (
        ItemStatus.IN_PROGRESS,
        D(2026, 12, 31),
        D(2026, 8, 31),
        None,
    )
    clock(at(11, 16))
    q3 = get(world.office, "/api/v1/stats/summary/", Q3)
    assert (q3["due"]["count"], q3["closed"]["count"], q3["implementation_rate"]) == (1, 0, 0.0)
    assert q3["on_time_rate_original"] == 0.0
    assert q3["closed_in_period"]["count"] == 1  # the closure of 08-20 is not erased
    assert q3["relapsed"]["count"] == 0
    q4 = get(world.office, "/api/v1/stats/summary/", Q4)
    assert (q4["due"]["count"], q4["relapsed"]["count"], q4["due_current"]["count"]) == (0, 1, 1)
    trend = get(world.office, "/api/v1/stats/trend/", {"period_start": "2026-08-01", "period_end": "2026-10-31"})
    months = {m["month"]: m for m in trend["months"]}
    assert [months[m]["closed"]["count"] for m in ("2026-08", "2026-09", "2026-10")] == [1, 0, 0]
    # Closed at the end of August and September; at the end of October its deadline was 12-31.
    assert [months[m]["overdue_at_month_end"]["count"] for m in ("2026-08", "2026-09", "2026-10")] == [0, 0, 0]
    for body in (q3, q4, trend):
        assert _assert_drilldowns_agree(world.office, body) > 2


# ---------------------------------------------------------------------------------------------
# The deadline history: a past month end is counted with the deadline then in force


def spans(item: Item) -> list[tuple]:
    return list(item.deadline_spans.order_by("valid_from", "id").values_list("deadline", "valid_from", "valid_until", "source"))


def test_the_services_write_every_deadline_with_the_time_it_was_in_force(world, clock):
    extended = late_extension(world, clock)
    assert spans(extended) == [
        (D(2026, 8, 31), at(7, 1), at(10, 10), "assigned"),
        (D(2026, 10, 31), at(10, 10), None, "extension"),
    ]
    reopened = failed_return_visit(world, clock)
    assert spans(reopened) == [
        (D(2026, 8, 31), at(7, 1), at(10, 15), "assigned"),
        (D(2026, 12, 31), at(10, 15), None, "rectification"),
    ]
    # The data migration's recovery, from the items, the approved extensions and the audit trail,
    # gives the same history.
    before = {item.pk: spans(item) for item in (extended, reopened)}
    from supervision.models import AuditEvent, DeadlineSpan
    from supervision.services.deadlines import deadline_history_recover

    assert deadline_history_recover(Item=Item, ItemRequest=ItemRequest, AuditEvent=AuditEvent, DeadlineSpan=DeadlineSpan) == 4
    assert {item.pk: spans(item) for item in (extended, reopened)} == before


def test_the_trend_counts_a_past_month_end_with_the_deadline_then_in_force(world, clock):
    late_extension(world, clock)
    clock(at(11, 16))
    trend = get(world.office, "/api/v1/stats/trend/", {"period_start": "2026-08-01", "period_end": "2026-10-31"})
    months = {m["month"]: m["overdue_at_month_end"]["count"] for m in trend["months"]}
    # 08-31: due that day, not yet overdue. 09-30: past 08-31, the extension (approved 10-10) not
    # yet in force: overdue — reading today's deadline (10-31) back would hide it. 10-31: closed.
    assert months == {"2026-08": 0, "2026-09": 1, "2026-10": 0}
