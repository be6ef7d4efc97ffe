"""Ledger export (.xlsx / CSV) and export approvals (DOMAIN.md rule 13).

The export is the items list's view as a file: same visibility, same filters, same order; items
above what the user may export are left out and counted; classified items need a recorded,
active approval; every export and every approval change is audited; queries do not grow with rows."""

from __future__ import annotations

import csv
import datetime
import io
from types import SimpleNamespace

import pytest
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.choices import Classification, Role
from supervision import services
from supervision.audit import audit_verify
from supervision.choices import AssignmentRole, ItemStatus, ReferralDepartment, Urgency
from supervision.errors import InvalidInput, NotPermitted, TransitionNotAllowed
from supervision.exchange import export as export_module
from supervision.exchange.columns import LEDGER_COLUMNS
from supervision.exchange.export import writers as export_writers
from supervision.exchange.export.policy import detail_export_allowed, exportable_classification
from supervision.models import ExportApproval, Instruction, Item, ItemAssignment, ProgressReport
from supervision.services import export_approval_grant, export_approval_revoke
from tests.api_helpers import assert_error, client_for
from tests.conftest import build_world
from tests.factories import CategoryFactory, UserFactory, audit_mark, make_instruction, make_item, new_events, refused
from tests.module_data import module_transaction, reread

pytestmark = pytest.mark.django_db

C = Classification
EXPORT = "/api/v1/items/export/"
APPROVALS = "/api/v1/export-approvals/"
HEADERS = [c.header for c in LEDGER_COLUMNS]
COL = {c.key: i for i, c in enumerate(LEDGER_COLUMNS)}
HEADER_ROW = export_writers.HEADER_ROW
TODAY = datetime.date.today


# ---------------------------------------------------------------------------------------------
# Data and helpers


@pytest.fixture(scope="module")
def _built(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world and the ledger, built once for the module (see tests/module_data.py). The tests
    that need a ledger without these items are in test_export_volume.py."""
    media_root = tmp_path_factory.mktemp("media")
    with module_transaction(django_db_blocker, media_root):
        w = build_world()
        yield SimpleNamespace(world=w, ledger=build_ledger(w), media_root=media_root)


@pytest.fixture
def world(_built, db, settings):
    """tests/conftest.py's world, with the module's ledger beside it."""
    settings.MEDIA_ROOT = _built.media_root
    return reread(_built.world)


@pytest.fixture
def ledger(_built, world):
    return reread(_built.ledger)


def build_ledger(w) -> SimpleNamespace:
    """Six items: four open (two classified), one closed, one draft; units, reports, a referral."""
    category = CategoryFactory(name="生态环保")
    instruction = make_instruction(
        office=w.office, title="关于推进河道整治的批示", document_number="云委督〔2026〕7号", issuer_name="张书记"
    )
    deadline = timezone.localdate() + datetime.timedelta(days=20)
    led = SimpleNamespace(category=category, instruction=instruction)
    led.river = make_item(
        ItemStatus.IN_PROGRESS,
        office=w.office,
        instruction=instruction,
        lead_unit=w.edu,
        owner=w.edu_handler,
        supporting_units=[w.env, w.town],
        title="河道整治",
        category=category,
        deadline=deadline,
        urgency=Urgency.URGENT,
    )
    # A later report from the lead unit, and one from a supporting unit (never shown sideways).
    services.progress_report_create(actor=w.edu_handler, item=led.river, progress_text="已完成清淤八成")
    services.progress_report_create(actor=w.env_handler, item=led.river, progress_text="环保局已完成水质监测")
    ProgressReport.objects.filter(item=led.river, unit=w.env).update(submitted_at=timezone.now() - datetime.timedelta(hours=1))
    led.school = make_item(
        ItemStatus.ASSIGNED,
        office=w.office,
        lead_unit=w.env,
        owner=w.env_handler,
        title="校园周边环境整治",
        deadline=deadline + datetime.timedelta(days=5),
    )
    led.closed = make_item(ItemStatus.CLOSED, office=w.office, lead_unit=w.town, owner=w.town_handler, title="已销号事项")
    led.draft = make_item(ItemStatus.DRAFT, office=w.office, lead_unit=w.edu, owner=w.edu_handler, title="草稿事项")
    led.secret = make_item(
        ItemStatus.IN_PROGRESS,
        office=w.office,
        lead_unit=w.edu,
        owner=w.edu_head,
        title="秘密事项",
        classification=C.SECRET,
    )
    led.confidential = make_item(
        ItemStatus.ASSIGNED,
        office=w.office,
        lead_unit=w.env,
        # An owner cleared for 机密 (issue 12: the owner must see her own item).
        owner=UserFactory(username="env_confidential", unit=w.env, roles=[Role.UNIT_HANDLER], clearance=C.CONFIDENTIAL),
        title="机密事项",
        classification=C.CONFIDENTIAL,
    )
    services.referral_create(actor=w.office, item=led.school, department=ReferralDepartment.DISCIPLINE, reason="落实不力")
    return led


def body_of(response) -> bytes:
    assert response.streaming, type(response)
    return b"".join(response.streaming_content)


def export(user, fmt="xlsx", **params):
    response = client_for(user).get(EXPORT, {"format": fmt, **params})
    assert response.status_code == 200, response.content[:500]
    return response


def csv_rows(response) -> tuple[list[str], list[list[str]]]:
    raw = body_of(response)
    assert raw.startswith(b"\xef\xbb\xbf"), raw[:10]
    reader = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    return reader[0], reader[1:]


def csv_codes(user, **params) -> list[str]:
    header, rows = csv_rows(export(user, "csv", **params))
    assert header == HEADERS
    return [row[COL["code"]] for row in rows]


def sheet_of(response):
    wb = load_workbook(io.BytesIO(body_of(response)))
    return wb.active


def sheet_rows(ws) -> list[tuple]:
    return [row for row in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True) if any(v is not None for v in row)]


def list_codes(user, **params) -> list[str]:
    client = client_for(user)
    codes, page = [], 1
    while True:
        response = client.get("/api/v1/items/", {**params, "page": page, "page_size": 100})
        assert response.status_code == 200, response.json()
        body = response.json()
        codes += [item["code"] for item in body["results"]]
        if not body["next"]:
            return codes
        page += 1


def grant(w, grantee, level=C.SECRET, **kwargs) -> ExportApproval:
    kwargs.setdefault("valid_until", timezone.localdate() + datetime.timedelta(days=30))
    return export_approval_grant(actor=w.admin, grantee=grantee, classification=level, reason="季度盘点需要", **kwargs)


def bulk_items(w, n: int, *, prefix: str) -> list[Item]:
    """`n` open items written in bulk (no services: for counting queries, not for the workflow),
    each with a supporting unit and two progress reports."""
    instruction = Instruction.objects.create(
        title=f"{prefix}批示",
        kind="leader_instruction",
        issuer_name="李县长",
        issued_on=datetime.date(2026, 3, 1),
        text="抓紧落实",
        created_by=w.office,
    )
    items = Item.objects.bulk_create(
        Item(
            code=f"{prefix}-{i:04d}",
            title=f"{prefix}事项{i}",
            instruction=instruction,
            lead_unit=w.edu,
            owner=w.edu_handler,
            deadline=datetime.date(2026, 12, 1),
            status=ItemStatus.IN_PROGRESS,
            created_by=w.office,
        )
        for i in range(n)
    )
    ItemAssignment.objects.bulk_create(
        [ItemAssignment(item=item, unit=w.edu, role=AssignmentRole.LEAD) for item in items]
        + [ItemAssignment(item=item, unit=w.env, role=AssignmentRole.SUPPORTING) for item in items]
    )
    now = timezone.now()
    ProgressReport.objects.bulk_create(
        ProgressReport(
            item=item,
            unit=w.edu,
            progress_text=f"第{k}次进展",
            submitted_by=w.edu_handler,
            submitted_at=now - datetime.timedelta(days=2 - k),
        )
        for item in items
        for k in (1, 2)
    )
    return items


# ---------------------------------------------------------------------------------------------
# .xlsx


def test_xlsx_layout_rows_and_cells(world, ledger):
    response = export(world.office)
    assert isinstance(response, FileResponse)
    assert response["Content-Type"] == export_module.XLSX_CONTENT_TYPE
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="duban-ledger-')
    assert "filename*=UTF-8''%E7%9D%A3%E6%9F%A5%E5%8F%B0%E8%B4%A6_" in disposition  # 督查台账_
    ws = sheet_of(response)

    assert ws["A1"].value == "督查台账"
    assert "导出人：office" in ws["A2"].value and "共 4 项" in ws["A2"].value
    assert ws["A3"].value == "筛选条件：全部事项"
    assert ws["A4"].value == "另有 2 项涉密事项因未经批准未导出"
    assert [c.value for c in ws[HEADER_ROW]] == HEADERS
    assert ws.freeze_panes == f"C{HEADER_ROW + 1}"
    assert ws.column_dimensions["C"].width == LEDGER_COLUMNS[2].width

    rows = sheet_rows(ws)
    # The list's order (newest first), classified items left out.
    expected = [i.code for i in (ledger.draft, ledger.closed, ledger.school, ledger.river)]
    assert [r[COL["code"]] for r in rows] == expected == list_codes(world.office)[2:]
    assert [r[COL["seq"]] for r in rows] == [1, 2, 3, 4]

    river = dict(zip([c.key for c in LEDGER_COLUMNS], rows[3], strict=True))
    assert river["title"] == "河道整治"
    assert river["instruction_title"] == "关于推进河道整治的批示"
    assert river["source"] == "领导批示/张书记"
    assert river["document_number"] == "云委督〔2026〕7号"
    assert river["lead_unit"] == "县教育局"
    assert river["supporting_units"] == "县环保局、黄庄乡"
    assert river["owner"] == "edu_handler"
    assert river["urgency"] == "急"
    assert river["classification"] == "公开"
    assert river["category"] == "生态环保"
    assert river["progress"] == "已完成清淤八成"  # the latest report
    assert river["status"] == "办理中"
    # Dates are Excel dates, shown as yyyy-mm-dd.
    assert river["deadline"] == datetime.datetime.combine(ledger.river.deadline, datetime.time())
    assert river["issued_on"] == datetime.datetime.combine(ledger.instruction.issued_on, datetime.time())
    deadline_cell = ws.cell(row=HEADER_ROW + 4, column=COL["deadline"] + 1)
    assert deadline_cell.is_date and deadline_cell.number_format == "yyyy-mm-dd"


def test_xlsx_filters_are_written_in_words(world, ledger):
    ws = sheet_of(export(world.office, status=["in_progress", "assigned"], deadline_after="2026-01-01"))
    assert ws["A3"].value.startswith("筛选条件：")
    assert "状态=办理中、已交办" in ws["A3"].value or "状态=已交办、办理中" in ws["A3"].value
    assert "办理时限范围起=2026-01-01" in ws["A3"].value


def test_text_that_looks_like_a_formula_stays_text(world, ledger):
    Item.objects.filter(pk=ledger.river.pk).update(title='=HYPERLINK("http://x","点我")')
    ws = sheet_of(export(world.office, q=ledger.river.code))
    cell = ws.cell(row=HEADER_ROW + 1, column=COL["title"] + 1)
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://x","点我")'
    _, rows = csv_rows(export(world.office, "csv", q=ledger.river.code))
    assert rows[0][COL["title"]] == '\'=HYPERLINK("http://x","点我")'


# ---------------------------------------------------------------------------------------------
# CSV


def test_csv_contents_bom_and_headers(world, ledger):
    response = export(world.office, "csv")
    assert isinstance(response, StreamingHttpResponse) and not isinstance(response, FileResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["X-Duban-Omitted-Classified"] == "2"
    assert response["X-Duban-Rows"] == "4"
    assert "filename*=UTF-8''%E7%9D%A3%E6%9F%A5%E5%8F%B0%E8%B4%A6_" in response["Content-Disposition"]
    assert response["Content-Disposition"].rstrip().endswith(".csv")
    header, rows = csv_rows(response)
    assert header == HEADERS
    assert [r[COL["code"]] for r in rows] == [i.code for i in (ledger.draft, ledger.closed, ledger.school, ledger.river)]
    river = rows[3]
    assert river[COL["deadline"]] == ledger.river.deadline.isoformat()
    assert river[COL["supporting_units"]] == "县环保局、黄庄乡"
    assert river[COL["progress"]] == "已完成清淤八成"
    assert river[COL["seq"]] == "4"
    assert rows[0][COL["status"]] == "草稿" and rows[0][COL["progress"]] == ""


# ---------------------------------------------------------------------------------------------
# The list's filters and visibility


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"status": "in_progress"},
        {"status": ["assigned", "draft"]},
        {"unit": "UNIT_TOWN"},
        {"q": "整治"},
        {"ordering": "deadline"},
        {"ordering": "-code", "lead_unit": "UNIT_EDU"},
        {"overdue": "false", "urgency": "urgent"},
    ],
)
def test_export_holds_exactly_the_list_view(world, ledger, params):
    params = {
        k: (str(world.town.pk) if v == "UNIT_TOWN" else str(world.edu.pk) if v == "UNIT_EDU" else v) for k, v in params.items()
    }
    # office_low (内部) sees no classified item; the leader (机密, no drafts) exports them on an approval.
    grant(world, world.leader, C.CONFIDENTIAL)
    for user in (world.office_low, world.leader):
        assert csv_codes(user, **params) == list_codes(user, **params)
    codes = csv_codes(world.office_low, **params)
    assert codes, params


def test_bad_filters_are_the_lists_400(world, ledger):
    params = {"status": "bogus", "deadline_after": "not-a-date"}
    listed = client_for(world.office).get("/api/v1/items/", params)
    exported = client_for(world.office).get(EXPORT, {**params, "format": "csv"})
    body = assert_error(exported, 400, code="invalid", field="status")
    assert "deadline" in "".join(body["fields"]) or "deadline_after" in body["fields"]
    assert listed.status_code == 400
    assert exported.json() == listed.json()
    bad_format = client_for(world.office).get(EXPORT, {"format": "pdf"})
    assert_error(bad_format, 400, code="invalid", field="format")
    assert bad_format["Content-Type"] == "application/json"


def test_accept_header_chooses_the_format_and_errors_stay_json(world, ledger):
    client = client_for(world.office)
    response = client.get(EXPORT, HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body_of(response)
    # `format` wins over an Accept header that names another type (no 406).
    response = client.get(EXPORT, {"format": "csv"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body_of(response)
    error = client.get(EXPORT, {"status": "bogus"}, HTTP_ACCEPT=export_module.XLSX_CONTENT_TYPE)
    assert_error(error, 400, field="status")
    assert error["Content-Type"] == "application/json"


def test_anonymous_is_refused(ledger):
    assert client_for(None).get(EXPORT).status_code == 401


def test_items_above_clearance_never_appear_nor_count(world, ledger):
    """office_low (内部) does not see the classified items: they are absent, not 'omitted'."""
    response = export(world.office_low, "csv")
    assert response["X-Duban-Omitted-Classified"] == "0"
    _, rows = csv_rows(response)
    titles = {r[COL["title"]] for r in rows}
    assert "秘密事项" not in titles and "机密事项" not in titles
    ws = sheet_of(export(world.office_low))
    assert ws["A4"].value is None
    assert "涉密" not in "".join(str(c.value or "") for row in ws.iter_rows(max_row=HEADER_ROW) for c in row)


def test_unit_and_referral_users_export_only_what_they_see(world, ledger):
    edu = csv_codes(world.edu_handler)
    assert edu == list_codes(world.edu_handler) == [ledger.river.code]  # the draft is not visible to units
    env_header, env_rows = csv_rows(export(world.env_head, "csv"))
    # env_head (秘密) sees the 机密 item? No: above clearance. It sees the school item and the river one.
    assert [r[COL["code"]] for r in env_rows] == list_codes(world.env_head) == [ledger.school.code, ledger.river.code]
    # No sideways copying: the supporting unit gets its own report, not the lead unit's newer one.
    assert env_rows[1][COL["progress"]] == "环保局已完成水质监测"
    assert csv_codes(world.discipline) == [ledger.school.code]
    assert csv_codes(world.organization) == []


# ---------------------------------------------------------------------------------------------
# Classified items and approvals


def test_classified_items_need_an_active_approval(world, ledger):
    ws = sheet_of(export(world.office))
    assert "秘密事项" not in [r[COL["title"]] for r in sheet_rows(ws)]

    approval = grant(world, world.office, C.SECRET)
    response = export(world.office, "csv")
    assert response["X-Duban-Omitted-Classified"] == "1"
    _, rows = csv_rows(response)
    by_title = {r[COL["title"]]: r for r in rows}
    assert "秘密事项" in by_title and "机密事项" not in by_title
    assert by_title["秘密事项"][COL["classification"]] == "秘密"
    event = [e for e in new_events(0) if e.action == "ledger_exported"][-1]
    assert event.data["approval"] == approval.pk and event.data["classified_rows"] == 1

    grant(world, world.office, C.CONFIDENTIAL)
    ws = sheet_of(export(world.office))
    assert {"秘密事项", "机密事项"} <= {r[COL["title"]] for r in sheet_rows(ws)}
    assert ws["A4"].value is None
    assert "共 6 项" in ws["A2"].value


def test_expired_revoked_and_future_approvals_do_not_count(world, ledger):
    approval = grant(world, world.office)
    assert csv_codes(world.office).count(ledger.secret.code) == 1
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    ExportApproval.objects.filter(pk=approval.pk).update(valid_from=yesterday - datetime.timedelta(days=9), valid_until=yesterday)
    assert ledger.secret.code not in csv_codes(world.office)

    future = grant(world, world.office, valid_from=timezone.localdate() + datetime.timedelta(days=1))
    assert ledger.secret.code not in csv_codes(world.office)
    ExportApproval.objects.filter(pk=future.pk).update(valid_from=timezone.localdate())
    assert ledger.secret.code in csv_codes(world.office)
    export_approval_revoke(actor=world.admin, approval=future, reason="任务结束")
    assert ledger.secret.code not in csv_codes(world.office)


def test_approval_never_reaches_above_the_grantees_clearance(world, ledger):
    grant(world, world.edu_head, C.SECRET)
    assert exportable_classification(world.edu_head) == C.SECRET
    # Clearance lowered after the grant: the approval narrows with it.
    world.edu_head.clearance = C.INTERNAL
    world.edu_head.save(update_fields=["clearance"])
    from accounts.models import User

    assert exportable_classification(User.objects.get(pk=world.edu_head.pk)) == C.INTERNAL


def test_detail_export_allowed_reads_approvals_once(world, ledger, django_assert_num_queries):
    grant(world, world.office, C.SECRET)
    from accounts.models import User

    user = User.objects.get(pk=world.office.pk)
    with django_assert_num_queries(1):
        answers = [detail_export_allowed(user=user, classification=c) for c in [0, 1, 2, 3] * 50]
    assert answers[:4] == [True, True, True, False]
    # A revocation applies to the next request (which loads its user afresh) and to the grantee
    # object the service was handed.
    approval = ExportApproval.objects.select_related("grantee").get(grantee=user)
    assert exportable_classification(approval.grantee) == C.SECRET
    export_approval_revoke(actor=world.admin, approval=approval, reason="")
    assert exportable_classification(approval.grantee) == C.INTERNAL
    assert exportable_classification(User.objects.get(pk=user.pk)) == C.INTERNAL


def test_who_may_grant_and_revoke(world, ledger):
    until = timezone.localdate() + datetime.timedelta(days=10)
    # Only office staff; cleared to the level; never for themselves; not above the grantee's clearance.
    with refused(NotPermitted, code="office_only"):
        export_approval_grant(
            actor=world.edu_head, grantee=world.env_head, classification=C.SECRET, reason="x", valid_until=until
        )
    with refused(NotPermitted, code="clearance_too_low"):
        export_approval_grant(
            actor=world.office_low, grantee=world.env_head, classification=C.SECRET, reason="x", valid_until=until
        )
    with refused(NotPermitted, code="self_approval"):
        export_approval_grant(actor=world.office, grantee=world.office, classification=C.SECRET, reason="x", valid_until=until)
    with refused(InvalidInput, fields=["classification"]):
        export_approval_grant(
            actor=world.office, grantee=world.edu_handler, classification=C.SECRET, reason="x", valid_until=until
        )
    with refused(InvalidInput, fields=["classification"]):
        export_approval_grant(
            actor=world.office, grantee=world.env_head, classification=C.INTERNAL, reason="x", valid_until=until
        )
    with refused(InvalidInput, fields=["classification"]):
        export_approval_grant(
            actor=world.office, grantee=world.env_head, classification=C.CONFIDENTIAL, reason="x", valid_until=until
        )
    with refused(InvalidInput, fields=["valid_until", "reason"]):
        export_approval_grant(
            actor=world.office,
            grantee=world.env_head,
            classification=C.SECRET,
            reason=" ",
            valid_until=timezone.localdate() - datetime.timedelta(days=1),
        )
    with refused(InvalidInput, fields=["valid_until"]):
        export_approval_grant(
            actor=world.office,
            grantee=world.env_head,
            classification=C.SECRET,
            reason="x",
            valid_until=timezone.localdate() + datetime.timedelta(days=400),
        )
    assert ExportApproval.objects.count() == 0

    mark = audit_mark()
    approval = export_approval_grant(
        actor=world.office, grantee=world.env_head, classification=C.SECRET, reason="专项督查", valid_until=until
    )
    [event] = new_events(mark)
    assert (event.action, event.actor_id, event.object_type, event.object_id) == (
        "export_approval_granted",
        world.office.pk,
        "exportapproval",
        approval.pk,
    )
    assert event.data["grantee"] == world.env_head.pk and event.data["classification"] == C.SECRET

    with refused(NotPermitted, code="office_only"):
        export_approval_revoke(actor=world.env_head, approval=approval)
    with refused(NotPermitted, code="clearance_too_low"):
        export_approval_revoke(actor=world.office_low, approval=approval)
    mark = audit_mark()
    export_approval_revoke(actor=world.office, approval=approval, reason="专项结束")
    [event] = new_events(mark)
    assert event.action == "export_approval_revoked" and event.comment == "专项结束"
    with refused(TransitionNotAllowed, code="already_revoked"):
        export_approval_revoke(actor=world.admin, approval=approval)
    approval.refresh_from_db()
    assert approval.revoked_by == world.office and approval.revoked_at is not None
    assert audit_verify().ok


def test_approvals_api(world, ledger):
    office, grantee = client_for(world.office), client_for(world.env_head)
    until = (timezone.localdate() + datetime.timedelta(days=10)).isoformat()
    payload = {"grantee_id": world.env_head.pk, "classification": C.SECRET, "reason": "专项督查", "valid_until": until}
    assert_error(grantee.post(APPROVALS, payload, format="json"), 403, code="office_only")
    assert_error(client_for(world.office_low).post(APPROVALS, payload, format="json"), 403, code="clearance_too_low")
    assert_error(office.post(APPROVALS, {**payload, "classification": 1}, format="json"), 400, field="classification")
    assert_error(office.post(APPROVALS, {**payload, "valid_until": "明天"}, format="json"), 400, field="valid_until")
    assert_error(office.post(APPROVALS, {**payload, "grantee_id": world.office.pk}, format="json"), 403, code="self_approval")

    created = office.post(APPROVALS, payload, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["grantee"]["id"] == world.env_head.pk and body["approved_by"]["id"] == world.office.pk
    assert body["classification_display"] == "秘密" and body["is_active"] is True and body["valid_from"] == TODAY().isoformat()

    # The grantee sees their own; another unit user sees nothing and gets 404 for it.
    assert [a["id"] for a in grantee.get(APPROVALS).json()["results"]] == [body["id"]]
    other = client_for(world.edu_head)
    assert other.get(APPROVALS).json()["results"] == []
    assert_error(other.get(f"{APPROVALS}{body['id']}/"), 404)
    assert_error(grantee.post(f"{APPROVALS}{body['id']}/revoke/", {}, format="json"), 403)
    assert [a["id"] for a in office.get(APPROVALS, {"active": "true", "grantee": world.env_head.pk}).json()["results"]] == [
        body["id"]
    ]

    revoked = office.post(f"{APPROVALS}{body['id']}/revoke/", {"reason": "专项结束"}, format="json")
    assert (
        revoked.status_code == 200
        and revoked.json()["is_active"] is False
        and revoked.json()["revoked_by"]["id"] == world.office.pk
    )
    assert_error(office.post(f"{APPROVALS}{body['id']}/revoke/", {}, format="json"), 409, code="already_revoked")
    assert office.get(APPROVALS, {"active": "true"}).json()["results"] == []
    assert [a["id"] for a in office.get(APPROVALS, {"active": "false"}).json()["results"]] == [body["id"]]


def test_admin_grants_and_revokes_through_the_services(world, ledger, client):
    client.force_login(world.admin)
    until = (timezone.localdate() + datetime.timedelta(days=10)).isoformat()
    response = client.post(
        "/admin/supervision/exportapproval/add/",
        {
            "grantee": world.env_head.pk,
            "classification": C.SECRET,
            "reason": "后台批准",
            "valid_from": TODAY().isoformat(),
            "valid_until": until,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    approval = ExportApproval.objects.get()
    assert approval.approved_by == world.admin and approval.reason == "后台批准"
    assert new_events(0)[-1].action == "export_approval_granted"
    # Self-approval is refused with a message, nothing written.
    response = client.post(
        "/admin/supervision/exportapproval/add/",
        {
            "grantee": world.admin.pk,
            "classification": C.SECRET,
            "reason": "x",
            "valid_from": TODAY().isoformat(),
            "valid_until": until,
        },
        follow=True,
    )
    assert "不能批准本人" in response.content.decode()
    assert ExportApproval.objects.count() == 1
    response = client.post(
        "/admin/supervision/exportapproval/",
        {"action": "revoke_selected", "_selected_action": [approval.pk]},
    )
    assert response.status_code == 302
    approval.refresh_from_db()
    assert approval.revoked_by == world.admin
    assert client.get(f"/admin/supervision/exportapproval/{approval.pk}/change/").status_code == 200


# ---------------------------------------------------------------------------------------------
# Audit and cost


def test_every_export_is_audited(world, ledger):
    mark = audit_mark()
    export(world.office, "csv", status="in_progress")
    export(world.office, "xlsx")
    events = new_events(mark)
    assert [e.action for e in events] == ["ledger_exported", "ledger_exported"]
    csv_event, xlsx_event = events
    assert csv_event.actor_id == world.office.pk and csv_event.object_type == "user"
    assert csv_event.data["format"] == "csv" and csv_event.data["filters"] == {"status": ["in_progress"]}
    assert csv_event.data["rows"] == 1 and csv_event.data["omitted_classified"] == 1 and csv_event.data["approval"] is None
    assert csv_event.data["sha256"] is None
    assert xlsx_event.data["format"] == "xlsx" and xlsx_event.data["rows"] == 4 and xlsx_event.data["omitted_classified"] == 2
    assert len(xlsx_event.data["sha256"]) == 64 and xlsx_event.data["filename"].startswith("督查台账_")
    assert audit_verify().ok
    # A refused export (bad filter) records nothing.
    mark = audit_mark()
    client_for(world.office).get(EXPORT, {"status": "bogus"})
    assert new_events(mark) == []


# ---------------------------------------------------------------------------------------------
# Round trip with the importer (supervision/ledger_import.py reads the same LEDGER_COLUMNS)


def test_export_then_import_dry_run_recognises_every_row(world, ledger):
    from supervision.exchange.importer import ledger_import

    content = body_of(export(world.office))
    exported_codes = [i.code for i in (ledger.draft, ledger.closed, ledger.school, ledger.river)]
    # As exported: every row is known to be in the ledger already (skipped by its code), no error.
    again = ledger_import(actor=world.office, file=content, dry_run=True)
    assert again.ok, [str(e) for e in again.errors]
    assert again.rows_total == 4 and again.summary["items"] == 0
    assert [s["code"] for s in again.summary["skipped"]] == exported_codes

    # The same rows as new items (codes cleared, titles changed), so every cell is read: units,
    # people, dates, labels, 来源/批示领导, 文号.
    wb = load_workbook(io.BytesIO(content))
    ws = wb.active
    for row in ws.iter_rows(min_row=HEADER_ROW + 1):
        row[COL["code"]].value = None
        row[COL["title"]].value = f"{row[COL['title']].value}（复制）"
    out = io.BytesIO()
    wb.save(out)
    items_before = Item.objects.count()
    fresh = ledger_import(actor=world.office, file=out.getvalue(), dry_run=True)
    assert fresh.ok, [str(e) for e in fresh.errors]
    assert fresh.summary["items"] == 4 and fresh.summary["skipped"] == []
    assert fresh.summary["by_status"] == {"草稿": 1, "已销号": 1, "已交办": 1, "办理中": 1}
    assert fresh.summary["by_lead_unit"] == {"县教育局": 2, "黄庄乡": 1, "县环保局": 1}
    assert fresh.summary["instructions_reused"] >= 1  # the river's instruction, by its 文号
    assert Item.objects.count() == items_before


def test_control_characters_in_parameters_or_titles_do_not_break_the_workbook(world, ledger):
    """Found by schemathesis: an unknown parameter carrying a control character was written into the
    title area and openpyxl refused it (500). Unknown parameters are not described; illegal characters
    in text are dropped, not fatal."""
    Item.objects.filter(pk=ledger.river.pk).update(title="河道\x01整治")
    ws = sheet_of(export(world.office, "xlsx", **{"junk\x02": "x\x03", "q": "河道\x04"}))
    text = " ".join(str(c) for row in ws.iter_rows(max_row=HEADER_ROW - 1, values_only=True) for c in row if c)
    assert "junk" not in text and "河道" in text
    titles = [row[COL["title"]] for row in sheet_rows(sheet_of(export(world.office, "xlsx")))]
    assert "河道整治" in titles
