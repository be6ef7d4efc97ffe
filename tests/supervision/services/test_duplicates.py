"""Duplicate matters (issue 15, DOMAIN.md rule 12): candidates at registration (API: 409 or the dry
run), 疑似重复 at OA intake and Excel import, confirm/dismiss by the office, dismissals remembered."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.choices import Classification
from supervision import services
from supervision.choices import ItemStatus, SuspicionSource, SuspicionStatus
from supervision.errors import NotPermitted, NotVisible, TransitionNotAllowed
from supervision.models import AuditEvent, DuplicateSuspicion, Item, ItemLink, ItemSignature
from tests.api_helpers import CJK, assert_error, client_for
from tests.factories import make_instruction, make_item

TITLE = "城北河道综合整治工程"
REQUIREMENT = "年底前完成城北河道清淤疏浚和护岸建设，消除黑臭水体"


@pytest.fixture
def w(world):
    world.instruction = make_instruction(office=world.office, document_number="县委办〔2026〕21号")
    return world


def existing(w, state=ItemStatus.IN_PROGRESS, **fields) -> Item:
    fields.setdefault("title", TITLE)
    fields.setdefault("requirement", REQUIREMENT)
    fields.setdefault("owner", w.env_handler)
    return make_item(state, office=w.office, lead_unit=w.env, **fields)


def register_fields(w, **changes) -> dict:
    fields = {
        "instruction": w.instruction,
        "title": "加快推进城北河道整治",
        "requirement": "清淤疏浚城北河道，年底前消除黑臭水体",
        "lead_unit": w.env,
        "owner": w.env_handler,
        "deadline": timezone.localdate() + datetime.timedelta(days=20),
    }
    fields.update(changes)
    return fields


# ---------------------------------------------------------------------------------------------
# Signatures and the lookup


def test_item_services_store_and_refresh_the_signature(w):
    item = existing(w, ItemStatus.DRAFT)
    stored = ItemSignature.objects.get(item=item)
    assert stored.lead_unit_id == w.env.pk and "城" in stored.chars
    services.item_update(actor=w.office, item=item, title="城南河道综合整治工程")
    assert ItemSignature.objects.get(item=item).computed_at > stored.computed_at
    assert "南" in ItemSignature.objects.get(item=item).chars


def test_candidates_same_unit_same_matter_with_readable_reason(w):
    old = existing(w)
    found = services.duplicate_candidates(
        user=w.office,
        **{k: v for k, v in register_fields(w).items() if k in ("title", "requirement", "lead_unit", "instruction")},
    )
    assert [c.item.pk for c in found] == [old.pk]
    assert found[0].score >= 0.62
    assert found[0].reason.startswith("同一牵头单位")
    assert "相似度" in found[0].reason and CJK.search(found[0].reason)


def test_other_place_other_unit_and_old_closed_items_are_not_candidates(w, settings):
    existing(w, title="城南河道综合整治工程", requirement="年底前完成城南河道清淤疏浚和护岸建设")  # another place
    make_item(ItemStatus.IN_PROGRESS, office=w.office, lead_unit=w.edu, owner=w.edu_handler, title=TITLE)  # another unit
    closed = existing(w, ItemStatus.CLOSED)
    fields = {"title": TITLE, "requirement": REQUIREMENT, "lead_unit": w.env}
    # Closed within the window: still a candidate; outside it: not.
    assert [c.item.pk for c in services.duplicate_candidates(user=w.office, **fields)] == [closed.pk]
    Item.objects.filter(pk=closed.pk).update(closed_at=timezone.now() - datetime.timedelta(days=200))
    assert services.duplicate_candidates(user=w.office, **fields) == []


def test_lookup_only_sees_what_the_caller_may_see(w):
    # 秘密: above office_low's clearance. Its owner must be cleared for it (guards.py), so the
    # unit's head (秘密) owns it, not its handler (内部).
    secret = existing(w, ItemStatus.ASSIGNED, classification=Classification.SECRET, owner=w.env_head)
    fields = {"title": TITLE, "requirement": REQUIREMENT, "lead_unit": w.env}
    assert [c.item.pk for c in services.duplicate_candidates(user=w.office, **fields)] == [secret.pk]
    assert services.duplicate_candidates(user=w.office_low, **fields) == []


def test_items_without_a_stored_signature_get_one_when_first_looked_at(w):
    old = existing(w)
    ItemSignature.objects.filter(item=old).delete()
    found = services.duplicate_candidates(user=w.office, title=TITLE, requirement=REQUIREMENT, lead_unit=w.env)
    assert [c.item.pk for c in found] == [old.pk]
    assert ItemSignature.objects.filter(item=old).exists()


# ---------------------------------------------------------------------------------------------
# Registration


def test_registration_refuses_a_possible_duplicate_until_confirmed(w):
    old = existing(w)
    before = Item.objects.count()
    with pytest.raises(services.PossibleDuplicate) as caught:
        services.item_register(actor=w.office, **register_fields(w))
    assert caught.value.status_code == 409 and caught.value.code == "possible_duplicate"
    assert [c["id"] for c in caught.value.extra["candidates"]] == [old.pk]
    assert Item.objects.count() == before
    item = services.item_register(actor=w.office, confirm_not_duplicate=True, **register_fields(w))
    # The answer is remembered: the pair is dismissed, by the office, and never raised again.
    pair = DuplicateSuspicion.objects.get(item=item, candidate=old)
    assert pair.status == SuspicionStatus.DISMISSED and pair.decided_by == w.office
    assert AuditEvent.objects.filter(item=item, action="duplicate_dismissed_at_registration").exists()
    assert services.candidates_for_item(user=w.office, item=item) == []


def test_registration_of_a_distinct_matter_passes_without_confirmation(w):
    existing(w)
    item = services.item_register(actor=w.office, **register_fields(w, title="城南河道综合整治工程", requirement="城南河道清淤"))
    assert item.pk and not DuplicateSuspicion.objects.filter(item=item).exists()


def test_api_409_with_candidates_then_201_when_confirmed_and_a_dry_run(w):
    old = existing(w)
    client = client_for(w.office)
    body = {
        "instruction_id": w.instruction.pk,
        "title": "加快推进城北河道整治",
        "requirement": "清淤疏浚城北河道，年底前消除黑臭水体",
        "lead_unit_id": w.env.pk,
    }
    check = client.post("/api/v1/items/duplicate-check/", body, format="json")
    assert check.status_code == 200, check.content
    assert [c["id"] for c in check.json()["candidates"]] == [old.pk]
    assert check.json()["candidates"][0]["reason"].startswith("同一牵头单位")
    refused = client.post("/api/v1/items/", body, format="json")
    assert refused.status_code == 409, refused.content
    data = refused.json()
    assert data["code"] == "possible_duplicate" and CJK.search(data["detail"])
    assert data["candidates"][0]["code"] == old.code and data["candidates"][0]["score"] >= 0.62
    created = client.post("/api/v1/items/", {**body, "confirm_not_duplicate": True}, format="json")
    assert created.status_code == 201, created.content
    # Only the office registers or checks.
    unit_body = {k: v for k, v in body.items() if k != "instruction_id"}
    assert_error(client_for(w.env_handler).post("/api/v1/items/duplicate-check/", unit_body, format="json"), 403)


# ---------------------------------------------------------------------------------------------
# Intake and import: accepted, marked 疑似重复


def test_intake_accepts_the_item_and_marks_it_suspected(w):
    from supervision.exchange import intake

    old = existing(w)
    raw = {
        "title": "市里转来的城北河道整治交办件",
        "kind": "assigned_from_above",
        "issuer_name": "市委督查室",
        "issued_on": (timezone.localdate() - datetime.timedelta(days=2)).isoformat(),
        "text": "请抓紧整治城北河道。",
        "items": [{"external_id": "OA-77-1", "title": "城北河道综合整治", "requirement": REQUIREMENT, "lead_unit": w.env.pk}],
    }
    payload = intake.IntakePayload(
        external_id="OA-77",
        digest=intake.payload_digest(raw),
        instruction={**raw, "issued_on": datetime.date.fromisoformat(raw["issued_on"]), "items": None},
        items=raw["items"],
    )
    outcome = intake.instruction_intake(actor=w.office, payload=payload)
    new = outcome.record.items.get().item
    suspicion = DuplicateSuspicion.objects.get(item=new)
    assert suspicion.candidate == old and suspicion.status == SuspicionStatus.PENDING
    assert suspicion.source == SuspicionSource.INTAKE and suspicion.reason_text.startswith("同一牵头单位")
    assert AuditEvent.objects.get(action="duplicate_suspected").data["item_id"] == new.pk


def test_import_accepts_rows_and_marks_duplicates_in_constant_queries(w):
    from tests.supervision.exchange.test_importer import row, run, workbook

    old = existing(w)
    rows = [
        row(title="城北河道综合整治", lead_unit="县环保局", owner="env_handler", status="已交办", supporting_units=None),
        row(title="县一中食堂改造", lead_unit="县教育局", owner="edu_handler", status="已交办", supporting_units=None),
    ]
    result = run(w.office, workbook(rows))
    assert result.ok, result.errors
    suspected = DuplicateSuspicion.objects.get(source=SuspicionSource.IMPORT)
    assert suspected.candidate == old and suspected.item.title == "城北河道综合整治"
    assert DuplicateSuspicion.objects.filter(source=SuspicionSource.IMPORT).count() == 1


# ---------------------------------------------------------------------------------------------
# The office decides


def raised(w) -> DuplicateSuspicion:
    old = existing(w)
    new = existing(w, ItemStatus.ASSIGNED, title="城北河道综合整治", instruction=make_instruction(office=w.office))
    services.suspicions_raise(actor=w.office, items=[new], source=SuspicionSource.IMPORT)
    return DuplicateSuspicion.objects.get(item=new, candidate=old)


def test_dismissal_is_audited_and_remembered(w):
    suspicion = raised(w)
    services.suspicion_decide(actor=w.office, suspicion=suspicion, confirm=False, comment="两处不同河段")
    suspicion.refresh_from_db()
    assert suspicion.status == SuspicionStatus.DISMISSED and suspicion.decided_by == w.office and suspicion.decided_at
    assert AuditEvent.objects.filter(item=suspicion.item, action="duplicate_dismissed").exists()
    # Raised again (a later import of the same item): nothing new, in either order.
    assert services.suspicions_raise(actor=w.office, items=[suspicion.item], source=SuspicionSource.IMPORT) == []
    assert services.suspicions_raise(actor=w.office, items=[suspicion.candidate], source=SuspicionSource.IMPORT) == []
    with pytest.raises(IntegrityError), transaction.atomic():
        DuplicateSuspicion.objects.create(item=suspicion.candidate, candidate=suspicion.item, score=1, source="import")
    with pytest.raises(TransitionNotAllowed):
        services.suspicion_decide(actor=w.office, suspicion=suspicion, confirm=True)


def test_confirmation_merges_nothing_unless_asked_and_may_link(w):
    suspicion = raised(w)
    services.suspicion_decide(actor=w.office, suspicion=suspicion, confirm=True)
    assert DuplicateSuspicion.objects.get(pk=suspicion.pk).status == SuspicionStatus.CONFIRMED
    assert not ItemLink.objects.exists()
    DuplicateSuspicion.objects.filter(pk=suspicion.pk).update(status=SuspicionStatus.PENDING)
    services.suspicion_decide(actor=w.office, suspicion=suspicion, confirm=True, link=True)
    link = ItemLink.objects.get()
    assert link.item == suspicion.item and link.lead == suspicion.candidate and link.count_once


def test_only_the_office_decides_and_units_do_not_see_the_queue(w):
    suspicion = raised(w)
    with pytest.raises(NotPermitted):
        services.suspicion_decide(actor=w.env_handler, suspicion=suspicion, confirm=False)
    with pytest.raises(NotVisible):
        services.suspicion_decide(actor=w.office_low, suspicion=DuplicateSuspicion(pk=10**9), confirm=False)
    assert client_for(w.env_handler).get("/api/v1/duplicate-suspicions/").json()["count"] == 0


def test_api_queue_confirm_and_dismiss(w):
    suspicion = raised(w)
    client = client_for(w.office)
    queue = client.get("/api/v1/duplicate-suspicions/?status=pending").json()
    assert [s["id"] for s in queue["results"]] == [suspicion.pk]
    assert queue["results"][0]["reason"].startswith("同一牵头单位")
    done = client.post(f"/api/v1/duplicate-suspicions/{suspicion.pk}/dismiss/", {"comment": "不同河段"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "dismissed"
    assert_error(
        client.post(f"/api/v1/duplicate-suspicions/{suspicion.pk}/confirm/", {}, format="json"), 409, code="suspicion_decided"
    )
    assert client.get("/api/v1/duplicate-suspicions/?status=pending").json()["count"] == 0
