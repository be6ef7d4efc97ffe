"""A small ledger for the dashboard tests (tests/e2e/ and tests/supervision/web/test_dashboard.py),
built through the services, with deadlines moved into the past afterwards (as the demo does: the
services rightly refuse a past deadline, so an item cannot become overdue within one test).

The viewer is a leader cleared for 内部 only. Counted for the viewer (6 items):

    name            lead (support)      status          deadline    light    category   (all assigned 40 days ago)
    overdue_long    edu                 in_progress     today-20    overdue  重点项目
    overdue_short   env (edu)           acknowledged    today-5     overdue  -
    overdue_town    town_sub            assigned        today-2     overdue  -
    green           edu                 in_progress     today+30    green    -         (急)
    closed          env                 closed          today-3     none     -         closed today, late
    verified        edu                 verified        today+10    none     重点项目   closed 2 days ago, on time

Never counted for the viewer: `secret` (秘密, edu, overdue since today-30: above the viewer's
clearance) and `draft` (edu: leaders do not see drafts).
"""

from __future__ import annotations

import datetime
from types import SimpleNamespace

from django.utils import timezone

from accounts.choices import Classification, Role
from supervision.choices import ItemStatus, Urgency
from supervision.models import Item
from tests.factories import CategoryFactory, UserFactory, make_item

VIEWER_PASSWORD = "pass-1234"  # UserFactory's


def build_dashboard_ledger(w) -> SimpleNamespace:
    today = timezone.localdate()
    days = datetime.timedelta
    L = SimpleNamespace(today=today)
    L.viewer = UserFactory(
        username="fenguan", full_name="分管领导", unit=w.party_office, roles=[Role.LEADER], clearance=Classification.INTERNAL
    )
    L.category = CategoryFactory(name="重点项目")
    edu = {"lead_unit": w.edu, "owner": w.edu_handler}
    env = {"lead_unit": w.env, "owner": w.env_handler}

    def item(name, state, title, **fields):
        obj = make_item(state, office=w.office, title=title, **fields)
        setattr(L, name, obj)
        return obj

    item("overdue_long", ItemStatus.IN_PROGRESS, "学校周边交通安全隐患整改", category=L.category, **edu)
    item("overdue_short", ItemStatus.ACKNOWLEDGED, "城区河道垃圾清理", supporting_units=[w.edu], **env)
    item("overdue_town", ItemStatus.ASSIGNED, "高标准农田建设进度", lead_unit=w.town_sub, owner=w.town_sub_handler)
    item("green", ItemStatus.IN_PROGRESS, "课后服务全覆盖", urgency=Urgency.URGENT, **edu)
    item("closed", ItemStatus.CLOSED, "工业园区扬尘治理", **env)
    item("verified", ItemStatus.VERIFIED, "食堂食品安全检查", category=L.category, **edu)
    item(
        "secret", ItemStatus.IN_PROGRESS, "涉密专项整改", classification=Classification.SECRET, lead_unit=w.edu, owner=w.edu_head
    )
    item("draft", ItemStatus.DRAFT, "尚未交办的事项", **edu)

    for name, deadline in (
        ("overdue_long", today - days(20)),
        ("overdue_short", today - days(5)),
        ("overdue_town", today - days(2)),
        ("closed", today - days(3)),
        ("verified", today + days(10)),
        ("secret", today - days(30)),
    ):
        Item.objects.filter(pk=getattr(L, name).pk).update(deadline=deadline, original_deadline=deadline)
    now = timezone.now()
    # Registered and assigned 40 days ago, so every date is in order (assigned < closed < today).
    Item.objects.filter(
        pk__in=[L.overdue_long.pk, L.overdue_short.pk, L.overdue_town.pk, L.green.pk, L.closed.pk, L.verified.pk, L.secret.pk]
    ).update(created_at=now - days(41), assigned_at=now - days(40))
    Item.objects.filter(pk=L.verified.pk).update(closed_at=now - days(2))
    for name in vars(L).copy():
        if isinstance(getattr(L, name), Item):
            setattr(L, name, Item.objects.get(pk=getattr(L, name).pk))
    L.visible_codes = {i.code for i in (L.overdue_long, L.overdue_short, L.overdue_town, L.green, L.closed, L.verified)}
    return L
