"""OA intake: instructions and items pushed in under the OA system's own ids (external_id).

Idempotent by the unique constraint (sender, external_id): the same push twice creates nothing
new, a different body under the same id is a 409, a bad push is refused as a whole with every
problem listed, and two identical pushes racing make one record."""

from __future__ import annotations

import copy
import datetime
import json
import threading

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.choices import Classification, IntegrationOperation
from supervision import services
from supervision.choices import InstructionKind, ItemStatus
from supervision.errors import InvalidInput
from supervision.exchange import intake
from supervision.models import AuditEvent, Instruction, IntakeItem, IntakeRecord, Item, ItemAssignment
from supervision.services import integration_client_create
from tests.api_helpers import CJK, assert_error, client_for
from tests.factories import CategoryFactory, UserFactory

URL = "/api/v1/intake/instructions/"


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def issue_key(world, *, name="县委办OA", clearance=Classification.INTERNAL, operations=(IntegrationOperation.INTAKE,)):
    return integration_client_create(
        actor=world.admin, name=name, unit=world.office_unit, operations=list(operations), clearance=clearance
    )


def push_body(world, **changes) -> dict:
    """A push of two items: one registered as a draft, one assigned at once."""
    issued_on = timezone.localdate() - datetime.timedelta(days=3)
    body = {
        "external_id": "OA-2026-0815",
        "title": "关于加快推进校园安全整治的批示",
        "kind": InstructionKind.LEADER_INSTRUCTION,
        "nature": "actionable",
        "issuing_leader": world.leader.pk,
        "document_number": "县委办〔2026〕15号",
        "issued_on": issued_on.isoformat(),
        "text": "请教育局牵头、环保局配合，抓紧整治并按时反馈。",
        "classification": Classification.PUBLIC,
        "items": [
            {
                "external_id": "OA-2026-0815-1",
                "title": "开展校园周边环境排查",
                "requirement": "月底前完成全部学校排查",
                "lead_unit": "县教育局",
                "supporting_units": [world.env.pk],
                "owner": "edu_handler",
                "deadline": (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
                "urgency": "urgent",
                "reporting_cycle": "weekly",
            },
            {
                "external_id": "OA-2026-0815-2",
                "title": "整改排查发现的问题",
                "lead_unit": world.env.pk,
                "owner": world.env_handler.pk,
                "deadline_workdays": 10,
                "assign": True,
            },
        ],
    }
    body.update(changes)
    return body


def counts() -> dict:
    return {
        "instructions": Instruction.objects.count(),
        "items": Item.objects.count(),
        "assignments": ItemAssignment.objects.count(),
        "audit": AuditEvent.objects.count(),
        "records": IntakeRecord.objects.count(),
        "record_items": IntakeItem.objects.count(),
    }


@pytest.fixture
def oa(world):
    return issue_key(world)


@pytest.mark.django_db
def test_first_push_creates_instruction_and_items_through_the_services(world, oa):
    response = key_client(oa.key).post(URL, push_body(world), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    record = IntakeRecord.objects.get()
    assert record.actor == oa.client.user and record.client == oa.client and record.external_id == "OA-2026-0815"
    instruction = record.instruction
    assert body["instruction"]["id"] == instruction.pk
    assert instruction.issuing_leader == world.leader and instruction.created_by == oa.client.user
    assert instruction.document_number == "县委办〔2026〕15号"

    draft, assigned = (Item.objects.get(pk=row["id"]) for row in body["items"])
    assert [row["external_id"] for row in body["items"]] == ["OA-2026-0815-1", "OA-2026-0815-2"]
    assert [row["code"] for row in body["items"]] == [draft.code, assigned.code]
    assert draft.code.startswith(f"DB-{timezone.localdate().year}-")
    # Names resolved: the lead unit by name, the owner by username within it, supporting by id.
    assert draft.status == ItemStatus.DRAFT and draft.lead_unit == world.edu and draft.owner == world.edu_handler
    assert set(draft.assignments.values_list("unit_id", "role")) == {(world.edu.pk, "lead"), (world.env.pk, "supporting")}
    assert draft.urgency == "urgent" and draft.reporting_cycle == "weekly" and draft.requirement == "月底前完成全部学校排查"
    # assign=true ran item_assign: deadline fixed from working days, light and reminders scheduled.
    assert assigned.status == ItemStatus.ASSIGNED and body["items"][1]["status"] == "assigned"
    assert assigned.deadline is not None and assigned.deadline > timezone.localdate()
    assert assigned.original_deadline == assigned.deadline and assigned.warning_date is not None
    assert assigned.next_reminder_at is not None
    assert body["items"][1]["light"] in ("green", "yellow")

    actions = list(AuditEvent.objects.filter(actor=oa.client.user).order_by("seq").values_list("action", flat=True))
    assert actions == ["instruction_created", "item_created", "item_created", "item_assigned", "instruction_intake"]
    intake_event = AuditEvent.objects.get(action="instruction_intake")
    assert intake_event.data["items"] == {"OA-2026-0815-1": draft.code, "OA-2026-0815-2": assigned.code}
    assert intake_event.data["client_id"] == oa.client.pk


@pytest.mark.django_db
def test_identical_retry_returns_the_same_record_and_creates_nothing(world, oa):
    api = key_client(oa.key)
    first = api.post(URL, push_body(world), format="json")
    assert first.status_code == 201
    before = counts()

    again = api.post(URL, push_body(world), format="json")
    # The same JSON written differently (key order, spacing) is still the same push.
    reordered = json.dumps(dict(reversed(list(push_body(world).items()))), indent=2, ensure_ascii=False)
    third = api.post(URL, reordered, content_type="application/json")

    assert again.status_code == 200 and third.status_code == 200
    assert again.json() == first.json() and third.json() == first.json()
    assert counts() == before


@pytest.mark.django_db
def test_a_different_body_under_the_same_external_id_is_a_conflict_and_changes_nothing(world, oa):
    api = key_client(oa.key)
    first = api.post(URL, push_body(world), format="json").json()
    before = counts()

    response = api.post(URL, push_body(world, title="另一件批示"), format="json")

    body = assert_error(response, 409, code="external_id_conflict")
    assert "OA-2026-0815" in body["detail"]
    assert counts() == before
    assert Instruction.objects.get(pk=first["instruction"]["id"]).title == "关于加快推进校园安全整治的批示"


@pytest.mark.django_db
def test_every_problem_is_listed_at_once_and_nothing_is_stored(world, oa):
    before = counts()
    body = push_body(world, kind="rumour", classification=Classification.SECRET, issuing_leader=999999, colour="red")
    del body["title"]
    items = body["items"]
    items[0].update(lead_unit="县不存在局", deadline_workdays=5)  # unknown unit; date and workdays both
    items[1].update(owner=world.edu_handler.pk, deadline="2000-01-01", lead_unit_id=3)  # owner of another unit
    del items[1]["deadline_workdays"]
    items.append(
        {"external_id": "OA-2026-0815-1", "title": "重复编号", "lead_unit": "县环保局", "supporting_units": ["县环保局", 0]}
    )
    items.append({"title": "", "deadline": "不是日期", "urgency": "whenever"})

    response = key_client(oa.key).post(URL, body, format="json")

    error = assert_error(response, 400, code="invalid")
    fields = error["fields"]
    expected = {
        "title",  # required
        "kind",  # not a choice
        "classification",  # above the key's clearance (内部)
        "issuing_leader",  # no such leader
        "colour",  # unknown field
        "items[0].lead_unit",
        "items[0].deadline_workdays",
        "items[1].owner",
        "items[1].deadline",  # before the instruction was issued
        "items[1].lead_unit_id",  # unknown field (a typo must not be ignored silently)
        "items[2].external_id",  # duplicate within the instruction
        "items[2].supporting_units",  # same as the lead unit
        "items[2].supporting_units[1]",  # not an id or a name
        "items[3].external_id",  # required
        "items[3].title",
        "items[3].deadline",
        "items[3].urgency",
    }
    assert expected <= set(fields), sorted(set(fields))
    assert all(CJK.search(message) for messages in fields.values() for message in messages), fields
    assert "县不存在局" in fields["items[0].lead_unit"][0]
    assert "items[0]" in fields["items[2].external_id"][0]
    assert "内部" in fields["classification"][0] and "对接系统" in fields["classification"][0]
    assert counts() == before


@pytest.mark.django_db
def test_unknown_leader_name_is_kept_as_external_issuer_and_known_one_is_linked(world, oa):
    api = key_client(oa.key)
    outside = api.post(URL, push_body(world, external_id="A-1", issuing_leader="市委李书记", items=[]), format="json")
    inside = api.post(URL, push_body(world, external_id="A-2", issuing_leader=world.leader.full_name, items=[]), format="json")

    assert outside.status_code == 201 and inside.status_code == 201
    external = Instruction.objects.get(pk=outside.json()["instruction"]["id"])
    assert external.issuing_leader is None and external.issuer_name == "市委李书记"
    assert Instruction.objects.get(pk=inside.json()["instruction"]["id"]).issuing_leader == world.leader


@pytest.mark.django_db
def test_owner_by_name_must_be_in_the_lead_unit_and_unambiguous(world, oa):
    UserFactory(username="edu_twin", full_name="王芳", unit=world.edu)
    UserFactory(username="edu_twin2", full_name="王芳", unit=world.edu)
    namesake = UserFactory(username="env_wang", full_name="李强", unit=world.env)
    body = push_body(world)
    body["items"][0]["owner"] = "王芳"
    body["items"][1].update(owner="李强", lead_unit="县环保局")

    response = key_client(oa.key).post(URL, body, format="json")
    fields = assert_error(response, 400, field="items[0].owner")["fields"]
    assert "多名" in fields["items[0].owner"][0]
    assert "items[1].owner" not in fields  # 李强 is in 县环保局: found by name

    body["items"][0]["owner"] = "李强"  # exists, but not in 县教育局
    fields = assert_error(key_client(oa.key).post(URL, body, format="json"), 400, field="items[0].owner")["fields"]
    assert "县教育局" in fields["items[0].owner"][0]

    body["items"][0]["owner"] = "edu_handler"
    assert key_client(oa.key).post(URL, body, format="json").status_code == 201
    assert Item.objects.get(intake__external_id="OA-2026-0815-2").owner == namesake


@pytest.mark.django_db
def test_a_client_may_not_push_above_its_service_accounts_clearance(world, oa):
    body = push_body(world)
    body["items"][1]["classification"] = Classification.SECRET

    response = key_client(oa.key).post(URL, body, format="json")

    fields = assert_error(response, 400, field="items[1].classification")["fields"]
    assert "秘密" in fields["items[1].classification"][0] and "内部" in fields["items[1].classification"][0]
    assert not IntakeRecord.objects.exists()
    # A client cleared for 秘密 may push it, to an owner cleared for it too.
    cleared = issue_key(world, name="保密OA", clearance=Classification.SECRET)
    fields = assert_error(key_client(cleared.key).post(URL, body, format="json"), 400, field="items[1].owner")["fields"]
    assert "env_handler" in fields["items[1].owner"][0] and "秘密" in fields["items[1].owner"][0]
    body["items"][1]["owner"] = world.env_head.pk
    assert key_client(cleared.key).post(URL, body, format="json").status_code == 201
    assert Item.objects.get(intake__external_id="OA-2026-0815-2").classification == Classification.SECRET


@pytest.mark.django_db
def test_a_refusal_from_a_service_midway_rolls_the_whole_push_back(world, oa, monkeypatch):
    """Our checks run first, but the services have the last word: if one still refuses, nothing
    of the push stays (the first instruction and item were already written in the transaction)."""
    real_assign = services.item_assign

    def refusing_assign(**kwargs):
        real_assign(**kwargs)
        raise InvalidInput(fields={"owner_id": ["责任人今天不在岗。"]})

    monkeypatch.setattr(services, "item_assign", refusing_assign)
    before = counts()

    response = key_client(oa.key).post(URL, push_body(world), format="json")

    assert assert_error(response, 400)["fields"] == {"items[1].owner": ["责任人今天不在岗。"]}
    assert counts() == before


@pytest.mark.django_db
def test_office_staff_may_push_with_a_token_others_may_not(world, oa):
    response = client_for(world.office).post(URL, push_body(world), format="json")
    assert response.status_code == 201
    assert IntakeRecord.objects.get().actor == world.office
    # Ids are per sender: the OA system's own "OA-2026-0815" is a different push.
    assert key_client(oa.key).post(URL, push_body(world), format="json").status_code == 201
    assert IntakeRecord.objects.count() == 2

    assert_error(client_for(world.edu_handler).post(URL, push_body(world, external_id="X"), format="json"), 403)
    reader = issue_key(world, name="只读OA", operations=[IntegrationOperation.READ_LEDGER])
    assert_error(key_client(reader.key).post(URL, push_body(world, external_id="Y"), format="json"), 403)
    assert IntakeRecord.objects.count() == 2


@pytest.mark.django_db
def test_the_sender_polls_its_push_for_codes_and_current_statuses(world, oa):
    api = key_client(oa.key)
    pushed = api.post(URL, push_body(world), format="json").json()
    assigned = Item.objects.get(pk=pushed["items"][1]["id"])
    services.item_acknowledge(actor=world.env_handler, item=assigned)

    response = api.get(f"{URL}OA-2026-0815/")

    assert response.status_code == 200
    body = response.json()
    assert body["external_id"] == "OA-2026-0815" and body["instruction"]["id"] == pushed["instruction"]["id"]
    assert [(row["external_id"], row["code"]) for row in body["items"]] == [
        (row["external_id"], row["code"]) for row in pushed["items"]
    ]
    assert body["items"][1]["status"] == "acknowledged" and body["items"][1]["status_display"] == "已签收"
    # Another sender's id space is its own: absent, not forbidden.
    other = issue_key(world, name="乡镇OA")
    assert_error(key_client(other.key).get(f"{URL}OA-2026-0815/"), 404)
    assert_error(api.get(f"{URL}OA-none/"), 404)


@pytest.mark.django_db
def test_categories_by_name_default_from_the_instruction(world, oa):
    CategoryFactory(name="民生实事")
    safety = CategoryFactory(name="安全生产")
    body = push_body(world, category="民生实事")
    body["items"][1]["category"] = safety.pk

    response = key_client(oa.key).post(URL, body, format="json")

    assert response.status_code == 201
    first, second = (Item.objects.get(pk=row["id"]) for row in response.json()["items"])
    assert first.category.name == "民生实事" and second.category == safety


@pytest.mark.django_db
def test_the_unique_constraint_decides_when_the_lookup_missed_the_twin(world, oa, monkeypatch):
    """The lookup before validation is only a shortcut: a push that missed its committed twin
    (they raced) is stopped by the constraint and answers with the twin's record."""
    api = key_client(oa.key)
    first = api.post(URL, push_body(world), format="json").json()
    before = counts()
    real_record_of = intake._record_of
    calls = []

    def missing_once(actor, external_id):
        calls.append(external_id)
        return None if len(calls) == 1 else real_record_of(actor, external_id)

    monkeypatch.setattr(intake, "_record_of", missing_once)

    again = api.post(URL, push_body(world), format="json")
    conflict = api.post(URL, push_body(world, title="另一件"), format="json")

    assert again.status_code == 200 and again.json() == first
    assert len(calls) >= 2  # missed, then read the winner after the constraint refused the insert
    assert_error(conflict, 409, code="external_id_conflict")
    assert counts() == before


# ---------------------------------------------------------------------------------------------
# Races: real threads, each with its own database connection


def _post_in_threads(key: str, bodies: list[dict]) -> list:
    barrier = threading.Barrier(len(bodies))
    results: list = [None] * len(bodies)

    def push(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = key_client(key).post(URL, bodies[index], format="json")
        finally:
            connection.close()

    threads = [threading.Thread(target=push, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_identical_pushes_racing_make_one_record(world):

    oa = issue_key(world)
    body = push_body(world)

    results = _post_in_threads(oa.key, [body, copy.deepcopy(body), copy.deepcopy(body)])

    assert sorted(r.status_code for r in results) == [200, 200, 201]
    assert IntakeRecord.objects.count() == 1 and Instruction.objects.count() == 1 and Item.objects.count() == 2
    assert len({r.json()["instruction"]["id"] for r in results}) == 1
    assert AuditEvent.objects.filter(action="instruction_intake").count() == 1


@pytest.mark.django_db(transaction=True)
def test_different_pushes_racing_under_one_id_make_one_record_and_a_conflict(world):
    oa = issue_key(world)

    results = _post_in_threads(oa.key, [push_body(world), push_body(world, title="同号不同文")])

    assert sorted(r.status_code for r in results) == [201, 409]
    assert IntakeRecord.objects.count() == 1 and Instruction.objects.count() == 1
    loser = next(r for r in results if r.status_code == 409)
    assert loser.json()["code"] == "external_id_conflict"


@pytest.mark.django_db
def test_dates_beyond_the_ledgers_range_are_400_not_500(world, oa):
    body = push_body(world, issued_on="0001-01-01")
    body["items"][1]["deadline"] = "9999-12-31"
    del body["items"][1]["deadline_workdays"]
    before = counts()
    fields = assert_error(key_client(oa.key).post(URL, body, format="json"), 400, code="invalid")["fields"]
    assert {"issued_on", "items[1].deadline"} <= set(fields), fields
    assert counts() == before


@pytest.mark.django_db
def test_the_admin_lists_pushes_read_only(world, oa, client):
    assert key_client(oa.key).post(URL, push_body(world), format="json").status_code == 201
    record = IntakeRecord.objects.get()
    client.force_login(world.admin)
    listing = client.get("/admin/supervision/intakerecord/")
    assert listing.status_code == 200 and "OA-2026-0815" in listing.content.decode()
    page = client.get(f"/admin/supervision/intakerecord/{record.pk}/change/")
    assert page.status_code == 200 and "OA-2026-0815-1" in page.content.decode()
    assert client.post(f"/admin/supervision/intakerecord/{record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert IntakeRecord.objects.filter(pk=record.pk).exists()
