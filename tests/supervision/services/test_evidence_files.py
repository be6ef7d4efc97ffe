"""Evidence files by content, not by name (issue 12 F): the allow-list, the sizes, the messages."""

import io
import zipfile

import pytest
from django.core.files.base import ContentFile
from docx import Document
from openpyxl import Workbook

from supervision import services
from supervision.choices import ItemStatus
from supervision.errors import InvalidInput
from supervision.models import Attachment
from tests.api_helpers import assert_error, client_for
from tests.factories import HEIC, JPEG, PDF, PNG, make_item, upload

pytestmark = pytest.mark.django_db

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    document = Document()
    document.add_paragraph("整改情况说明")
    document.save(buffer)
    return buffer.getvalue()


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    workbook = Workbook()
    workbook.active["A1"] = "台账"
    workbook.save(buffer)
    return buffer.getvalue()


def zip_bytes(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def wps_bytes() -> bytes:
    # An OLE compound file with a WordDocument stream named in its directory (how WPS saves .wps).
    return OLE + b"\x00" * 504 + "WordDocument".encode("utf-16-le") + b"\x00" * 64


ALLOWED = [
    ("现场照片.jpg", JPEG, "jpg"),
    ("IMG_0001.HEIC", HEIC, "heic"),
    ("截图.png", PNG, "png"),
    ("验收报告.pdf", PDF, "pdf"),
    ("情况说明.docx", docx_bytes(), "docx"),
    ("台账.xlsx", xlsx_bytes(), "xlsx"),
    ("材料.zip", zip_bytes("a.txt"), "zip"),
    ("电子公文.ofd", zip_bytes("OFD.xml", "Doc_0/Document.xml"), "ofd"),
    ("汇报.wps", wps_bytes(), "wps"),
    # The name does not matter either way: a photo sent without its extension is still a photo.
    ("微信图片", JPEG, "jpg"),
]


@pytest.mark.parametrize(("name", "content", "kind"), ALLOWED, ids=[a[2] + "-" + a[0] for a in ALLOWED])
def test_allowed_types_are_told_by_content(world, name, content, kind):
    attachment = upload(world.edu_handler, content, name)
    assert attachment.content_type == kind and attachment.original_name == name


REFUSED = [
    ("整改报告.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 64),  # a renamed .exe
    ("照片.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 64),  # a renamed Linux program
    ("说明.docx", b"<html><script>alert(1)</script></html>"),
    ("安装包.doc", OLE + b"\x00" * 600),  # OLE without a document stream: an .msi, say
    ("笔记.txt", "纯文本说明".encode()),
]


@pytest.mark.parametrize(("name", "content"), REFUSED, ids=[r[0] for r in REFUSED])
def test_other_content_is_refused_naming_the_file(world, name, content):
    with pytest.raises(InvalidInput) as info:
        upload(world.edu_handler, content, name)
    assert info.value.code == "unsupported_file_type"
    assert name in info.value.fields["file"][0]
    assert not Attachment.objects.exists()


def test_renamed_exe_is_a_400_over_the_api(world):
    exe = ContentFile(b"MZ\x90\x00" + b"\x00" * 200, name="整改验收报告.pdf")
    response = client_for(world.edu_handler).post("/api/v1/attachments/", {"file": exe}, format="multipart")
    body = assert_error(response, 400, code="unsupported_file_type", field="file")
    assert "整改验收报告.pdf" in body["fields"]["file"][0]
    assert not Attachment.objects.exists()


def test_file_size_limit_names_the_file(world, settings):
    settings.DUBAN_MAX_ATTACHMENT_BYTES = 1024
    with pytest.raises(InvalidInput) as info:
        upload(world.edu_handler, PDF + b"x" * 1024, "大文件.pdf")
    assert "大文件.pdf" in info.value.fields["file"][0]


def test_item_limit_counts_everything_filed_on_the_item(world, settings):
    item = make_item(ItemStatus.ACKNOWLEDGED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    settings.DUBAN_MAX_ITEM_ATTACHMENT_BYTES = 2 * len(PDF) + 10
    first, second = upload(world.edu_handler, PDF, "一.pdf"), upload(world.edu_handler, PDF, "二.pdf")
    services.progress_report_create(
        actor=world.edu_handler, item=item, progress_text="第一阶段", attachment_ids=[first.pk, second.pk]
    )
    third = upload(world.edu_handler, PDF, "三.pdf")
    with pytest.raises(InvalidInput) as info:
        services.progress_report_create(actor=world.edu_handler, item=item, progress_text="第二阶段", attachment_ids=[third.pk])
    assert "三.pdf" in info.value.fields["attachment_ids"][0] and item.code in info.value.fields["attachment_ids"][0]
    assert item.reports.count() == 1 and not Attachment.objects.get(pk=third.pk).is_linked
