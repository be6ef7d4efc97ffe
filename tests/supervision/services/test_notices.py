"""Notices (通报, DOMAIN.md rule 9): drafted by the office from selected items and units, issued
once with a yearly number, downloadable as .docx; who may read them (rule 13), and praise
recommended to the organization department (rule 8)."""

from __future__ import annotations

import io
from urllib.parse import unquote

import pytest
from django.utils import timezone
from docx import Document

from accounts.choices import Classification
from supervision.choices import ItemStatus, NoticeKind, NoticeStatus
from supervision.errors import InvalidInput, NotPermitted, NotVisible, TransitionNotAllowed
from supervision.exchange.documents import notice_docx
from supervision.models import Item, Notice
from supervision.services import notice_create, notice_issue, notice_update
from tests.api_helpers import assert_error, client_for
from tests.factories import assert_one_event, audit_mark, make_item, new_events, refused

pytestmark = pytest.mark.django_db

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def items(world):
    """edu: lead 县教育局 (supporting 县环保局); env: lead 县环保局; secret: lead 县教育局, 秘密."""
    edu = make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_handler,
        supporting_units=[world.env],
        title="校舍安全隐患整改",
    )
    env = make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.env, owner=world.env_handler, title="河道污染治理")
    secret = make_item(
        ItemStatus.ASSIGNED,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_head,
        classification=Classification.SECRET,
        title="涉密事项",
    )
    return {"edu": edu, "env": env, "secret": secret}


def criticism(world, items, **kwargs) -> Notice:
    kwargs.setdefault("entries", [(items["edu"], world.edu, "进展缓慢"), (items["env"], world.env, "超期未办结")])
    return notice_create(
        actor=world.office,
        kind=NoticeKind.CRITICISM,
        title="关于部分事项落实不力的通报",
        body="近期督查发现，部分单位落实不力。\n现予以通报批评。",
        **kwargs,
    )


def year() -> int:
    return timezone.localdate().year


# --- create, update, issue ------------------------------------------------------------------------


def test_create_and_issue_numbers_per_year_in_sequence(world, items):
    mark = audit_mark()
    first = criticism(world, items)
    event = assert_one_event(mark, action="notice_created", actor=world.office)
    assert event.data["entries"][0] == {"item_id": items["edu"].pk, "unit_id": world.edu.pk, "remark": "进展缓慢"}
    assert (first.status, first.number, first.classification) == (NoticeStatus.DRAFT, None, Classification.PUBLIC)
    second = notice_create(
        actor=world.office, kind=NoticeKind.PRAISE, title="表扬通报", body="成效明显。", entries=[(items["env"], world.env, "")]
    )

    mark = audit_mark()
    # Numbers follow issue order, not drafting order.
    second = notice_issue(actor=world.office, notice=second)
    assert_one_event(mark, action="notice_issued", actor=world.office)
    first = notice_issue(actor=world.office, notice=first)
    assert second.number == f"督通〔{year()}〕1号" and first.number == f"督通〔{year()}〕2号"
    assert (first.status, first.issued_by, first.sequence, first.year) == (NoticeStatus.ISSUED, world.office, 2, year())

    with refused(TransitionNotAllowed, code="notice_issued"):
        notice_issue(actor=world.office, notice=first)
    with refused(TransitionNotAllowed, code="notice_issued"):
        notice_update(actor=world.office, notice=first, title="改标题")
    assert Notice.objects.get(pk=first.pk).number == f"督通〔{year()}〕2号"


def test_create_checks(world, items):
    ok_entries = [(items["edu"], world.edu, "")]
    with refused(NotPermitted, code="office_only"):
        notice_create(actor=world.leader, kind="criticism", title="t", body="b", entries=ok_entries)
    with refused(InvalidInput, fields=["kind", "title", "body"]):
        notice_create(actor=world.office, kind="shame", title=" ", body="", entries=ok_entries)
    with refused(InvalidInput, fields=["recommend_to_organization"]):
        notice_create(
            actor=world.office, kind="criticism", title="t", body="b", entries=ok_entries, recommend_to_organization=True
        )
    with refused(InvalidInput, fields=["entries"]):
        notice_create(actor=world.office, kind="criticism", title="t", body="b", entries=[])
    # 县教育局 is not a responsible unit of the 河道 item; the same pair twice.
    with refused(InvalidInput, fields=["entries"]) as info:
        notice_create(
            actor=world.office,
            kind="criticism",
            title="t",
            body="b",
            entries=[(items["env"], world.edu, ""), (items["edu"], world.edu, ""), (items["edu"], world.edu, "")],
        )
    assert len(info.value.fields["entries"]) == 2
    # An item above the drafter's clearance does not exist for them: no hint that it is classified.
    with refused(InvalidInput, fields=["entries"]) as info:
        notice_create(actor=world.office_low, kind="criticism", title="t", body="b", entries=[(items["secret"], world.edu, "")])
    assert "不存在" in str(info.value.fields["entries"][0])
    draft = make_item(ItemStatus.DRAFT, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    with refused(InvalidInput, fields=["entries"]):
        notice_create(actor=world.office, kind="criticism", title="t", body="b", entries=[(draft, world.edu, "")])
    assert not Notice.objects.exists()


def test_update_draft_recomputes_classification(world, items):
    notice = criticism(world, items)
    mark = audit_mark()
    notice = notice_update(
        actor=world.office,
        notice=notice,
        title="新标题",
        entries=[(items["secret"], world.edu, "涉密"), (items["edu"], world.env, "配合不力")],
    )
    assert notice.title == "新标题" and notice.classification == Classification.SECRET and notice.version == 2
    assert list(notice.entries.values_list("item_id", "unit_id", "position")) == [
        (items["secret"].pk, world.edu.pk, 1),
        (items["edu"].pk, world.env.pk, 2),
    ]
    event = assert_one_event(mark, action="notice_updated", actor=world.office)
    assert set(event.data) == {"title", "entries"}
    # A no-op edit writes nothing; an office user without clearance cannot see the draft now.
    mark = audit_mark()
    notice_update(actor=world.office, notice=notice, title="新标题")
    assert new_events(mark) == []
    with refused(NotVisible):
        notice_update(actor=world.office_low, notice=notice, title="x")
    with refused(NotVisible):
        notice_issue(actor=world.office_low, notice=notice)


def test_notice_api_lifecycle(world, items):
    office = client_for(world.office)
    body = {
        "kind": "criticism",
        "title": "关于部分事项落实不力的通报",
        "body": "现予以通报。",
        "entries": [{"item_id": items["edu"].pk, "unit_id": world.edu.pk, "remark": "进展缓慢"}],
    }
    r = office.post("/api/v1/notices/", body, format="json")
    assert r.status_code == 201, r.json()
    notice = r.json()
    assert notice["status"] == "draft" and notice["number"] is None and notice["entries"][0]["item"]["code"] == items["edu"].code
    url = f"/api/v1/notices/{notice['id']}/"
    r = office.patch(url, {"entries": [{"item_id": items["env"].pk, "unit_id": world.env.pk}]}, format="json")
    assert r.status_code == 200, r.json()
    assert [e["item"]["id"] for e in r.json()["entries"]] == [items["env"].pk]
    assert_error(
        office.patch(url, {"entries": [{"item_id": 999999, "unit_id": world.env.pk}]}, format="json"), 400, field="entries"
    )
    assert_error(office.post("/api/v1/notices/", {**body, "kind": "x"}, format="json"), 400, field="kind")
    assert_error(client_for(world.leader).post("/api/v1/notices/", body, format="json"), 403)
    assert_error(client_for(world.leader).post(f"{url}issue/"), 403)
    r = office.post(f"{url}issue/")
    assert r.status_code == 200 and r.json()["number"] == f"督通〔{year()}〕1号"
    assert_error(office.post(f"{url}issue/"), 409, code="notice_issued")
    assert_error(office.patch(url, {"title": "改"}, format="json"), 409, code="notice_issued")
    assert office.get("/api/v1/notices/?kind=criticism&status=issued").json()["count"] == 1
    assert office.get("/api/v1/notices/?kind=praise").json()["count"] == 0
    # PATCH changes only what it names: the recommendation of a praise draft survives a new title.
    r = office.post("/api/v1/notices/", {**body, "kind": "praise", "recommend_to_organization": True}, format="json")
    r = office.patch(f"/api/v1/notices/{r.json()['id']}/", {"title": "表扬通报"}, format="json")
    assert r.status_code == 200 and r.json()["recommend_to_organization"] is True and r.json()["title"] == "表扬通报"


# --- the .docx ------------------------------------------------------------------------------------


def docx_text(content: bytes) -> tuple[str, list[list[str]], Document]:
    document = Document(io.BytesIO(content))
    text = "\n".join(p.text for p in document.paragraphs)
    rows = [[c.text for c in row.cells] for table in document.tables for row in table.rows]
    return text, rows, document


def test_docx_over_http_has_number_title_and_items(world, items):
    notice = notice_issue(actor=world.office, notice=criticism(world, items))
    response = client_for(world.office).get(f"/api/v1/notices/{notice.pk}/docx/")
    assert response.status_code == 200 and response["Content-Type"] == DOCX
    assert notice.number in unquote(response["Content-Disposition"])
    text, rows, document = docx_text(response.content)
    assert notice.number in text and notice.title in text and "部分单位落实不力" in text
    assert rows[0] == ["序号", "台账编号", "事项名称", "责任单位", "办理时限", "情况"]
    assert [r[1] for r in rows[1:]] == [items["edu"].code, items["env"].code]
    assert rows[1][3] == world.edu.name and rows[2][5] == "超期未办结"
    masthead = document.paragraphs[0]
    assert masthead.runs[0].font.color.rgb is not None and str(masthead.runs[0].font.color.rgb) == "E00000"
    body_paragraph = next(p for p in document.paragraphs if "部分单位落实不力" in p.text)
    assert body_paragraph.runs[0].font.size.pt == 16 and body_paragraph.paragraph_format.first_line_indent.pt == 32


def test_docx_prints_only_rows_the_reader_may_see(world, items):
    notice = notice_issue(actor=world.office, notice=criticism(world, items))
    # 县教育局 is named and supports nothing on the 河道 item: it gets its own row only.
    response = client_for(world.edu_handler).get(f"/api/v1/notices/{notice.pk}/docx/")
    assert response.status_code == 200
    text, rows, _ = docx_text(response.content)
    assert [r[1] for r in rows[1:]] == [items["edu"].code] and items["env"].code not in text
    assert client_for(world.town_handler).get(f"/api/v1/notices/{notice.pk}/docx/").status_code == 404


def test_draft_docx_is_marked_unissued(world, items):
    text, rows, _ = docx_text(notice_docx(criticism(world, items)))
    assert "（未印发）" in text and len(rows) == 3


# --- who reads notices ----------------------------------------------------------------------------


def visible_codes(user, notice) -> list[str] | None:
    """The item codes the user sees in the notice, or None if the notice is hidden from them."""
    client = client_for(user)
    listed = [n["id"] for n in client.get("/api/v1/notices/").json()["results"]]
    response = client.get(f"/api/v1/notices/{notice.pk}/")
    assert (response.status_code == 200) == (notice.pk in listed)
    if response.status_code == 404:
        return None
    return [e["item"]["code"] for e in response.json()["entries"]]


def test_named_units_see_issued_notice_with_their_own_rows(world, items):
    notice = criticism(world, items)
    edu_code, env_code = items["edu"].code, items["env"].code
    # A draft: the office, leaders and administrators only.
    assert visible_codes(world.leader, notice) == [edu_code, env_code]
    assert visible_codes(world.admin, notice) == [edu_code, env_code]
    assert visible_codes(world.edu_handler, notice) is None and visible_codes(world.discipline, notice) is None

    notice_issue(actor=world.office, notice=notice)
    assert visible_codes(world.office, notice) == [edu_code, env_code]
    assert visible_codes(world.edu_handler, notice) == [edu_code]
    # 县环保局 supports the 校舍 item, so it may see that row too; the notice names it for 河道.
    assert visible_codes(world.env_handler, notice) == [edu_code, env_code]
    assert visible_codes(world.town_handler, notice) is None
    # Criticism goes to 纪检, without rows for items not referred to them; not to 组织部门.
    assert visible_codes(world.discipline, notice) == []
    assert visible_codes(world.organization, notice) is None
    # Filtering by an item the reader cannot see does not confirm that the notice names it.
    assert client_for(world.edu_handler).get(f"/api/v1/notices/?item={items['env'].pk}").json()["count"] == 0
    assert client_for(world.edu_handler).get(f"/api/v1/notices/?item={items['edu'].pk}").json()["count"] == 1


def test_item_above_clearance_never_leaks_through_a_notice(world, items):
    notice = notice_issue(
        actor=world.office,
        notice=criticism(world, items, entries=[(items["secret"], world.edu, "涉密"), (items["edu"], world.edu, "进展缓慢")]),
    )
    assert notice.classification == Classification.SECRET
    # edu_handler (内部) is named on the 公开 item, but the notice also names a 秘密 one: hidden whole.
    assert visible_codes(world.edu_handler, notice) is None
    assert client_for(world.edu_handler).get(f"/api/v1/notices/{notice.pk}/docx/").status_code == 404
    assert visible_codes(world.edu_head, notice) == [items["secret"].code, items["edu"].code]
    assert visible_codes(world.office_low, notice) is None

    # Raising an item's classification later hides an already issued notice at once.
    plain = notice_issue(actor=world.office, notice=criticism(world, items, entries=[(items["edu"], world.edu, "")]))
    assert visible_codes(world.edu_handler, plain) == [items["edu"].code]
    Item.objects.filter(pk=items["edu"].pk).update(classification=Classification.SECRET)
    assert visible_codes(world.edu_handler, plain) is None
    assert visible_codes(world.edu_head, plain) == [items["edu"].code]


def test_praise_recommended_to_organization(world, items):
    recommended = notice_create(
        actor=world.office,
        kind=NoticeKind.PRAISE,
        title="表扬通报",
        body="成效明显，予以表扬。",
        entries=[(items["env"], world.env, "提前办结")],
        recommend_to_organization=True,
    )
    plain = notice_create(
        actor=world.office, kind=NoticeKind.PRAISE, title="表扬通报二", body="予以表扬。", entries=[(items["env"], world.env, "")]
    )
    assert visible_codes(world.organization, recommended) is None  # not before issue
    notice_issue(actor=world.office, notice=recommended)
    notice_issue(actor=world.office, notice=plain)
    assert visible_codes(world.organization, recommended) == []  # the notice, not the items behind it
    assert visible_codes(world.organization, plain) is None
    assert visible_codes(world.discipline, recommended) is None
    assert visible_codes(world.env_handler, recommended) == [items["env"].code]


def test_refused_notice_requests_write_no_audit_event(world, items):
    notice = notice_issue(actor=world.office, notice=criticism(world, items))
    mark = audit_mark()
    assert_error(client_for(world.office).post(f"/api/v1/notices/{notice.pk}/issue/"), 409)
    assert_error(client_for(world.edu_handler).post(f"/api/v1/notices/{notice.pk}/issue/"), 403)
    assert_error(client_for(world.town_handler).post(f"/api/v1/notices/{notice.pk}/issue/"), 404)
    assert_error(client_for(world.office).post("/api/v1/notices/", {"kind": "praise"}, format="json"), 400)
    assert new_events(mark) == []


def test_notice_list_queries_do_not_grow_with_rows(world, items):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count_queries(user) -> int:
        client = client_for(user)  # creates the token outside the count
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/notices/").status_code == 200
        return len(ctx.captured_queries)

    notice_issue(actor=world.office, notice=criticism(world, items))
    few = {user: count_queries(user) for user in (world.office, world.edu_handler)}
    for _ in range(3):
        notice_issue(actor=world.office, notice=criticism(world, items))
    assert {user: count_queries(user) for user in (world.office, world.edu_handler)} == few


def test_schema_documents_the_accountability_endpoints():
    from django.test import Client

    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in (
        "/api/v1/explanations/",
        "/api/v1/explanations/{id}/",
        "/api/v1/explanations/{id}/submit/",
        "/api/v1/explanations/{id}/rule/",
        "/api/v1/notices/",
        "/api/v1/notices/{id}/",
        "/api/v1/notices/{id}/issue/",
        "/api/v1/notices/{id}/docx/",
    ):
        assert path in schema["paths"], path
    assert DOCX in schema["paths"]["/api/v1/notices/{id}/docx/"]["get"]["responses"]["200"]["content"]
    params = {p["name"] for p in schema["paths"]["/api/v1/explanations/"]["get"]["parameters"]}
    assert {"status", "item", "unit"} <= params
