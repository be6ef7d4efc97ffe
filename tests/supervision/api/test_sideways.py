"""Sideways leaks between the units of one item (DOMAIN.md rule 13: 不得层层复制下传或者横传), issue
11 findings 1, 2 and 7. One unit's overdue explanation, ruling, referral, requests and their
evidence must not reach the other unit through the item's history, referrals, requests,
attachments or an inbox; a message about an item raised above the reader's clearance drops out."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from accounts.choices import Classification
from supervision import services
from supervision.choices import ItemStatus, ReasonKind, RequestKind, Ruling
from supervision.models import Item, OverdueExplanation
from tasks.models import Notification
from tasks.outbox import notifications
from tests.api_helpers import assert_error, client_for
from tests.factories import make_item, upload

pytestmark = pytest.mark.django_db

# Marker strings: each belongs to one unit; the other unit must never read it.
EDU_REASON = "EDU-EXPLANATION-教育局主观原因"
EDU_RULING = "EDU-RULING-教育局问责意见"
ENV_REASON = "ENV-EXPLANATION-环保局客观原因"
EDU_REQUEST = "EDU-REQUEST-教育局延期理由"
EDU_EVIDENCE = b"%PDF-1.4\nEDU-EVIDENCE-bytes\n"


@pytest.fixture
def case(world):
    """An overdue item (lead 县教育局, supporting 县环保局): both explanations filed, the lead's
    ruled accountability (so referred to 纪检), and the lead's extension request with evidence."""
    item = make_item(
        ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, supporting_units=[world.env], owner=world.edu_handler
    )
    evidence = upload(world.edu_handler, content=EDU_EVIDENCE, name="edu.pdf")
    request = services.item_request_create(
        actor=world.edu_handler,
        item=item,
        kind=RequestKind.EXTENSION,
        reason=EDU_REQUEST,
        requested_deadline=item.deadline + datetime.timedelta(days=30),
        attachment_ids=[evidence.pk],
    )
    past = timezone.localdate() - datetime.timedelta(days=5)
    Item.objects.filter(pk=item.pk).update(deadline=past, original_deadline=past)
    item = Item.objects.get(pk=item.pk)
    services.overdue_explanations_open(item=item)
    edu_row = OverdueExplanation.objects.get(item=item, unit=world.edu)
    env_row = OverdueExplanation.objects.get(item=item, unit=world.env)
    services.overdue_explanation_submit(
        actor=world.edu_handler, explanation=edu_row, reason_kind=ReasonKind.SUBJECTIVE, text=EDU_REASON
    )
    services.overdue_explanation_submit(
        actor=world.env_handler, explanation=env_row, reason_kind=ReasonKind.OBJECTIVE, text=ENV_REASON
    )
    services.overdue_explanation_endorse(actor=world.edu_head, explanation=edu_row)
    services.overdue_explanation_rule(actor=world.office, explanation=edu_row, ruling=Ruling.ACCOUNTABILITY, comment=EDU_RULING)
    world.item, world.request, world.evidence = item, request, evidence
    return world


def texts(response) -> str:
    return response.content.decode()


# --- finding 1: history and referrals ----------------------------------------------------------


def test_history_hides_the_other_units_explanation_and_ruling(case):
    env = client_for(case.env_handler)
    r = env.get(f"/api/v1/items/{case.item.pk}/history/?page_size=100")
    assert r.status_code == 200
    body = texts(r)
    for marker in (EDU_REASON, EDU_RULING, EDU_REQUEST):
        assert marker not in body
    assert ENV_REASON in body  # its own explanation stays in its history
    actions = [e["action"] for e in r.json()["results"]]
    assert "item_referred" not in actions and "overdue_explanation_accountability" not in actions

    # The lead unit sees its own explanation and ruling, not the supporting unit's reason.
    edu_body = texts(client_for(case.edu_handler).get(f"/api/v1/items/{case.item.pk}/history/?page_size=100"))
    assert EDU_REASON in edu_body and EDU_RULING in edu_body and ENV_REASON not in edu_body

    # The office and the referred department see everything.
    for user in (case.office, case.discipline):
        whole = texts(client_for(user).get(f"/api/v1/items/{case.item.pk}/history/?page_size=100"))
        assert all(m in whole for m in (EDU_REASON, EDU_RULING, ENV_REASON, EDU_REQUEST))


def test_referrals_follow_the_explanations_rule(case):
    r = client_for(case.env_handler).get(f"/api/v1/items/{case.item.pk}/referrals/")
    assert r.status_code == 200
    assert r.json()["count"] == 0 and EDU_RULING not in texts(r)
    edu = client_for(case.edu_handler).get(f"/api/v1/items/{case.item.pk}/referrals/")
    assert edu.json()["count"] == 1 and EDU_RULING in texts(edu)
    assert client_for(case.discipline).get(f"/api/v1/items/{case.item.pk}/referrals/").json()["count"] == 1
    # The explanation list embeds referrals: the supporting unit's own row carries none of the lead's.
    rows = client_for(case.env_handler).get(f"/api/v1/explanations/?item={case.item.pk}").json()["results"]
    assert [row["unit"]["id"] for row in rows] == [case.env.pk]
    assert EDU_RULING not in str(rows)


# --- finding 2: requests and their evidence ----------------------------------------------------


def test_supporting_unit_does_not_read_the_leads_requests(case):
    env = client_for(case.env_handler)
    listed = env.get(f"/api/v1/items/{case.item.pk}/requests/")
    assert listed.status_code == 200 and listed.json()["count"] == 0
    assert EDU_REQUEST not in texts(listed)
    assert env.get("/api/v1/requests/").json()["count"] == 0
    assert_error(env.get(f"/api/v1/requests/{case.request.pk}/"), 404, code="not_found")
    assert_error(env.get(f"/api/v1/attachments/{case.evidence.pk}/"), 404, code="not_found")
    assert_error(env.get(f"/api/v1/attachments/{case.evidence.pk}/download/"), 404, code="not_found")

    edu = client_for(case.edu_head)  # same unit, not the requester
    assert edu.get(f"/api/v1/requests/{case.request.pk}/").status_code == 200
    assert edu.get(f"/api/v1/attachments/{case.evidence.pk}/download/").status_code == 200


def test_office_may_let_a_supporting_unit_see_all_records(case):
    services.assignment_set_report_access(actor=case.office, item=case.item, unit=case.env, may_view_all_reports=True)
    env = client_for(case.env_handler)
    assert env.get(f"/api/v1/requests/{case.request.pk}/").status_code == 200
    assert env.get(f"/api/v1/attachments/{case.evidence.pk}/download/").status_code == 200


# --- finding 7: the inbox ----------------------------------------------------------------------


def test_inbox_entry_drops_out_when_the_item_is_raised_above_clearance(world):
    item = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, title="INBOX-MARKER")
    notifications.notification_send(
        recipients=[world.edu_handler], title="催办：INBOX-MARKER", body="请反馈", kind="reminder", dedup_key="k1", item=item
    )
    notifications.notification_send(recipients=[world.edu_handler], title="系统通知", body="", kind="system", dedup_key="k2")
    message = Notification.objects.get(dedup_key="k1")
    client = client_for(world.edu_handler)
    unread = client.get("/api/v1/inbox/unread-count/").json()["unread"]
    listed_before = client.get("/api/v1/inbox/").json()["count"]
    hidden = Notification.objects.filter(recipient=world.edu_handler, item=item, read_at__isnull=True).count()
    assert unread >= 2 and hidden >= 1
    assert client.get(f"/api/v1/inbox/{message.pk}/").status_code == 200

    # Raised to 秘密 (the services now refuse it while the owner is cleared lower; a reassignment
    # would come first — the row is changed directly to keep the test about the inbox).
    Item.objects.filter(pk=item.pk).update(classification=Classification.SECRET)
    assert client.get(f"/api/v1/items/{item.pk}/").status_code == 404
    assert_error(client.get(f"/api/v1/inbox/{message.pk}/"), 404, code="not_found")
    assert_error(client.post(f"/api/v1/inbox/{message.pk}/read/"), 404, code="not_found")
    listed = client.get("/api/v1/inbox/")
    assert listed.json()["count"] == listed_before - hidden and "INBOX-MARKER" not in texts(listed)
    assert client.get("/api/v1/inbox/unread-count/").json()["unread"] == unread - hidden
    assert client.post("/api/v1/inbox/read-all/").json()["marked"] == unread - hidden
    assert Notification.objects.get(pk=message.pk).read_at is None
