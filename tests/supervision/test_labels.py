"""Chinese labels for every audit action and status (issue 12): one mapping of action codes
(supervision/choices.py: ACTION_LABELS) used by the API's `action_label` and by the admin, and a
`status_label` beside every status the API returns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from supervision.choices import (
    ACTION_LABELS,
    ExplanationStatus,
    ItemStatus,
    RequestKind,
    RequestStatus,
    ReturnVisitResult,
    Ruling,
    action_label,
)
from tests.api_helpers import client_for
from tests.factories import make_item

ROOT = Path(__file__).resolve().parents[2]
# action="item_assigned", "action": "delivery_resent", action = "calendar_day_set" … in the source.
LITERAL = re.compile(r"""\baction["']?\s*[:=]\s*["']([a-z][a-z_]+)["']""")
CONDITIONAL = re.compile(r"""\baction\s*=\s*["']([a-z_]+)["']\s+if\s+.+?\s+else\s+["']([a-z_]+)["']""")


def codes_in_source() -> set[str]:
    codes: set[str] = set()
    for package in ("supervision", "tasks", "accounts"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            codes.update(LITERAL.findall(text))
            for pair in CONDITIONAL.findall(text):
                codes.update(pair)
    # argparse's action="store_true" is not an audit action.
    return codes - {"store_true", "store_false", "append", "count", "version"}


def dynamic_codes() -> set[str]:
    """The codes services build from a kind: requests, return visits, rulings."""
    steps = ("requested", "endorsed", "returned_by_unit", "approved", "rejected", "withdrawn")
    return (
        {f"{kind}_{step}" for kind in RequestKind.values for step in steps}
        | {f"return_visit_{result}" for result in ReturnVisitResult.values}
        | {f"overdue_explanation_{ruling}" for ruling in Ruling.values}
    )


def test_every_action_the_code_records_has_a_chinese_label():
    codes = codes_in_source() | dynamic_codes()
    assert {"item_assigned", "completion_endorsed", "calendar_day_set", "delivery_resent"} <= codes
    missing = sorted(c for c in codes if c not in ACTION_LABELS)
    assert missing == [], f"add these to supervision/choices.py ACTION_LABELS: {missing}"
    for code in codes:
        label = action_label(code)
        assert re.search(r"[\u4e00-\u9fff]", label), (code, label)


def test_unknown_codes_are_shown_not_hidden():
    assert action_label("something_new") == "something_new"
    assert action_label("completion_approved") == "办结申请：督查室批准"


@pytest.mark.django_db
def test_status_labels_in_the_api(world):
    item = make_item(ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    office = client_for(world.office)
    detail = office.get(f"/api/v1/items/{item.pk}/").json()
    assert (detail["status"], detail["status_label"]) == ("in_progress", "办理中")
    listed = office.get("/api/v1/items/").json()["results"][0]
    assert listed["status_label"] == "办理中"
    history = office.get(f"/api/v1/items/{item.pk}/history/").json()["results"]
    assert [e["action_label"] for e in history[:2]] == ["分解立项", "交办"]
    assert {str(label) for label in RequestStatus.labels} >= {"待单位负责人签字", "待督查室审批", "单位负责人退回"}
    assert str(ExplanationStatus.AWAITING_ENDORSEMENT.label) == "待单位负责人签字"


@pytest.mark.django_db
def test_the_admin_shows_actions_in_chinese(world):
    make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    client = Client()
    client.force_login(world.admin)
    page = client.get("/admin/supervision/auditevent/").content.decode()
    assert "交办" in page and "分解立项" in page
    filtered = client.get("/admin/supervision/auditevent/", {"action": "item_assigned"}).content.decode()
    assert "交办" in filtered
