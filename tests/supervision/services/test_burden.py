"""减负 (issue 15 C, D): inspection activities flagged when a unit is booked twice in a week, and the
weekly burden per unit counted against a small ledger checked by hand; the office told once."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from accounts.choices import Role
from supervision import outbox, services
from supervision.choices import ActivityKind, ItemStatus
from supervision.errors import NotPermitted
from supervision.models import AuditEvent, BurdenAlert, BurdenLimit, SupervisionActivity
from supervision.stats.burden import burden_weeks, week_start
from tests.api_helpers import assert_error, client_for
from tests.factories import UserFactory, make_item

MONDAY = week_start(timezone.localdate())


def book(w, title, start, end, units, **kwargs):
    return services.activity_create(
        actor=w.office,
        kind=kwargs.pop("kind", ActivityKind.FIELD),
        title=title,
        start_date=start,
        end_date=end,
        bodies="县委督查室、县政府督查室",
        target_units=units,
        **kwargs,
    )


# ---------------------------------------------------------------------------------------------
# 统筹督查: clash warnings


def test_a_unit_booked_twice_in_one_week_is_flagged_before_saving(world):
    w = world
    first, clashes = book(w, "河道整治实地督查", MONDAY, MONDAY + datetime.timedelta(days=1), [w.env, w.edu])
    assert clashes == []
    before = SupervisionActivity.objects.count()
    # Thursday of the same week, one unit in common: refused with the warning, nothing saved.
    thursday = MONDAY + datetime.timedelta(days=3)
    with pytest.raises(services.ActivityClash) as caught:
        book(w, "安全生产暗访", thursday, thursday, [w.env, w.town], kind=ActivityKind.UNANNOUNCED)
    warnings = caught.value.extra["warnings"]
    assert [(x["unit_id"], x["activity_id"]) for x in warnings] == [(w.env.pk, first.pk)]
    assert "县环保局" in warnings[0]["message"] and "合并" in warnings[0]["message"]
    assert SupervisionActivity.objects.count() == before
    # Confirmed: saved, the warning returned and recorded.
    second, clashes = book(w, "安全生产暗访", thursday, thursday, [w.env, w.town], confirm_clash=True)
    assert [c.unit for c in clashes] == [w.env]
    event = AuditEvent.objects.get(action="activity_created", object_id=second.pk)
    assert event.data["clashes_confirmed"][0]["activity_id"] == first.pk
    # The next week, or other units: no clash.
    next_monday = MONDAY + datetime.timedelta(days=7)
    assert book(w, "回访督查", next_monday, next_monday, [w.env])[1] == []
    assert book(w, "教育督查", thursday, thursday, [w.town_sub])[1] == []


def test_an_activity_spanning_a_weekend_clashes_with_both_weeks(world):
    w = world
    friday = MONDAY + datetime.timedelta(days=4)
    book(w, "跨周联合督查", friday, friday + datetime.timedelta(days=3), [w.edu], kind=ActivityKind.JOINT)
    next_wednesday = MONDAY + datetime.timedelta(days=9)
    with pytest.raises(services.ActivityClash):
        book(w, "下周督查", next_wednesday, next_wednesday, [w.edu])


def test_api_activity_409_then_201_with_warnings_and_units_do_not_see_unannounced_visits(world):
    w = world
    book(w, "河道整治实地督查", MONDAY, MONDAY, [w.env])
    body = {
        "kind": "unannounced",
        "title": "暗访",
        "start_date": (MONDAY + datetime.timedelta(days=2)).isoformat(),
        "end_date": (MONDAY + datetime.timedelta(days=2)).isoformat(),
        "target_unit_ids": [w.env.pk],
    }
    client = client_for(w.office)
    refused = client.post("/api/v1/supervision-activities/", body, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "activity_clash"
    assert refused.json()["warnings"][0]["unit"] == "县环保局"
    saved = client.post("/api/v1/supervision-activities/", {**body, "confirm_clash": True}, format="json")
    assert saved.status_code == 201, saved.content
    assert saved.json()["warnings"][0]["activity"] == "河道整治实地督查"
    titles = [a["title"] for a in client_for(w.env_handler).get("/api/v1/supervision-activities/").json()["results"]]
    assert titles == ["河道整治实地督查"]
    assert_error(client_for(w.env_handler).post("/api/v1/supervision-activities/", body, format="json"), 403)


# ---------------------------------------------------------------------------------------------
# Burden counts against a hand-checked ledger


@pytest.fixture
def ledger(world):
    """The environment bureau this week, counted by hand:
    - messages: 3 items assigned (交办) this week, each hand-off message to both env users (6, issue 12)
      + 2 reminders to both env users (4) + 1 report request to the handler (1) + 1 notice (1) = 12;
      every 站内信 counts (stats/definitions.py "burden"), a hand-off message too, not only reminders
    - reminders: 2 (distinct keys); reports asked: 1
    - reports filed: 1 (by env on the in-progress item); the education bureau none
    - items led: 3 running, one linked to another counted once: 2 matters, 1.5 per matter
    - visits: 2 activities (one last week does not count)."""
    w = world
    a = make_item(ItemStatus.IN_PROGRESS, office=w.office, lead_unit=w.env, owner=w.env_handler, title="城北河道综合整治工程")
    b = make_item(ItemStatus.ASSIGNED, office=w.office, lead_unit=w.env, owner=w.env_handler, title="城北河道整治")
    make_item(ItemStatus.ASSIGNED, office=w.office, lead_unit=w.env, owner=w.env_handler, title="大气污染防治")
    make_item(ItemStatus.DRAFT, office=w.office, lead_unit=w.env, owner=w.env_handler, title="草稿不计")
    services.item_link(actor=w.office, item=b, lead=a)
    env_people = [w.env_handler, w.env_head]
    outbox.notify(recipients=env_people, title="催办一", kind="deadline", dedup_key="t:1", item=a)
    outbox.notify(recipients=env_people, title="催办二", kind="overdue", dedup_key="t:2", item=a)
    outbox.notify(recipients=[w.env_handler], title="催报", kind="report", dedup_key="t:3", item=a)
    outbox.notify(recipients=[w.env_handler], title="通报", kind="notice", dedup_key="t:4")
    outbox.notify(recipients=[w.edu_handler], title="教育局催办", kind="deadline", dedup_key="t:5")
    book(w, "实地督查", MONDAY, MONDAY, [w.env])
    book(w, "联合督查", MONDAY + datetime.timedelta(days=2), MONDAY + datetime.timedelta(days=2), [w.env], confirm_clash=True)
    book(w, "上周督查", MONDAY - datetime.timedelta(days=5), MONDAY - datetime.timedelta(days=4), [w.env], confirm_clash=True)
    return w


def test_burden_counts_match_the_hand_checked_ledger(ledger):
    w = ledger
    rows = {r["unit"]: r for r in burden_weeks(user=w.office)}
    env = rows["县环保局"]
    assert env["week_start"] == MONDAY
    assert (env["messages"], env["reminders"], env["reports_asked"]) == (12, 2, 1)
    from tasks.models import Notification

    # The six of the twelve that are hand-off messages, not reminders: 交办 of the three running items.
    handoffs = Notification.objects.filter(kind="handoff", recipient__unit=w.env)
    assert sorted(handoffs.values_list("recipient__username", flat=True)) == ["env_handler"] * 3 + ["env_head"] * 3
    assert env["reports_filed"] == 1
    assert (env["open_items"], env["matters"], env["items_per_matter"]) == (3, 2, 1.5)
    assert env["visits"] == 2
    edu = rows["县教育局"]
    assert (edu["messages"], edu["reminders"], edu["reports_filed"], edu["visits"]) == (1, 1, 0, 0)
    # Last week: only the earlier activity.
    last = [r for r in burden_weeks(user=w.office, weeks=2) if r["week_start"] < MONDAY and r["unit"] == "县环保局"]
    assert last and last[0]["visits"] == 1 and last[0]["messages"] == 0


def test_burden_api_and_limits_tell_the_office_once_per_unit_and_week(ledger):
    w = ledger
    BurdenLimit.objects.create(metric="reminders", weekly_limit=1)
    body = client_for(w.office).get("/api/v1/stats/burden/").json()
    env = next(r for r in body if r["unit"] == "县环保局")
    assert env["reminders"] == 2 and env["over_limits"] == ["reminders"]
    assert_error(client_for(w.env_handler).get("/api/v1/stats/burden/"), 403)
    with pytest.raises(NotPermitted):
        burden_weeks(user=w.env_head)
    office_people = {w.office.pk, w.office_low.pk}
    sent = services.burden_alerts_send()
    assert [(a.unit_id, a.metric, a.value) for a in sent] == [(w.env.pk, "reminders", 2)]
    assert services.burden_alerts_send() == []  # once per unit, week and measure
    assert BurdenAlert.objects.count() == 1
    from tasks.models import Notification

    told = Notification.objects.filter(kind="burden")
    assert set(told.values_list("recipient_id", flat=True)) == office_people
    assert "县环保局" in told.first().title
    other_office = UserFactory(unit=w.office_unit, roles=[Role.OFFICE_STAFF])
    assert not told.filter(recipient=other_office).exists()
