"""Evidence files (附件): uploaded first, then filed with a report, request, instruction or
explanation, never under two records."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.audit import audit_record
from supervision.errors import InvalidInput
from supervision.models import (
    Attachment,
    Item,
)
from supervision.stored_files import EVIDENCE_TYPES, deleted_if_not_kept, evidence_type


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}"


def item_attachment_bytes(item: Item) -> int:
    """What evidence already filed on the item weighs: its reports', requests' and explanations'."""
    filed = Attachment.objects.filter(
        Q(report__item=item) | Q(request__item=item) | Q(explanation_link__explanation__item=item)
    ).aggregate(total=Sum("size"))
    return filed["total"] or 0


def check_item_quota(item: Item | None, attachments: Iterable[Attachment], field: str = "attachment_ids") -> None:
    """400 when filing these files would take the item's evidence over DUBAN_MAX_ITEM_ATTACHMENT_BYTES;
    the message names the files that do not fit."""
    if item is None:
        return
    limit = settings.DUBAN_MAX_ITEM_ATTACHMENT_BYTES
    total = item_attachment_bytes(item)
    over = []
    for attachment in sorted(attachments, key=lambda a: a.pk):
        total += attachment.size
        if total > limit:
            over.append(attachment.original_name)
    if over:
        raise InvalidInput(
            fields={
                field: [
                    _("事项“%(code)s”的附件总量不能超过 %(mb)s MB，“%(names)s”放不下了。")
                    % {"code": item.code, "mb": _mb(limit), "names": "”、“".join(over)}
                ]
            }
        )


def claim_attachments(actor: User, attachment_ids: Iterable[int] | None, field: str) -> list[Attachment]:
    """Files the actor uploaded and has not yet used elsewhere, locked; 400 naming any other id."""
    ids = sorted(set(attachment_ids or []))
    if not ids:
        return []
    found = list(Attachment.objects.select_for_update().filter(pk__in=ids, uploaded_by=actor).order_by("pk"))
    bad = set(ids) - {a.pk for a in found} | {a.pk for a in found if a.is_linked}
    if bad:
        raise InvalidInput(
            fields={field: [_("附件 %(ids)s 不存在、不是您上传的或已被使用。") % {"ids": ", ".join(map(str, sorted(bad)))}]}
        )
    return found


def link_attachments(actor: User, attachment_ids: Iterable[int] | None, field: str, **owner) -> list[Attachment]:
    """Attach files the actor uploaded and has not yet used elsewhere."""
    ids = sorted(set(attachment_ids or []))
    found = claim_attachments(actor, ids, field)
    if not found:
        return []
    record = owner.get("report") or owner.get("request")
    check_item_quota(record.item if record is not None else None, found, field)
    Attachment.objects.filter(pk__in=ids).update(**owner)
    return found


@transaction.atomic
def attachment_upload(*, actor: User, uploaded_file) -> Attachment:
    """Store an uploaded file; it is linked to a report, request or instruction later."""
    if uploaded_file is None:
        raise InvalidInput(fields={"file": [_("请选择要上传的文件。")]})
    name = (uploaded_file.name or "file").rsplit("/", 1)[-1][:200]
    if uploaded_file.size > settings.DUBAN_MAX_ATTACHMENT_BYTES:
        raise InvalidInput(
            fields={
                "file": [
                    _("文件“%(name)s”过大，单个附件不能超过 %(mb)s MB。")
                    % {"name": name, "mb": _mb(settings.DUBAN_MAX_ATTACHMENT_BYTES)}
                ]
            }
        )
    if uploaded_file.size == 0:
        raise InvalidInput(fields={"file": [_("文件“%(name)s”为空。") % {"name": name}]})
    # By content, not by name: a renamed program is refused whatever it is called.
    content_type = evidence_type(uploaded_file)
    if content_type is None:
        allowed = "、".join(dict.fromkeys(str(label) for label in EVIDENCE_TYPES.values()))
        raise InvalidInput(
            _("不支持的文件类型。"),
            code="unsupported_file_type",
            fields={
                "file": [
                    _("文件“%(name)s”的内容不是允许的佐证材料类型（%(allowed)s），请转换后重新上传。")
                    % {"name": name, "allowed": allowed}
                ]
            },
        )
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    attachment = Attachment(
        original_name=name, size=uploaded_file.size, sha256=digest.hexdigest(), uploaded_by=actor, content_type=content_type
    )
    attachment.file.save(name, uploaded_file, save=False)
    with deleted_if_not_kept(attachment.file):
        attachment.save()
        audit_record(
            actor=actor,
            action="attachment_uploaded",
            obj=attachment,
            data={"name": name, "sha256": attachment.sha256, "content_type": content_type},
        )
    return attachment
