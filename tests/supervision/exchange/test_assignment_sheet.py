"""督办通知单 (issue 12 C): numbered once from the yearly series, a .docx in the official layout
listing each item's units, owner, deadline, requirements and reporting cycle; each reader's copy
lists only the items they can see; the issuer comes from the unit tree or the setting."""

import io
import re

import pytest
from django.utils import timezone
from docx import Document

from supervision import services
from supervision.choices import ItemStatus, ReportingCycle
from supervision.errors import NotPermitted, TransitionNotAllowed
from supervision.exchange.documents import issuer_name
from supervision.models import AssignmentSheet
from tests.api_helpers import assert_error, client_for
from tests.factories import UnitFactory, make_instruction, make_item

pytestmark = pytest.mark.django_db


def text_of(content: bytes) -> str:
    document = Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


@pytest.fixture
def instruction(world):
    instruction = make_instruction(office=world.office, title="关于校园安全整治的批示", document_number="县委〔2026〕8号")
    make_item(
        ItemStatus.ASSIGNED,
        office=world.office,
        instruction=instruction,
        lead_unit=world.edu,
        supporting_units=[world.env],
        owner=world.edu_handler,
        title="校园周边隐患排查",
        requirement="排查全县中小学周边隐患并建立台账",
        reporting_cycle=ReportingCycle.WEEKLY,
    )
    make_item(
        ItemStatus.ASSIGNED,
        office=world.office,
        instruction=instruction,
        lead_unit=world.town,
        owner=world.town_handler,
        title="乡镇学校安保",
    )
    make_item(
        ItemStatus.DRAFT,
        office=world.office,
        instruction=instruction,
        lead_unit=world.env,
        owner=world.env_handler,
        title="草稿事项",
    )
    return instruction


def test_issued_once_with_a_number_from_the_yearly_series(world, instruction):
    year = timezone.localdate().year
    sheet, created = services.assignment_sheet_issue(actor=world.office, instruction=instruction)
    again, created_again = services.assignment_sheet_issue(actor=world.office, instruction=instruction)
    assert created and not created_again and again.pk == sheet.pk
    assert sheet.number == f"督办〔{year}〕1号"
    other = make_instruction(office=world.office)
    make_item(ItemStatus.ASSIGNED, office=world.office, instruction=other, lead_unit=world.edu, owner=world.edu_handler)
    assert services.assignment_sheet_issue(actor=world.office, instruction=other)[0].number == f"督办〔{year}〕2号"


def test_office_only_and_not_before_an_item_is_assigned(world):
    instruction = make_instruction(office=world.office)
    make_item(ItemStatus.DRAFT, office=world.office, instruction=instruction, lead_unit=world.edu, owner=world.edu_handler)
    with pytest.raises(TransitionNotAllowed):
        services.assignment_sheet_issue(actor=world.office, instruction=instruction)
    with pytest.raises(NotPermitted):
        services.assignment_sheet_issue(actor=world.leader, instruction=instruction)


def test_the_docx_holds_the_sheet(world, instruction, settings):
    settings.DUBAN_NOTICE_ISSUER = "中共测试县委督查室"
    office = client_for(world.office)
    url = f"/api/v1/instructions/{instruction.pk}/assignment-sheet/"
    assert_error(office.get(url), 404)  # not issued yet
    issued = office.post(url)
    assert issued.status_code == 201 and issued.json()["download_url"] == url
    response = office.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    text = text_of(response.content)
    document = Document(io.BytesIO(response.content))
    assert document.paragraphs[0].text == "中共测试县委督查室"  # the red masthead
    assert issued.json()["number"] in text and "督办通知单" in text
    assert "关于校园安全整治的批示" in text and "县委〔2026〕8号" in text
    for expected in (
        "校园周边隐患排查",
        "县教育局",
        "县环保局",
        "edu_handler",
        "排查全县中小学周边隐患并建立台账",
        "每周",
        "乡镇学校安保",
        "黄庄乡",
    ):
        assert expected in text, expected
    assert "草稿事项" not in text  # drafts are not sent
    assert "签发人" in text and "责任单位签收人" in text
    header = [cell.text for cell in document.tables[0].rows[0].cells]
    assert header == ["序号", "台账编号", "督办事项", "牵头单位", "配合单位", "责任人", "办理时限", "目标要求", "反馈周期"]
    assert office.post(url).status_code == 200  # the same sheet again
    # The item page links it.
    item = instruction.items.get(title="校园周边隐患排查")
    assert office.get(f"/api/v1/items/{item.pk}/").json()["assignment_sheet_url"] == url


def test_a_units_copy_lists_only_its_items(world, instruction):
    client_for(world.office).post(f"/api/v1/instructions/{instruction.pk}/assignment-sheet/")
    response = client_for(world.town_handler).get(f"/api/v1/instructions/{instruction.pk}/assignment-sheet/")
    text = text_of(response.content)
    assert "乡镇学校安保" in text and "校园周边隐患排查" not in text
    assert client_for(world.discipline).get(f"/api/v1/instructions/{instruction.pk}/assignment-sheet/").status_code == 404


def test_the_issuer_comes_from_the_unit_tree_unless_set(world, settings):
    settings.DUBAN_NOTICE_ISSUER = ""
    assert issuer_name() == "县委督查室"  # under 县委办公室: no county committee to name
    county = UnitFactory(name="中共云溪县委", parent=None)
    world.party_office.parent = county
    world.party_office.save()
    assert issuer_name() == "中共云溪县委督查室"
    settings.DUBAN_NOTICE_ISSUER = "中共某县委督查室"
    assert issuer_name() == "中共某县委督查室"


def test_the_office_issues_the_sheet_from_the_instruction_page_and_readers_find_it_on_their_items(world, instruction):
    """Pages: the instruction page's 印发督办通知单 button (office only) numbers the sheet once; then
    the instruction page and each item page link to the .docx, whose copy lists what the reader sees."""
    from tests.supervision.web.helpers import page_client

    office = page_client(world.office)
    page = office.get(f"/instructions/{instruction.pk}/").content.decode()
    assert 'id="issue-sheet"' in page and "data-sheet-number" not in page
    handler = page_client(world.edu_handler)
    assert handler.post(f"/instructions/{instruction.pk}/sheet/").status_code == 403  # unit users may not issue
    response = office.post(f"/instructions/{instruction.pk}/sheet/", follow=True)
    html = response.content.decode()
    number = re.search(r'data-sheet-number="([^"]+)"', html).group(1)
    assert "督办通知单已印发：" + number in html and 'id="issue-sheet"' not in html
    office.post(f"/instructions/{instruction.pk}/sheet/")  # pressed twice: the same number, not a second one
    assert list(AssignmentSheet.objects.filter(instruction=instruction).values_list("number", flat=True)) == [number]
    item = instruction.items.get(title="校园周边隐患排查")
    item_page = handler.get(f"/items/{item.pk}/").content.decode()
    link = re.search(r'<dd id="assignment-sheet"><a href="([^"]+)" data-sheet-number="([^"]+)"', item_page)
    assert link and link.group(2) == number
    copy = text_of(handler.get(link.group(1)).content)
    assert number in copy and "校园周边隐患排查" in copy and "乡镇学校安保" not in copy
