"""Duplicate matters on the pages (减负, issue 15, DOMAIN.md rule 12), with Django's test client:
registration (批示件登记 + 分解立项) shows the items that may be the same matter under the row
concerned and saves nothing until the row is confirmed another matter; the live check shows the
same while typing; the office's 疑似重复 queue confirms (and may merge, 合并督办) or dismisses, each
through services.suspicion_decide with its audit events, and a stale decision is a Chinese 409."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from supervision import services
from supervision.choices import ItemStatus, SuspicionSource, SuspicionStatus
from supervision.models import AuditEvent, DuplicateSuspicion, Instruction, Item, ItemLink
from tests.api_helpers import CJK
from tests.factories import make_instruction, make_item
from tests.supervision.web.test_instructions import registration

pytestmark = pytest.mark.django_db

TITLE = "城北河道综合整治工程"
REQUIREMENT = "年底前完成城北河道清淤疏浚和护岸建设，消除黑臭水体"
CONFIRM_LABEL = "确认不是同一事项，仍然登记"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def existing(world, state=ItemStatus.IN_PROGRESS, **fields) -> Item:
    fields.setdefault("title", TITLE)
    fields.setdefault("requirement", REQUIREMENT)
    return make_item(state, office=world.office, lead_unit=world.env, owner=world.env_handler, **fields)


def river_row(world, **changes) -> dict:
    """An item row for the same matter at the same unit as `existing`."""
    row = {
        "title": "加快推进城北河道整治",
        "requirement": "清淤疏浚城北河道，年底前消除黑臭水体",
        "lead_unit": world.env.pk,
        "owner": world.env_handler.pk,
        "deadline_mode": "date",
        "deadline": (timezone.localdate() + datetime.timedelta(days=20)).isoformat(),
    }
    row.update(changes)
    return row


def school_row(world) -> dict:
    return {
        "title": "校园周边交通整治",
        "lead_unit": world.edu.pk,
        "owner": world.edu_handler.pk,
        "deadline_mode": "date",
        "deadline": (timezone.localdate() + datetime.timedelta(days=20)).isoformat(),
    }


def duplicates_box(html: str, prefix: str) -> str:
    """The row's duplicate box (<div id="items-N-duplicates">…</div>, up to the row's end)."""
    match = re.search(rf'id="{prefix}-duplicates".*?</fieldset>', html, re.S)
    return match.group(0) if match else ""


# ---------------------------------------------------------------------------------------------
# Registration: candidates before saving


def test_registration_with_a_duplicate_shows_its_candidates_and_saves_nothing(world):
    old = existing(world)
    instructions, items, events = Instruction.objects.count(), Item.objects.count(), AuditEvent.objects.count()
    data = registration(world, rows=[school_row(world), river_row(world)], assign="1")
    response = signed_in(world.office).post("/instructions/new/", data)
    assert response.status_code == 409
    html = response.content.decode()
    # The top says which item and why, in Chinese.
    top = re.search(r'id="refusals">(.*?)</div>', html, re.S).group(1)
    assert "第 2 个事项" in top and old.code in top and CONFIRM_LABEL in top
    # Under the second row: the candidate (code linking to its page, title, unit, status, score, reason) and the box.
    box = duplicates_box(html, "items-1")
    assert f'href="/items/{old.pk}/"' in box and old.code in box and TITLE in box
    assert "县环保局" in box and old.get_status_display() in box and "相似度评分" in box
    assert "同一牵头单位" in box and CJK.search(box)
    assert 'name="items-1-confirm_not_duplicate"' in box and CONFIRM_LABEL in box
    assert not re.search(r'name="items-1-confirm_not_duplicate"[^>]*checked', box)
    # The first row (another matter, another unit) shows no candidates.
    assert 'name="items-0-confirm_not_duplicate"' not in duplicates_box(html, "items-0")
    # All or nothing: no instruction, no item, no audit event.
    assert Instruction.objects.count() == instructions and Item.objects.count() == items and AuditEvent.objects.count() == events
    assert not DuplicateSuspicion.objects.exists()


def test_registration_confirmed_not_a_duplicate_saves_and_remembers(world):
    old = existing(world)
    data = registration(world, rows=[school_row(world), river_row(world)], assign="1")
    data["items-1-confirm_not_duplicate"] = "on"
    response = signed_in(world.office).post("/instructions/new/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    instruction = Instruction.objects.get(title=data["title"])
    new = Item.objects.get(instruction=instruction, lead_unit=world.env)
    assert new.status == ItemStatus.ASSIGNED and Item.objects.filter(instruction=instruction).count() == 2
    # The office's answer is remembered: dismissed, by the office, never raised again.
    pair = DuplicateSuspicion.objects.get(item=new, candidate=old)
    assert pair.status == SuspicionStatus.DISMISSED and pair.decided_by == world.office
    assert AuditEvent.objects.filter(item=new, action="duplicate_dismissed_at_registration").exists()
    assert services.candidates_for_item(user=world.office, item=new) == []


def test_registration_without_a_duplicate_needs_no_confirmation(world):
    existing(world)
    data = registration(world, rows=[school_row(world)], draft="1")
    response = signed_in(world.office).post("/instructions/new/", data)
    assert response.status_code == 302
    assert not DuplicateSuspicion.objects.exists()


def test_two_rows_of_one_registration_for_the_same_matter_are_named_by_row(world):
    data = registration(world, rows=[river_row(world), river_row(world, title="城北河道整治工程")], draft="1")
    response = signed_in(world.office).post("/instructions/new/", data)
    assert response.status_code == 409
    box = duplicates_box(response.content.decode(), "items-1")
    # The first row is not saved, so it is named by its row, not linked.
    assert "本次登记的第 1 个事项" in box and "/items/" not in box and CONFIRM_LABEL in box
    assert not Item.objects.exists() and not Instruction.objects.exists()
    data["items-1-confirm_not_duplicate"] = "on"
    assert signed_in(world.office).post("/instructions/new/", data).status_code == 302
    first, second = Item.objects.order_by("id")
    assert DuplicateSuspicion.objects.get(item=second, candidate=first).status == SuspicionStatus.DISMISSED


def test_the_service_names_the_item_and_its_candidates(world):
    """instruction_decompose checks each new item as item_register does: PossibleDuplicate (409)
    naming the item's index, with its candidates; the row confirmed another matter is saved."""
    old = existing(world)
    instruction = make_instruction(office=world.office)
    deadline = timezone.localdate() + datetime.timedelta(days=20)
    rows = [
        {"title": "校园周边交通整治", "lead_unit": world.edu, "owner": world.edu_handler, "deadline": deadline},
        {"title": "加快推进城北河道整治", "lead_unit": world.env, "owner": world.env_handler, "deadline": deadline},
    ]
    with pytest.raises(services.PossibleDuplicate) as caught:
        services.instruction_decompose(actor=world.office, instruction=instruction, items=rows)
    assert caught.value.status_code == 409 and caught.value.code == "possible_duplicate"
    assert caught.value.extra["item_index"] == 1
    assert [(c["id"], c["code"], c["row"]) for c in caught.value.extra["candidates"]] == [(old.pk, old.code, None)]
    assert str(caught.value.message).startswith("第 2 个事项") and CONFIRM_LABEL in str(caught.value.message)
    assert not Item.objects.filter(instruction=instruction).exists()
    rows[1]["confirm_not_duplicate"] = True
    created = services.instruction_decompose(actor=world.office, instruction=instruction, items=rows)
    assert [item.title for item in created] == ["校园周边交通整治", "加快推进城北河道整治"]


def test_decompose_page_checks_each_new_item_too(world):
    old = existing(world)
    instruction = make_instruction(office=world.office)
    items = Item.objects.count()
    data = {
        "classification": str(instruction.classification),
        "instruction": str(instruction.pk),
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "50",
        "draft": "1",
    }
    for key, value in {"urgency": "normal", "reporting_cycle": "none", **river_row(world)}.items():
        data[f"items-0-{key}"] = str(value)
    client = signed_in(world.office)
    page = client.get(f"/instructions/{instruction.pk}/decompose/").content.decode()
    assert f'id="id_instruction" name="instruction" value="{instruction.pk}"' in page
    response = client.post(f"/instructions/{instruction.pk}/decompose/", data)
    assert response.status_code == 409
    box = duplicates_box(response.content.decode(), "items-0")
    assert f'href="/items/{old.pk}/"' in box and CONFIRM_LABEL in box
    assert Item.objects.count() == items
    data["items-0-confirm_not_duplicate"] = "on"
    response = client.post(f"/instructions/{instruction.pk}/decompose/", data)
    assert response.status_code == 302
    new = Item.objects.get(instruction=instruction)
    assert DuplicateSuspicion.objects.get(item=new, candidate=old).status == SuspicionStatus.DISMISSED


def test_live_check_shows_candidates_while_typing_and_saves_nothing(world):
    old = existing(world)
    client = signed_in(world.office)
    items, events = Item.objects.count(), AuditEvent.objects.count()
    params = {
        "items-3-title": "加快推进城北河道整治",
        "items-3-requirement": "清淤疏浚城北河道",
        "items-3-lead_unit": str(world.env.pk),
    }
    response = client.get("/instructions/duplicates/", params, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/items/{old.pk}/"' in html and "同一牵头单位" in html
    assert 'name="items-3-confirm_not_duplicate"' in html and CONFIRM_LABEL in html
    # Another unit, or no unit yet: nothing to show.
    for lead in (str(world.edu.pk), ""):
        quiet = client.get("/instructions/duplicates/", {**params, "items-3-lead_unit": lead}, HTTP_HX_REQUEST="true")
        assert quiet.status_code == 200 and 'name="items-3-confirm_not_duplicate"' not in quiet.content.decode()
    assert Item.objects.count() == items and AuditEvent.objects.count() == events
    # The rows on the form ask for it (htmx).
    form = client.get("/instructions/new/").content.decode()
    assert 'id="items-0-duplicates"' in form and 'hx-get="/instructions/duplicates/"' in form
    # Office only.
    assert signed_in(world.env_handler).get("/instructions/duplicates/", params).status_code == 403


# ---------------------------------------------------------------------------------------------
# The office's queue


def raised(world) -> DuplicateSuspicion:
    """An imported item at the same unit as one on the ledger: 疑似重复, pending."""
    old = existing(world)
    new = existing(world, ItemStatus.ASSIGNED, title="城北河道综合整治", instruction=make_instruction(office=world.office))
    services.suspicions_raise(actor=world.office, items=[new], source=SuspicionSource.IMPORT)
    return DuplicateSuspicion.objects.get(item=new, candidate=old)


def decide(client: Client, suspicion: DuplicateSuspicion, decision: str, comment: str = ""):
    return client.post(
        f"/office/duplicates/{suspicion.pk}/decide/", {f"s{suspicion.pk}-decision": decision, f"s{suspicion.pk}-comment": comment}
    )


def test_queue_lists_both_items_the_reason_and_counts_in_the_tab(world):
    suspicion = raised(world)
    response = signed_in(world.office).get("/office/duplicates/")
    assert response.status_code == 200
    html = response.content.decode()
    row = re.search(rf'data-suspicion-id="{suspicion.pk}".*?</li>', html, re.S).group(0)
    assert f'href="/items/{suspicion.item.pk}/"' in row and f'href="/items/{suspicion.candidate.pk}/"' in row
    assert suspicion.reason_text in row and suspicion.reason_text.startswith("同一牵头单位")
    for label in ("确认重复并合并督办", "确认重复", "不是重复"):
        assert f">{label}</button>" in row
    # The tab, on every office page, with what waits.
    for url in ("/office/duplicates/", "/office/requests/"):
        nav = re.search(r'<nav class="office-nav".*?</nav>', signed_in(world.office).get(url).content.decode(), re.S).group(0)
        assert re.search(r'href="/office/duplicates/"[^>]*>疑似重复 <span class="badge" data-waiting="1">1</span>', nav)


def test_confirm_and_link_merges_the_items_with_audit_events(world):
    suspicion = raised(world)
    client = signed_in(world.office)
    response = decide(client, suspicion, "link", "同一河道，合并督办")
    assert response.status_code == 302 and response["Location"] == "/office/duplicates/"
    suspicion.refresh_from_db()
    assert suspicion.status == SuspicionStatus.CONFIRMED and suspicion.decided_by == world.office
    assert suspicion.comment == "同一河道，合并督办"
    link = ItemLink.objects.get(unlinked_at__isnull=True)
    assert (link.item, link.lead, link.count_once) == (suspicion.item, suspicion.candidate, True)
    actions = set(AuditEvent.objects.filter(item=suspicion.item).values_list("action", flat=True))
    assert {"duplicate_confirmed", "item_linked"} <= actions
    assert AuditEvent.objects.filter(item=suspicion.candidate, action="item_linked_as_lead").exists()
    # Out of the queue; the message says what was done.
    page = client.get("/office/duplicates/").content.decode()
    assert f'data-suspicion-id="{suspicion.pk}"' not in page and "没有待确认的疑似重复事项" in page
    assert "合并督办" in page and suspicion.item.code in page


def test_confirm_only_merges_nothing(world):
    suspicion = raised(world)
    assert decide(signed_in(world.office), suspicion, "confirm").status_code == 302
    suspicion.refresh_from_db()
    assert suspicion.status == SuspicionStatus.CONFIRMED and not ItemLink.objects.exists()
    assert AuditEvent.objects.filter(item=suspicion.item, action="duplicate_confirmed").exists()


def test_dismiss_with_a_comment_is_remembered(world):
    suspicion = raised(world)
    assert decide(signed_in(world.office), suspicion, "dismiss", "两处不同河段").status_code == 302
    suspicion.refresh_from_db()
    assert suspicion.status == SuspicionStatus.DISMISSED and suspicion.comment == "两处不同河段"
    assert not ItemLink.objects.exists()
    event = AuditEvent.objects.get(item=suspicion.item, action="duplicate_dismissed")
    assert event.comment == "两处不同河段"
    # Not raised again, in either order; the queue and its tab are empty.
    assert services.suspicions_raise(actor=world.office, items=[suspicion.item], source=SuspicionSource.IMPORT) == []
    assert services.suspicions_raise(actor=world.office, items=[suspicion.candidate], source=SuspicionSource.INTAKE) == []
    page = signed_in(world.office).get("/office/duplicates/").content.decode()
    assert "没有待确认的疑似重复事项" in page and 'data-waiting="1">1</span>' not in page


def test_a_decision_someone_else_made_first_is_a_chinese_409_not_a_500(world):
    suspicion = raised(world)
    first, second = signed_in(world.office), signed_in(world.office_low)
    assert decide(first, suspicion, "dismiss").status_code == 302
    stale = decide(second, suspicion, "link")
    assert stale.status_code == 409
    html = stale.content.decode()
    top = re.search(r'id="refusals">(.*?)</div>', html, re.S).group(1)
    assert "该疑似重复已处理" in top and CJK.search(top)
    assert not ItemLink.objects.exists()
    assert DuplicateSuspicion.objects.get(pk=suspicion.pk).status == SuspicionStatus.DISMISSED


def test_a_link_the_service_refuses_is_shown_and_nothing_changes(world):
    suspicion = raised(world)
    # The older item was closed meanwhile: it cannot lead a merge (409), and the confirmation is not kept either.
    Item.objects.filter(pk=suspicion.candidate_id).update(status=ItemStatus.CLOSED, closed_at=timezone.now())
    response = decide(signed_in(world.office), suspicion, "link")
    assert response.status_code == 409
    assert "不能合并督办" in re.search(r'id="refusals">(.*?)</div>', response.content.decode(), re.S).group(1)
    assert DuplicateSuspicion.objects.get(pk=suspicion.pk).status == SuspicionStatus.PENDING
    assert not ItemLink.objects.exists()


def test_bad_input_others_and_invisible_records(world):
    suspicion = raised(world)
    client = signed_in(world.office)
    assert decide(client, suspicion, "merge-everything").status_code == 400
    assert DuplicateSuspicion.objects.get(pk=suspicion.pk).status == SuspicionStatus.PENDING
    assert client.post("/office/duplicates/999999/decide/", {"s999999-decision": "dismiss"}).status_code == 404
    for user in (world.env_handler, world.leader):
        assert signed_in(user).get("/office/duplicates/").status_code == 403
        assert decide(signed_in(user), suspicion, "dismiss").status_code == 403
    assert DuplicateSuspicion.objects.get(pk=suspicion.pk).status == SuspicionStatus.PENDING
