"""Evidence files (附件): uploaded first, then filed with a report, request, instruction or
explanation, never under two records."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.audit import audit_record
from supervision.errors import InvalidInput
from supervision.models import (
    Attachment,
)
from supervision.stored_files import deleted_if_not_kept


def link_attachments(actor: User, attachment_ids: Iterable[int] | None, field: str, **owner) -> list[Attachment]:
    """Attach files the actor uploaded and has not yet used elsewhere."""
    ids = sorted(set(attachment_ids or []))
    if not ids:
        return []
    found = list(Attachment.objects.select_for_update().filter(pk__in=ids, uploaded_by=actor))
    bad = set(ids) - {a.pk for a in found} | {a.pk for a in found if a.is_linked}
    if bad:
        raise InvalidInput(
            fields={field: [_("附件 %(ids)s 不存在、不是您上传的或已被使用。") % {"ids": ", ".join(map(str, sorted(bad)))}]}
        )
    Attachment.objects.filter(pk__in=ids).update(**owner)
    return found


@transaction.atomic
def attachment_upload(*, actor: User, uploaded_file) -> Attachment:
    """Store an uploaded file; it is linked to a report, request or instruction later."""
    if uploaded_file is None:
        raise InvalidInput(fields={"file": [_("请选择要上传的文件。")]})
    if uploaded_file.size > settings.DUBAN_MAX_ATTACHMENT_BYTES:
        raise InvalidInput(
            fields={
                "file": [
                    _("文件过大，单个附件不能超过 %(mb)s MB。") % {"mb": settings.DUBAN_MAX_ATTACHMENT_BYTES // (1024 * 1024)}
                ]
            }
        )
    if uploaded_file.size == 0:
        raise InvalidInput(fields={"file": [_("文件为空。")]})
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    name = (uploaded_file.name or "file").rsplit("/", 1)[-1][:200]
    attachment = Attachment(original_name=name, size=uploaded_file.size, sha256=digest.hexdigest(), uploaded_by=actor)
    attachment.file.save(name, uploaded_file, save=False)
    with deleted_if_not_kept(attachment.file):
        attachment.save()
        audit_record(actor=actor, action="attachment_uploaded", obj=attachment, data={"name": name, "sha256": attachment.sha256})
    return attachment
