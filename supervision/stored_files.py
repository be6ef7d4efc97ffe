"""Files written to storage inside a database transaction.

Storage is not transactional: when a service saves an uploaded file and then fails (an invalid row, an audit
write refused, a constraint), the transaction rolls the row back but the file would stay on disk, pointed at by
nothing, possibly evidence from a classified item. Services wrap what follows the file's save in
`deleted_if_not_kept(field_file)`."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

import filetype
from django.db.models.fields.files import FieldFile


@contextmanager
def deleted_if_not_kept(field_file: FieldFile) -> Iterator[None]:
    """Delete the just-saved file if the rest of the service fails (its row is rolled back with it)."""
    try:
        yield
    except BaseException:
        if field_file:
            field_file.delete(save=False)
        raise


# --- What evidence may be (issue 12): an allow-list by content, never by the file's name ------------
# The real type is told by `filetype` (magic numbers, pinned in requirements.txt): a program renamed
# to 整改报告.pdf is still a program. Each entry: detected extension → what the error messages call it.
EVIDENCE_TYPES: dict[str, str] = {
    "pdf": "PDF",
    "jpg": "JPEG 图片",
    "png": "PNG 图片",
    "apng": "PNG 图片",
    "heic": "HEIC 图片（手机照片）",
    "gif": "GIF 图片",
    "webp": "WebP 图片",
    "tif": "TIFF 图片",
    "bmp": "BMP 图片",
    "doc": "Word 文档",
    "docx": "Word 文档",
    "xls": "Excel 表格",
    "xlsx": "Excel 表格",
    "ppt": "PowerPoint 演示文稿",
    "pptx": "PowerPoint 演示文稿",
    "odt": "文档",
    "ods": "表格",
    "zip": "ZIP 压缩包",
    # Told apart below, where filetype sees only a ZIP or an OLE compound file:
    "ofd": "OFD 版式文件",
    "wps": "WPS 或 Office 文档",
}
# Bytes read to tell the type: filetype needs the head only; the OLE check scans further.
_HEAD_BYTES = 8192
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Stream names (UTF-16LE in the OLE directory) of word-processor and spreadsheet files: WPS Office
# writes .wps / .et in this container, as Word 97 does; an installer (.msi) has none of them.
_OLE_DOCUMENT_STREAMS = tuple(
    name.encode("utf-16-le") for name in ("WordDocument", "Workbook", "Book", "PowerPoint Document", "WpsContent")
)


def _read(uploaded_file, limit: int | None = None) -> bytes:
    uploaded_file.seek(0)
    data = uploaded_file.read() if limit is None else uploaded_file.read(limit)
    uploaded_file.seek(0)
    return data


def evidence_type(uploaded_file) -> str | None:
    """The allowed type of an uploaded file by its content (a key of EVIDENCE_TYPES), or None."""
    head = _read(uploaded_file, _HEAD_BYTES)
    kind = filetype.guess(head)
    extension = kind.extension if kind is not None else None
    if extension == "zip":
        # OFD (GB/T 33190) is a ZIP with OFD.xml at its root.
        try:
            uploaded_file.seek(0)
            with zipfile.ZipFile(uploaded_file) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        finally:
            uploaded_file.seek(0)
        return "ofd" if "OFD.xml" in names else "zip"
    if extension is None and head.startswith(_OLE_MAGIC):
        # An OLE compound file filetype does not name (WPS's own formats, some Word/Excel writers).
        body = _read(uploaded_file)
        return "wps" if any(stream in body for stream in _OLE_DOCUMENT_STREAMS) else None
    return extension if extension in EVIDENCE_TYPES else None
