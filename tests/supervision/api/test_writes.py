"""The API's write side: a whole lifecycle over HTTP, bad input on every write endpoint (400 with
the field and a Chinese message, nothing written), 403 / 409 / 412, and no 500 for anything a
client can send."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from accounts.choices import Classification, Role, UnitKind
from supervision import services
from supervision.choices import ItemStatus
from supervision.models import AuditEvent, Instruction, Item, ItemRequest, ProgressReport, Referral, ReturnVisit
from tests.api_helpers import assert_error, client_for
from tests.factories import CategoryFactory, UnitFactory, UserFactory, make_instruction, make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(db):
    root = UnitFactory(name="中共测试县委", kind=UnitKind.PARTY_OFFICE)
    office_unit = UnitFactory(name="县委督查室", kind=UnitKind.SUPERVISION_OFFICE, parent=root)
    edu = UnitFactory(name="县教育局", parent=root)
    env = UnitFactory(name="县环保局", parent=root)
    conf = Classification.CONFIDENTIAL
    return {
        "edu": edu,
        "env": env,
        "office": UserFactory(username="office", unit=office_unit, roles=[Role.OFFICE_STAFF], clearance=conf),
        "leader": UserFactory(username="leader", unit=root, roles=[Role.LEADER], clearance=conf),
        "edu_handler": UserFactory(username="edu_h", unit=edu, roles=[Role.UNIT_HANDLER]),
        "edu_head": UserFactory(username="edu_head", unit=edu, roles=[Role.UNIT_HEAD]),
        "env_handler": UserFactory(username="env_h", unit=env, roles=[Role.UNIT_HANDLER]),
        "category": CategoryFactory(name="民生实事"),
    }


def days(n: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=n)).isoformat()


def test_whole_lifecycle_over_http(org):
    office, edu, env = client_for(org["office"]), client_for(org["edu_handler"]), client_for(org["env_handler"])
    r = office.post(
        "/api/v1/instructions/",
        {
            "title": "关于校舍安全的批示",
            "kind": "leader_instruction",
            "nature": "actionable",
            "issuing_leader_id": org["leader"].pk,
            "document_number": "县委办〔2026〕12号",
            "issued_on": days(-3),
            "text": "请教育局牵头排查整改。",
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    instruction_id = r.json()["id"]
    r = office.post(
        "/api/v1/items/",
        {
            "instruction_id": instruction_id,
            "title": "校舍安全隐患排查整改",
            "category_id": org["category"].pk,
            "lead_unit_id": org["edu"].pk,
            "supporting_unit_ids": [org["env"].pk],
            "owner_id": org["edu_handler"].pk,
            "deadline": days(20),
            "urgency": "urgent",
            "reporting_cycle": "weekly",
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    item = r.json()
    assert item["code"].startswith(f"DB-{timezone.localdate().year}-") and item["status"] == "draft"
    assert r["ETag"] == f'"{item["id"]}-1"'
    url = f"/api/v1/items/{item['id']}/"

    assert office.post(url + "assign/", {"comment": "请按时办理"}, format="json").json()["status"] == "assigned"
    assert edu.post(url + "acknowledge/", {}, format="json").json()["status"] == "assigned"  # 环保局 not yet signed
    assert env.post(url + "acknowledge/", {}, format="json").json()["status"] == "acknowledged"
    r = edu.post(url + "reports/", {"kind": "stage", "progress_text": "已排查 12 所学校", "progress": 40}, format="json")
    assert r.status_code == 201
    detail = edu.get(url).json()
    assert detail["status"] == "in_progress" and detail["progress"] == 40

    r = edu.post(
        url + "requests/", {"kind": "extension", "reason": "需等待检测报告", "requested_deadline": days(40)}, format="json"
    )
    assert r.status_code == 201 and r.json()["status"] == "awaiting_endorsement"
    # The unit head signs (rule 14) before the office decides.
    head = client_for(org["edu_head"])
    assert head.post(f"/api/v1/requests/{r.json()['id']}/endorse/", {}, format="json").json()["status"] == "pending"
    r = office.post(f"/api/v1/requests/{r.json()['id']}/decide/", {"approve": True, "comment": "同意"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "approved"
    detail = office.get(url).json()
    assert detail["deadline"] == days(40) and detail["original_deadline"] == days(20) and detail["extension_count"] == 1

    evidence = edu.post("/api/v1/attachments/", {"file": _file("整改验收报告.pdf")}, format="multipart")
    assert evidence.status_code == 201
    r = edu.post(
        url + "requests/",
        {
            "kind": "completion",
            "reason": "已整改完毕",
            "outcome": "12 所学校隐患全部消除",
            "attachment_ids": [evidence.json()["id"]],
        },
        format="json",
    )
    assert r.status_code == 201 and office.get(url).json()["status"] == "pending_review"
    assert head.post(f"/api/v1/requests/{r.json()['id']}/endorse/", {}, format="json").status_code == 200
    r = office.post(f"/api/v1/requests/{r.json()['id']}/decide/", {"approve": True, "comment": "同意销号"}, format="json")
    assert office.get(url).json()["status"] == "closed"
    r = office.post(url + "return-visits/", {"result": "failed", "findings": "回访发现两所学校隐患反弹"}, format="json")
    assert r.status_code == 201
    detail = office.get(url).json()
    assert detail["status"] == "in_progress" and detail["reopen_count"] == 1

    history = office.get(url + "history/", {"page_size": 100}).json()["results"]
    actions = [e["action"] for e in history]
    assert actions == [
        "item_created",
        "item_assigned",
        "item_acknowledged",
        "item_acknowledged",
        "report_filed",
        "extension_requested",
        "extension_endorsed",
        "extension_approved",
        "completion_requested",
        "completion_endorsed",
        "completion_approved",
        "return_visit_failed",
    ]
    assert history[1]["from_status"] == "draft" and history[1]["to_status"] == "assigned"
    # The history speaks Chinese: every action and status has its label.
    assert [e["action_label"] for e in history[5:8]] == ["延期申请：提出", "延期申请：单位负责人签字", "延期申请：督查室批准"]
    assert history[1]["from_status_label"] == "草稿" and history[1]["to_status_label"] == "已交办"
    assert history[1]["actor"]["id"] == org["office"].pk


def _file(name: str, content: bytes = b"%PDF-1.4 evidence"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/pdf")


def _counts():
    return (
        Instruction.objects.count(),
        Item.objects.count(),
        ProgressReport.objects.count(),
        ItemRequest.objects.count(),
        ReturnVisit.objects.count(),
        Referral.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def items(org):
    office = org["office"]
    return {
        "draft": make_item(ItemStatus.DRAFT, office=office, lead_unit=org["edu"], owner=org["edu_handler"]),
        "progress": make_item(ItemStatus.IN_PROGRESS, office=office, lead_unit=org["edu"], owner=org["edu_handler"]),
        "closed": make_item(ItemStatus.CLOSED, office=office, lead_unit=org["edu"], owner=org["edu_handler"]),
    }


BAD_INPUT = [
    # (who, method, path template, body, field)
    (
        "office",
        "post",
        "/api/v1/instructions/",
        {"title": "", "kind": "leader_instruction", "issued_on": "2026-01-01", "text": "x"},
        "title",
    ),
    (
        "office",
        "post",
        "/api/v1/instructions/",
        {"title": "t", "kind": "nonsense", "issued_on": "2026-01-01", "text": "x"},
        "kind",
    ),
    (
        "office",
        "post",
        "/api/v1/instructions/",
        {"title": "t", "kind": "leader_instruction", "issued_on": "2026-13-45", "text": "x"},
        "issued_on",
    ),
    (
        "office",
        "post",
        "/api/v1/instructions/",
        {"title": "t", "kind": "leader_instruction", "issued_on": "2026-01-01", "text": "x", "issuing_leader_id": 999999},
        "issuing_leader_id",
    ),
    (
        "office",
        "post",
        "/api/v1/instructions/",
        {
            "title": "t",
            "kind": "leader_instruction",
            "issued_on": "2026-01-01",
            "text": "x",
            "issuer_name": "市委书记",
            "classification": 9,
        },
        "classification",
    ),
    (
        "office",
        "post",
        "/api/v1/instructions/",
        {"title": "t", "kind": "leader_instruction", "issued_on": "2026-01-01", "text": "x"},
        "issuing_leader",
    ),
    ("office", "patch", "/api/v1/instructions/{instruction}/", {"issued_on": "yesterday"}, "issued_on"),
    ("office", "post", "/api/v1/items/", {"instruction_id": 999999, "title": "t"}, "instruction_id"),
    ("office", "post", "/api/v1/items/", {"instruction_id": "{instruction}", "title": "t", "deadline": "soon"}, "deadline"),
    (
        "office",
        "post",
        "/api/v1/items/",
        {"instruction_id": "{instruction}", "title": "t", "lead_unit_id": "{edu}", "owner_id": "{env_handler}"},
        "owner",
    ),
    (
        "office",
        "post",
        "/api/v1/items/",
        {"instruction_id": "{instruction}", "title": "t", "lead_unit_id": "{edu}", "supporting_unit_ids": ["{edu}"]},
        "supporting_unit_ids",
    ),
    ("office", "post", "/api/v1/items/", {"instruction_id": "{instruction}", "title": "t", "urgency": "whenever"}, "urgency"),
    ("office", "patch", "/api/v1/items/{draft}/", {"supporting_unit_ids": "not-a-list"}, "supporting_unit_ids"),
    ("office", "patch", "/api/v1/items/{draft}/", {"title": ""}, "title"),
    ("office", "post", "/api/v1/items/{draft}/assign/", {"comment": ["not", "text"]}, "comment"),
    ("edu_handler", "post", "/api/v1/items/{progress}/acknowledge/", {"version": "abc"}, "version"),
    ("edu_handler", "post", "/api/v1/items/{progress}/reports/", {"progress_text": ""}, "progress_text"),
    ("edu_handler", "post", "/api/v1/items/{progress}/reports/", {"progress_text": "x", "progress": 101}, "progress"),
    (
        "edu_handler",
        "post",
        "/api/v1/items/{progress}/reports/",
        {"progress_text": "x", "attachment_ids": [999999]},
        "attachment_ids",
    ),
    ("edu_handler", "post", "/api/v1/items/{progress}/requests/", {"kind": "holiday", "reason": "x"}, "kind"),
    ("edu_handler", "post", "/api/v1/items/{progress}/requests/", {"kind": "extension", "reason": "x"}, "requested_deadline"),
    (
        "edu_handler",
        "post",
        "/api/v1/items/{progress}/requests/",
        {"kind": "extension", "reason": "x", "requested_deadline": "2000-01-01"},
        "requested_deadline",
    ),
    (
        "edu_handler",
        "post",
        "/api/v1/items/{progress}/requests/",
        {"kind": "completion", "reason": "x", "outcome": "ok"},
        "attachment_ids",
    ),
    (
        "edu_handler",
        "post",
        "/api/v1/items/{progress}/requests/",
        {"kind": "completion", "reason": "x", "attachment_ids": [1]},
        "outcome",
    ),
    ("office", "post", "/api/v1/items/{closed}/return-visits/", {"result": "maybe", "findings": "x"}, "result"),
    (
        "office",
        "post",
        "/api/v1/items/{closed}/return-visits/",
        {"result": "passed", "findings": "x", "visited_on": "2999-01-01"},
        "visited_on",
    ),
    ("office", "post", "/api/v1/items/{progress}/referrals/", {"department": "police", "reason": "x"}, "department"),
    ("office", "post", "/api/v1/items/{progress}/referrals/", {"department": "discipline", "reason": "  "}, "reason"),
    ("office", "post", "/api/v1/items/{progress}/report-access/", {"unit_id": 999999, "may_view_all_reports": True}, "unit_id"),
    ("office", "post", "/api/v1/items/{progress}/resume/", {"comment": 5}, None),
]


@pytest.mark.parametrize("who,method,path,body,field", BAD_INPUT)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(org, items, who, method, path, body, field):
    instruction = items["draft"].instruction
    ids = {
        "instruction": instruction.pk,
        "edu": org["edu"].pk,
        "env_handler": org["env_handler"].pk,
        **{k: v.pk for k, v in items.items()},
    }

    def fill(value):
        if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
            return ids[value[1:-1]]
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    body = {k: fill(v) for k, v in body.items()}
    path = path.format(**ids)
    before = _counts()
    versions = dict(Item.objects.values_list("pk", "version"))
    response = getattr(client_for(org[who]), method)(path, body, format="json")
    if field is None:
        # resume on an item that is not suspended: the comment is coerced; the state refuses it.
        assert response.status_code in (400, 409)
        assert_error(response, response.status_code)
    else:
        assert_error(response, 400, field=field)
    assert _counts() == before
    assert dict(Item.objects.values_list("pk", "version")) == versions


@pytest.mark.parametrize(
    "payload,content_type",
    [
        ("{not json", "application/json"),
        ("<xml/>", "application/xml"),
        ('["a list"]', "application/json"),
        ("null", "application/json"),
    ],
)
def test_malformed_bodies_are_client_errors_not_500(org, items, payload, content_type):
    client = client_for(org["office"])
    for path in (
        "/api/v1/items/",
        "/api/v1/instructions/",
        f"/api/v1/items/{items['draft'].pk}/assign/",
        f"/api/v1/items/{items['progress'].pk}/referrals/",
    ):
        response = client.generic("POST", path, payload, content_type=content_type)
        assert 400 <= response.status_code < 500, (path, payload, response.status_code)
        assert set(response.json()) == {"code", "detail", "fields"}


def test_non_numeric_and_huge_ids_are_404(org, items):
    client = client_for(org["office"])
    for path in (
        "/api/v1/items/abc/",
        "/api/v1/items/99999999999999999999999/",
        "/api/v1/instructions/1.5/",
        "/api/v1/requests/-1/",
        "/api/v1/attachments/99999999999999999999/download/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"


def test_forbidden_transitions_are_409_with_code(org, items):
    office, edu = client_for(org["office"]), client_for(org["edu_handler"])
    closed, draft = items["closed"], items["draft"]
    body = assert_error(office.post(f"/api/v1/items/{closed.pk}/assign/", {}, format="json"), 409, code="transition_not_allowed")
    assert closed.code in body["detail"] and "已销号" in body["detail"]
    assert_error(edu.post(f"/api/v1/items/{closed.pk}/reports/", {"progress_text": "x"}, format="json"), 409)
    assert_error(
        office.post(f"/api/v1/items/{draft.pk}/return-visits/", {"result": "passed", "findings": "x"}, format="json"), 409
    )
    assert_error(edu.post(f"/api/v1/items/{closed.pk}/acknowledge/", {}, format="json"), 409)
    assert_error(
        office.patch(f"/api/v1/items/{items['progress'].pk}/", {"deadline": days(90)}, format="json"),
        409,
        code="deadline_fixed_after_assignment",
    )
    r = edu.post(
        f"/api/v1/items/{items['progress'].pk}/requests/",
        {"kind": "extension", "reason": "x", "requested_deadline": days(60)},
        format="json",
    )
    assert r.status_code == 201
    assert_error(
        edu.post(
            f"/api/v1/items/{items['progress'].pk}/requests/",
            {"kind": "extension", "reason": "再次申请", "requested_deadline": days(70)},
            format="json",
        ),
        409,
        code="request_pending",
    )
    decide = f"/api/v1/requests/{r.json()['id']}/decide/"
    # Not yet signed by the unit head: the office may not decide it.
    assert_error(
        office.post(decide, {"approve": False, "comment": "理由不充分"}, format="json"), 409, code="request_not_endorsed"
    )
    endorse = f"/api/v1/requests/{r.json()['id']}/endorse/"
    assert client_for(org["edu_head"]).post(endorse, {}, format="json").status_code == 200
    assert office.post(decide, {"approve": False, "comment": "理由不充分"}, format="json").status_code == 200
    assert_error(office.post(decide, {"approve": True}, format="json"), 409, code="request_decided")


def test_who_may_act_is_403(org, items):
    edu, env, leader = client_for(org["edu_handler"]), client_for(org["env_handler"]), client_for(org["leader"])
    progress = items["progress"]
    assert_error(
        edu.post(
            "/api/v1/instructions/",
            {"title": "t", "kind": "leader_instruction", "issued_on": days(0), "text": "x", "issuer_name": "某某"},
            format="json",
        ),
        403,
        code="office_only",
    )
    assert_error(leader.post(f"/api/v1/items/{progress.pk}/assign/", {}, format="json"), 403, code="office_only")
    assert_error(leader.post(f"/api/v1/items/{progress.pk}/reports/", {"progress_text": "x"}, format="json"), 403)
    # 环保局 is no responsible unit of this item: it cannot even see it.
    assert env.post(f"/api/v1/items/{progress.pk}/reports/", {"progress_text": "x"}, format="json").status_code == 404
    assert_error(
        edu.post(f"/api/v1/items/{items['closed'].pk}/return-visits/", {"result": "passed", "findings": "x"}, format="json"), 403
    )


def test_stale_version_is_412_and_fresh_version_succeeds(org, items):
    office = client_for(org["office"])
    url = f"/api/v1/items/{items['draft'].pk}/"
    etag = office.get(url)["ETag"]
    first = office.patch(url, {"title": "改过的名称"}, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 200 and first["ETag"] != etag
    stale = office.patch(url, {"title": "晚到的修改"}, format="json", HTTP_IF_MATCH=etag)
    assert_error(stale, 412, code="stale_version")
    assert office.get(url).json()["title"] == "改过的名称"
    assert_error(office.post(url + "assign/", {"version": 1}, format="json"), 412)
    assert_error(office.patch(url, {"title": "x"}, format="json", HTTP_IF_MATCH="garbage"), 412)
    ok = office.post(url + "assign/", {}, format="json", HTTP_IF_MATCH=first["ETag"])
    assert ok.status_code == 200 and ok.json()["status"] == "assigned"


def test_instruction_update_and_reclassification(org, items):
    office = client_for(org["office"])
    instruction = items["progress"].instruction
    url = f"/api/v1/instructions/{instruction.pk}/"
    etag = office.get(url)["ETag"]
    # Not while an owner cleared 内部 holds one of its items (issue 12): 409, naming her.
    refused = office.patch(url, {"classification": Classification.SECRET}, format="json", HTTP_IF_MATCH=etag)
    assert_error(refused, 409, code="owner_not_cleared")
    item = items["progress"]
    head = UserFactory(username="edu_cleared", unit=item.lead_unit, roles=[Role.UNIT_HANDLER], clearance=Classification.SECRET)
    services.item_update(actor=org["office"], item=item, owner=head)
    r = office.patch(url, {"classification": Classification.SECRET}, format="json", HTTP_IF_MATCH=etag)
    assert r.status_code == 200
    # Its items follow it up, so the unit (内部 clearance) no longer sees them.
    assert Item.objects.get(pk=items["progress"].pk).classification == Classification.SECRET
    assert client_for(org["edu_handler"]).get(f"/api/v1/items/{items['progress'].pk}/").status_code == 404
    assert_error(office.patch(url, {"title": "x"}, format="json", HTTP_IF_MATCH=etag), 412)


def test_attachment_upload_rules(org, settings):
    client = client_for(org["edu_handler"])
    assert_error(client.post("/api/v1/attachments/", {}, format="multipart"), 400, field="file")
    settings.DUBAN_MAX_ATTACHMENT_BYTES = 10
    assert_error(
        client.post("/api/v1/attachments/", {"file": _file("big.pdf", b"%PDF" + b"x" * 7)}, format="multipart"), 400, field="file"
    )
    settings.DUBAN_MAX_ATTACHMENT_BYTES = 1024
    r = client.post("/api/v1/attachments/", {"file": _file("ok.pdf", b"%PDF-1.4")}, format="multipart")
    assert r.status_code == 201 and r.json()["size"] == 8
    # Someone else's unlinked upload is not theirs to read.
    assert client_for(org["env_handler"]).get(f"/api/v1/attachments/{r.json()['id']}/").status_code == 404
    download = client.get(r.json()["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4"


def test_reference_instruction_items_need_no_deadline(org):
    office = client_for(org["office"])
    instruction = make_instruction(office=org["office"], nature="reference", title="参阅件")
    r = office.post(
        "/api/v1/items/",
        {"instruction_id": instruction.pk, "title": "参阅落实", "lead_unit_id": org["edu"].pk, "owner_id": org["edu_handler"].pk},
        format="json",
    )
    assert r.status_code == 201
    assert office.post(f"/api/v1/items/{r.json()['id']}/assign/", {}, format="json").json()["status"] == "assigned"
    other = make_instruction(office=org["office"], title="批办件")
    r = office.post(
        "/api/v1/items/",
        {"instruction_id": other.pk, "title": "须限时", "lead_unit_id": org["edu"].pk, "owner_id": org["edu_handler"].pk},
        format="json",
    )
    assert_error(office.post(f"/api/v1/items/{r.json()['id']}/assign/", {}, format="json"), 400, field="deadline")


def test_token_login_and_me(org):
    from django.test import Client

    r = Client().post("/api/v1/auth/token/", {"username": "edu_h", "password": "pass-1234"})
    assert r.status_code == 200
    token = r.json()["token"]
    me = Client().get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Token {token}").json()
    assert me["username"] == "edu_h" and me["roles"] == ["unit_handler"] and me["unit"]["name"] == "县教育局"
    bad = Client().post("/api/v1/auth/token/", {"username": "edu_h", "password": "wrong"})
    assert_error(bad, 400)
    # Session authentication works as well (the browsable API and admin users).
    session = Client()
    session.force_login(org["office"])
    assert session.get("/api/v1/items/").status_code == 200


def test_sign_in_ignores_credentials_sent_along(org):
    """Found by schemathesis: the token endpoint ran token and session authentication first, so a
    client holding a stale token (or a browser session without a CSRF token) could not sign in again."""
    from django.test import Client

    stale = Client().post("/api/v1/auth/token/", {"username": "edu_h", "password": "pass-1234"}, HTTP_AUTHORIZATION="Token stale")
    assert stale.status_code == 200 and stale.json()["token"]
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(org["office"])
    assert browser.post("/api/v1/auth/token/", {"username": "edu_h", "password": "pass-1234"}).status_code == 200


def test_evidence_downloads_are_octet_stream_whatever_the_file_name(org):
    """Found by schemathesis: the schema promised application/octet-stream but the type was guessed
    from the uploader's file name, so an uploaded .html page would be served as text/html. (An HTML
    page is refused at upload now; a PDF named .html still downloads as octet-stream.)"""
    client = client_for(org["edu_handler"])
    refused = client.post(
        "/api/v1/attachments/", {"file": _file("整改报告.html", b"<script>alert(1)</script>")}, format="multipart"
    )
    assert_error(refused, 400, code="unsupported_file_type", field="file")
    r = client.post("/api/v1/attachments/", {"file": _file("整改报告.html", b"%PDF-1.4 <script>")}, format="multipart")
    assert r.status_code == 201
    download = client.get(r.json()["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment;") and ".html" in download["Content-Disposition"]


def test_an_evidence_file_lost_from_storage_is_a_404_in_chinese_not_a_500(org):
    from supervision.models import Attachment

    client = client_for(org["edu_handler"])
    r = client.post("/api/v1/attachments/", {"file": _file("整改报告.pdf", b"%PDF-1.4")}, format="multipart")
    assert client.get(r.json()["download_url"]).status_code == 200
    attachment = Attachment.objects.get(pk=r.json()["id"])
    attachment.file.storage.delete(attachment.file.name)
    body = assert_error(client.get(r.json()["download_url"]), 404, code="attachment_file_missing")
    assert "整改报告.pdf" in body["detail"]


def test_dates_at_the_ends_of_the_calendar_are_400_not_500(org, items):
    """Found by schemathesis: a rectification deadline of 9999-12-31 overflowed the working-day
    count (500); every date that feeds the calendar is now checked to lie in 1900–2999."""
    office = client_for(org["office"])
    closed = items["closed"]
    r = office.post(
        f"/api/v1/items/{closed.pk}/return-visits/",
        {"result": "failed", "findings": "反弹", "new_deadline": "9999-12-31"},
        format="json",
    )
    assert_error(r, 400, field="new_deadline")
    assert Item.objects.get(pk=closed.pk).status == ItemStatus.CLOSED
    r = office.post(
        "/api/v1/instructions/",
        {"title": "古件", "kind": "leader_instruction", "issued_on": "0001-01-01", "text": "x", "issuer_name": "某领导"},
        format="json",
    )
    assert_error(r, 400, field="issued_on")
    r = office.post(
        f"/api/v1/items/{items['progress'].pk}/requests/",
        {"kind": "extension", "reason": "延期", "requested_deadline": "9999-12-31"},
        format="json",
    )
    assert_error(r, 400, field="requested_deadline")
    # The far end of the range still works.
    r = office.post(
        f"/api/v1/items/{closed.pk}/return-visits/",
        {"result": "failed", "findings": "反弹", "new_deadline": "2999-12-31"},
        format="json",
    )
    assert r.status_code == 201 and Item.objects.get(pk=closed.pk).deadline == datetime.date(2999, 12, 31)


def test_text_postgresql_cannot_store_is_400_naming_the_field(org, items):
    """Found by schemathesis: a NUL character in a unit name pushed to the OA intake reached
    PostgreSQL (DataError, 500). supervision/api/parsers.py now refuses NUL and unpaired
    surrogates anywhere in a JSON body, naming the field by its dotted path."""
    office = client_for(org["office"])
    body = (
        '{"title": "\\u6279\\u793a", "kind": "leader_instruction", "issued_on": "2026-01-01", "text": "x",'
        ' "items": [{"external_id": "A-1", "title": "t", "lead_unit": "\\u53bf\\u6559\\u80b2\\u5c40\\u0000"}]}'
    )
    r = office.generic("POST", "/api/v1/intake/instructions/", body, content_type="application/json")
    assert_error(r, 400, field="items.0.lead_unit")
    r = office.generic(
        "POST",
        f"/api/v1/items/{items['progress'].pk}/reports/",
        '{"progress_text": "ok \\ud800"}',
        content_type="application/json",
    )
    assert_error(r, 400, field="progress_text")
    assert not ProgressReport.objects.filter(progress_text__startswith="ok").exists()
