"""File downloads over the API (Excel/CSV ledger, quarterly workbook, notice .docx): one way to
name the file and one way to keep errors JSON when a client asked for a file."""

from __future__ import annotations

import logging

from django.http import FileResponse
from django.utils.encoding import escape_uri_path
from django.utils.translation import gettext as _
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from supervision.errors import NotVisible
from supervision.exchange.export import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE

logger = logging.getLogger(__name__)


def as_attachment(response, *, filename: str, ascii_filename: str):
    """An ASCII name for old clients, the Chinese one (RFC 5987) for everyone else."""
    response["Content-Disposition"] = f"attachment; filename=\"{ascii_filename}\"; filename*=UTF-8''{escape_uri_path(filename)}"
    return response


class FileRenderer(BaseRenderer):
    """Lets a client ask for a file by media type or `format` without a 406/404. The file itself is
    an HttpResponse/FileResponse/StreamingHttpResponse, so this only ever renders error bodies, as JSON."""

    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data, renderer_context=renderer_context)


class XlsxRenderer(FileRenderer):
    media_type = XLSX_CONTENT_TYPE
    format = "xlsx"


class CsvRenderer(FileRenderer):
    media_type = CSV_CONTENT_TYPE.split(";")[0]
    format = "csv"


class FileErrorsAsJsonMixin:
    """An error answered to a file request is still JSON, and says so in its content type."""

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and isinstance(getattr(request, "accepted_renderer", None), FileRenderer):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


def evidence_file_response(attachment) -> FileResponse:
    """An uploaded file, always as application/octet-stream (what the schema promises): a type
    guessed from the uploader's file name would let an .html or .svg "evidence" file be rendered
    by a browser; the original name still travels in Content-Disposition."""
    try:
        handle = attachment.file.open("rb")
    except OSError:
        # The record is there but storage lost the file (a restore without the media folder, a
        # disk cleaned by hand): say so in Chinese, and tell the operators, instead of a 500.
        logger.error("attachment %s: file %r missing from storage", attachment.pk, attachment.file.name)
        raise NotVisible(
            _("附件“%(name)s”的文件已不在服务器上，请联系督查室重新上传。") % {"name": attachment.original_name},
            code="attachment_file_missing",
        ) from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type="application/octet-stream",
    )
