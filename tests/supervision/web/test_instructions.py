"""批示件登记 + 分解立项 and the instructions pages, through Django's test client: the office
registers and assigns in one step (the same services and audit events as the API), bad input is a
Chinese message next to its field and nothing is written, others get 403 on the form and see
only the instructions and items the visibility rule gives them (404 otherwise)."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.choices import Classification
from supervision.choices import InstructionKind, ItemStatus
from supervision.models import Attachment, AuditEvent, Instruction, Item, OfficeSettings
from supervision.workcalendar import add_workdays, is_workday
from tests.api_helpers import CJK
from tests.factories import CategoryFactory, make_instruction, make_item

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def registration(world, *, rows=None, **fields) -> dict:
    """A complete registration form: one instruction, by default two items for two units."""
    today = timezone.localdate()
    data = {
        "kind": InstructionKind.LEADER_INSTRUCTION,
        "nature": "actionable",
        "title": "关于整治校园周边环境的批示",
        "issuing_leader": str(world.leader.pk),
        "issuer_name": "",
        "document_number": "县委督〔2026〕12号",
        "issued_on": today.isoformat(),
        "text": "请教育局、环保局抓紧整治，按时反馈。",
        "classification": "0",
    }
    data.update(fields)
    rows = (
        rows
        if rows is not None
        else [
            {
                "title": "校园周边交通整治",
                "lead_unit": world.edu.pk,
                "owner": world.edu_handler.pk,
                "supporting_units": [world.env.pk],
                "deadline_mode": "date",
                "deadline": (today + datetime.timedelta(days=20)).isoformat(),
            },
            {
                "title": "校园周边噪声治理",
                "lead_unit": world.env.pk,
                "owner": world.env_handler.pk,
                "deadline_mode": "workdays",
                "deadline_workdays": "10",
            },
        ]
    )
    data.update(
        {"items-TOTAL_FORMS": str(len(rows)), "items-INITIAL_FORMS": "0", "items-MIN_NUM_FORMS": "0", "items-MAX_NUM_FORMS": "50"}
    )
    for n, row in enumerate(rows):
        row = {"urgency": "normal", "reporting_cycle": "none", "deadline_mode": "date", "requirement": "", **row}
        for key, value in row.items():
            data[f"items-{n}-{key}"] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data


def field_errors(response, name: str) -> list[str]:
    form = response.context["form"] if "-" not in name else None
    if form is not None:
        return [str(e) for e in form.errors.get(name, [])]
    prefix, _sep, field = name.rpartition("-")
    row = next(f for f in response.context["formset"].forms if f.prefix == prefix)
    return [str(e) for e in row.errors.get(field, [])]


def test_office_registers_and_assigns_two_items_in_one_step(world):
    category = CategoryFactory(name="民生实事")
    data = registration(world, assign="1")
    data["items-0-category"] = str(category.pk)
    data["attachments"] = [
        SimpleUploadedFile("批示件扫描.pdf", b"%PDF-1.4 scan"),
        SimpleUploadedFile("附件二.pdf", b"%PDF-1.4 two"),
    ]
    response = signed_in(world.office).post("/instructions/new/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    instruction = Instruction.objects.get()
    assert response["Location"] == f"/instructions/{instruction.pk}/"
    assert instruction.issuing_leader == world.leader and instruction.document_number == "县委督〔2026〕12号"
    assert sorted(a.original_name for a in Attachment.objects.filter(instruction=instruction)) == ["批示件扫描.pdf", "附件二.pdf"]
    first, second = Item.objects.filter(instruction=instruction).order_by("id")
    assert (first.status, second.status) == (ItemStatus.ASSIGNED, ItemStatus.ASSIGNED)
    assert first.lead_unit == world.edu and first.owner == world.edu_handler and first.category == category
    assert set(first.assignments.values_list("unit_id", "role")) == {(world.edu.pk, "lead"), (world.env.pk, "supporting")}
    # 10 working days from today, counted on the official calendar when assigned.
    assert second.deadline_workdays == 10 and second.deadline == add_workdays(timezone.localdate(), 10)
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert (
        actions.count("instruction_created") == 1 and actions.count("item_created") == 2 and actions.count("item_assigned") == 2
    )
    # The page after saving shows both items, linked to their item pages.
    page = signed_in(world.office).get(response["Location"]).content.decode()
    assert f'href="/items/{first.pk}/"' in page and "校园周边噪声治理" in page and "已交办" in page


def test_save_as_draft_keeps_items_in_draft_and_skips_blank_rows(world):
    data = registration(world, draft="1")
    data["items-TOTAL_FORMS"] = "3"  # a third row added and left blank
    data.update(
        {"items-2-title": "", "items-2-urgency": "normal", "items-2-reporting_cycle": "none", "items-2-deadline_mode": "date"}
    )
    response = signed_in(world.office).post("/instructions/new/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(Item.objects.values_list("status", flat=True)) == [ItemStatus.DRAFT, ItemStatus.DRAFT]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": ""}, "title", "请填写此项。"),
        ({"issuing_leader": "", "issuer_name": ""}, "issuing_leader", "请选择批示领导或填写外部批示人。"),
        ({"issued_on": "2026-13-40"}, "issued_on", "请输入有效的日期"),
        ({"items-0-owner": "ENV_HANDLER"}, "items-0-owner", "责任人须是牵头单位中密级权限不低于本批示件密级的承办人或负责人。"),
        ({"items-0-supporting_units": ["EDU"]}, "items-0-supporting_units", "配合单位不能与牵头单位相同。"),
        ({"items-1-deadline_workdays": ""}, "items-1-deadline_workdays", "请填写工作日数。"),
        ({"items-1-deadline_workdays": "400"}, "items-1-deadline_workdays", "工作日数须为 1 至 365 的整数。"),
        # The service's own rule, shown next to the item's field: no deadline, no assignment.
        ({"items-0-deadline": ""}, "items-0-deadline", "批办性、指导性事项交办前须明确办理时限。"),
    ],
)
def test_bad_input_is_a_chinese_message_next_to_the_field_and_nothing_is_written(world, change, field, message):
    data = registration(world, assign="1")
    placeholders = {"ENV_HANDLER": str(world.env_handler.pk), "EDU": str(world.edu.pk)}
    for key, value in change.items():
        data[key] = [placeholders.get(v, v) for v in value] if isinstance(value, list) else placeholders.get(value, value)
    events = AuditEvent.objects.count()
    response = signed_in(world.office).post("/instructions/new/", data)
    assert response.status_code == 400
    errors = field_errors(response, field)
    assert any(message in e for e in errors), errors
    assert all(CJK.search(e) for e in errors)
    assert message in response.content.decode()
    assert not Instruction.objects.exists() and not Item.objects.exists() and AuditEvent.objects.count() == events


def test_owner_list_is_the_lead_units_people_cleared_for_the_classification(world):
    office = signed_in(world.office)
    page = office.get("/instructions/owners/", {"items-0-lead_unit": world.edu.pk, "classification": "0"}).content.decode()
    assert f'value="{world.edu_handler.pk}"' in page and f'value="{world.edu_head.pk}"' in page
    assert (
        f'value="{world.env_handler.pk}"' not in page and "edu_handler" in page
    )  # full names (the test county's equal user names)
    # 秘密: the handler (cleared 内部) is no longer offered, the head (秘密) still is and stays chosen.
    page = office.get(
        "/instructions/owners/", {"items-0-lead_unit": world.edu.pk, "classification": "2", "items-0-owner": world.edu_head.pk}
    ).content.decode()
    assert f'value="{world.edu_handler.pk}"' not in page and f'value="{world.edu_head.pk}" selected' in page
    # And the form refuses the handler for a 秘密 instruction even if posted by hand.
    data = registration(world, assign="1", classification="2")
    response = office.post("/instructions/new/", data)
    assert response.status_code == 400 and field_errors(response, "items-0-owner")


def test_working_day_preview_counts_on_the_calendar(world):
    office = signed_in(world.office)
    page = office.get("/instructions/workdays/", {"items-1-deadline_workdays": "5"}).content.decode()
    assert f'data-deadline="{add_workdays(timezone.localdate(), 5).isoformat()}"' in page and "5 个工作日后为" in page
    bad = office.get("/instructions/workdays/", {"items-1-deadline_workdays": "abc"}).content.decode()
    assert "工作日数须为 1 至 365 的整数。" in bad


def test_added_item_row_is_numbered_after_the_others(world):
    page = signed_in(world.office).get("/instructions/new/item-row/", {"index": "3", "classification": "0"}).content.decode()
    assert 'name="items-3-title"' in page and "事项 4" in page and 'hx-get="/instructions/owners/"' in page


@pytest.mark.parametrize("who", ["edu_handler", "edu_head", "leader", "discipline"])
def test_only_the_office_may_register(world, who):
    client = signed_in(getattr(world, who))
    for path in ("/instructions/new/", "/instructions/new/item-row/", "/instructions/owners/", "/instructions/workdays/"):
        assert client.get(path).status_code == 403, path
    assert client.post("/instructions/new/", registration(world, assign="1")).status_code == 403
    assert not Instruction.objects.exists()


def test_signed_out_goes_to_login(world):
    response = Client().get("/instructions/new/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.fixture
def two_units(world):
    """One public instruction with an item for 教育局 and one for 环保局, and a 秘密 instruction."""
    public = make_instruction(office=world.office, title="公开批示")
    edu = make_item(
        ItemStatus.ASSIGNED,
        office=world.office,
        instruction=public,
        lead_unit=world.edu,
        owner=world.edu_handler,
        title="教育局事项",
    )
    env = make_item(
        ItemStatus.ASSIGNED,
        office=world.office,
        instruction=public,
        lead_unit=world.env,
        owner=world.env_handler,
        title="环保局事项",
    )
    secret = make_instruction(office=world.office, title="秘密批示", classification=Classification.SECRET)
    make_item(
        ItemStatus.ASSIGNED,
        office=world.office,
        instruction=secret,
        lead_unit=world.edu,
        owner=world.edu_head,
        title="秘密事项",
        classification=Classification.SECRET,
    )
    other = make_instruction(office=world.office, title="与教育局无关的批示", kind=InstructionKind.MEETING_DECISION)
    return {"public": public, "secret": secret, "other": other, "edu": edu, "env": env}


@pytest.mark.parametrize(
    ("who", "listed"),
    [
        ("office", {"公开批示", "秘密批示", "与教育局无关的批示"}),
        ("office_low", {"公开批示", "与教育局无关的批示"}),  # cleared 内部
        ("leader", {"公开批示", "秘密批示", "与教育局无关的批示"}),
        ("edu_handler", {"公开批示"}),  # 内部: not the 秘密 one, though his unit leads its item
        ("edu_head", {"公开批示", "秘密批示"}),
        ("town_handler", set()),
    ],
)
def test_instruction_list_is_the_visibility_rule(world, two_units, who, listed):
    response = signed_in(getattr(world, who)).get("/instructions/")
    assert response.status_code == 200
    assert {i.title for i in response.context["page"]} == listed


def test_instruction_list_filters_and_refuses_a_bad_filter_in_chinese(world, two_units):
    office = signed_in(world.office)
    response = office.get("/instructions/", {"kind": InstructionKind.MEETING_DECISION})
    assert [i.title for i in response.context["page"]] == ["与教育局无关的批示"]
    response = office.get("/instructions/", {"issued_on_after": "not-a-date"})
    assert response.status_code == 400 and "批示日期起" in response.content.decode()


@pytest.mark.parametrize(
    ("who", "instruction", "status", "items"),
    [
        ("office", "public", 200, {"教育局事项", "环保局事项"}),
        ("leader", "public", 200, {"教育局事项", "环保局事项"}),
        ("edu_handler", "public", 200, {"教育局事项"}),  # not 环保局's item (no sideways copying)
        ("env_head", "public", 200, {"环保局事项"}),
        ("edu_handler", "secret", 404, None),  # above clearance
        ("edu_head", "secret", 200, {"秘密事项"}),
        ("edu_handler", "other", 404, None),  # no item of his unit
        ("town_handler", "public", 404, None),
        ("office_low", "secret", 404, None),
    ],
)
def test_instruction_page_shows_only_visible_items(world, two_units, who, instruction, status, items):
    response = signed_in(getattr(world, who)).get(f"/instructions/{two_units[instruction].pk}/")
    assert response.status_code == status
    if items is not None:
        assert {i.title for i in response.context["items"]} == items


def test_registration_page_opens_for_the_office_with_one_item_row(world):
    response = signed_in(world.office).get("/instructions/new/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="items-0-title"' in page and 'name="items-1-title"' not in page and "登记并立即交办" in page
    # Only the classifications the registrar is cleared for are offered.
    low = signed_in(world.office_low).get("/instructions/new/").content.decode()
    assert "机密" not in low.split('name="classification"')[1].split("</select>")[0]


def test_an_empty_attachment_is_refused_next_to_the_files_field(world):
    data = registration(world, draft="1")
    data["attachments"] = [SimpleUploadedFile("空文件.pdf", b"")]
    response = signed_in(world.office).post("/instructions/new/", data)
    assert response.status_code == 400
    assert any(CJK.search(e) for e in field_errors(response, "attachments")), field_errors(response, "attachments")
    assert "请重新选择附件" in response.content.decode()
    assert not Instruction.objects.exists() and not Attachment.objects.exists()


def test_working_day_preview_beyond_the_calendar_never_fails(world):
    # Whatever the calendar holds, a count of 365 is answered with a date or a Chinese message.
    response = signed_in(world.office).get("/instructions/workdays/", {"items-0-deadline_workdays": "365"})
    assert response.status_code == 200 and CJK.search(response.content.decode())


def decomposition(world, rows) -> dict:
    data = registration(world, rows=rows)
    return {key: value for key, value in data.items() if key.startswith("items-")}


def test_decompose_later_adds_items_to_a_registered_instruction(world, two_units):
    instruction = two_units["other"]
    today = timezone.localdate()
    rows = [
        {
            "title": "特急：当日报送",
            "lead_unit": world.edu.pk,
            "owner": world.edu_head.pk,
            "urgency": "extra_urgent",
            "deadline": (today + datetime.timedelta(days=1)).isoformat(),
            "deadline_time": "17:30",
        },
        {
            "title": "常规事项",
            "lead_unit": world.env.pk,
            "owner": world.env_handler.pk,
            "deadline_mode": "workdays",
            "deadline_workdays": "5",
        },
    ]
    office = signed_in(world.office)
    assert office.get(f"/instructions/{instruction.pk}/decompose/").status_code == 200
    response = office.post(f"/instructions/{instruction.pk}/decompose/", {**decomposition(world, rows), "assign": "1"})
    assert response.status_code == 302 and response["Location"] == f"/instructions/{instruction.pk}/"
    urgent, normal = Item.objects.filter(instruction=instruction).order_by("id")
    assert urgent.status == normal.status == ItemStatus.ASSIGNED
    assert urgent.deadline_time == datetime.time(17, 30) and normal.deadline == add_workdays(today, 5)


def test_decompose_refusals_are_per_row_and_in_chinese(world, two_units):
    instruction = two_units["other"]
    office = signed_in(world.office)
    url = f"/instructions/{instruction.pk}/decompose/"
    # A time of day is for 特急 items only: the service's message next to the row's field.
    rows = [
        {
            "title": "一般事项",
            "lead_unit": world.edu.pk,
            "owner": world.edu_handler.pk,
            "deadline": (timezone.localdate() + datetime.timedelta(days=3)).isoformat(),
            "deadline_time": "17:30",
        }
    ]
    response = office.post(url, {**decomposition(world, rows), "draft": "1"})
    assert response.status_code == 400
    row = response.context["formset"].forms[0]
    assert row.errors["deadline_time"] == ["只有特急事项可以规定当日办结时间。"]
    # Nothing filled in: nothing to register.
    blank = {
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-0-title": "",
        "items-0-urgency": "normal",
        "items-0-reporting_cycle": "none",
        "items-0-deadline_mode": "date",
        "draft": "1",
    }
    response = office.post(url, blank)
    assert response.status_code == 400 and "请至少添加一个督办事项。" in response.content.decode()
    assert not Item.objects.filter(instruction=instruction).exists()


def test_decompose_is_for_the_office_and_visible_instructions_only(world, two_units):
    assert signed_in(world.edu_head).get(f"/instructions/{two_units['public'].pk}/decompose/").status_code == 403
    assert signed_in(world.office_low).get(f"/instructions/{two_units['secret'].pk}/decompose/").status_code == 404


def edit_data(instruction, **changes) -> dict:
    data = {
        "kind": instruction.kind,
        "nature": instruction.nature,
        "title": instruction.title,
        "issuing_leader": str(instruction.issuing_leader_id or ""),
        "issuer_name": instruction.issuer_name,
        "document_number": instruction.document_number,
        "issued_on": instruction.issued_on.isoformat(),
        "text": instruction.text,
        "classification": str(instruction.classification),
        "version": str(instruction.version),
    }
    data.update(changes)
    return data


def test_office_edits_an_instruction_and_a_stale_form_is_refused(world, two_units):
    instruction = two_units["public"]
    office = signed_in(world.office)
    page = office.get(f"/instructions/{instruction.pk}/edit/")
    assert page.status_code == 200 and f'value="{instruction.issued_on.isoformat()}"' in page.content.decode()
    response = office.post(f"/instructions/{instruction.pk}/edit/", edit_data(instruction, document_number="县委督〔2026〕20号"))
    assert response.status_code == 302
    instruction.refresh_from_db()
    assert instruction.document_number == "县委督〔2026〕20号" and instruction.version == 2
    assert AuditEvent.objects.filter(action="instruction_updated").count() == 1
    # A form opened on version 1: someone saved since.
    stale = office.post(f"/instructions/{instruction.pk}/edit/", edit_data(instruction, version="1", title="改标题"))
    assert stale.status_code == 412 and "记录已被他人修改" in stale.content.decode()
    bad = office.post(f"/instructions/{instruction.pk}/edit/", edit_data(instruction, text=""))
    assert bad.status_code == 400 and bad.context["form"].errors["text"] == ["请填写此项。"]
    instruction.refresh_from_db()
    assert instruction.title == "公开批示" and instruction.text


def test_only_the_office_edits_and_only_what_it_sees(world, two_units):
    assert signed_in(world.leader).get(f"/instructions/{two_units['public'].pk}/edit/").status_code == 403
    assert signed_in(world.edu_handler).post(f"/instructions/{two_units['public'].pk}/edit/", {}).status_code == 403
    assert signed_in(world.office_low).get(f"/instructions/{two_units['secret'].pk}/edit/").status_code == 404


def test_sent_with_htmx_success_is_an_hx_redirect_and_a_refusal_the_page_again(world):
    office = signed_in(world.office)
    response = office.post("/instructions/new/", registration(world, assign="1"), HTTP_HX_REQUEST="true")
    instruction = Instruction.objects.get()
    assert response.status_code == 204 and response["HX-Redirect"] == f"/instructions/{instruction.pk}/"
    refused = office.post("/instructions/new/", registration(world, title=""), HTTP_HX_REQUEST="true")
    assert refused.status_code == 400 and 'id="registration-page"' in refused.content.decode()


def test_assigning_where_the_director_must_approve_says_so(world):
    OfficeSettings.objects.update_or_create(pk=1, defaults={"director_approval_required": True})
    office = signed_in(world.office)
    response = office.post("/instructions/new/", registration(world, assign="1"), follow=True)
    assert "已提交督查室主任审批" in response.content.decode()
    assert set(Item.objects.values_list("status", flat=True)) == {ItemStatus.AWAITING_APPROVAL}


def test_a_date_deadline_on_a_rest_day_is_said_live_and_on_the_instruction_page(world):
    office = signed_in(world.office)
    today = timezone.localdate()
    saturday = today + datetime.timedelta(days=(5 - today.weekday()) % 7 + 7)
    while is_workday(saturday):  # a 调休 Saturday: take the next rest day
        saturday += datetime.timedelta(days=1)
    note = office.get("/instructions/workdays/", {"items-0-deadline": saturday.isoformat()}).content.decode()
    assert f"{saturday.isoformat()} 为休息日" in note
    weekday = saturday + datetime.timedelta(days=2)
    while not is_workday(weekday):
        weekday += datetime.timedelta(days=1)
    assert "休息日" not in office.get("/instructions/workdays/", {"items-0-deadline": weekday.isoformat()}).content.decode()
    rows = [{"title": "周末到期", "lead_unit": world.edu.pk, "owner": world.edu_handler.pk, "deadline": saturday.isoformat()}]
    response = office.post("/instructions/new/", registration(world, rows=rows, draft="1"))
    assert response.status_code == 302
    assert 'title="' + f"{saturday.isoformat()} 为休息日" in office.get(response["Location"]).content.decode()
