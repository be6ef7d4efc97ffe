"""How a page shows a service's refusal (STYLE.md habits 2 and 8): the same codes as the API —
404 when the record is not visible, 403 when the user may not act, otherwise the form again with
each message next to its field (or at the top), status 400 / 409 / 412 as the API's. Never a 500."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from supervision.errors import DomainError, NotPermitted, NotVisible

# The API's input names (serializer fields) and the pages' form fields.
FIELD_ALIASES = {
    "lead_unit_id": ("lead_unit",),
    "owner_id": ("owner",),
    "supporting_unit_ids": ("supporting_units",),
    "category_id": ("category",),
    "issuing_leader_id": ("issuing_leader",),
    "attachment_ids": ("attachments",),
    "attachment_id": ("document", "attachments"),
    "file": ("attachments", "document"),
    "entries": ("codes",),
}

# The few messages Django's form fields say, in Chinese whatever the browser asks for.
CHINESE_FIELD_MESSAGES = {
    "required": _("请填写此项。"),
    "invalid": _("格式不正确。"),
    "invalid_choice": _("选择的值无效，请重新选择。"),
    "invalid_list": _("请选择有效的选项。"),
    "invalid_pk_value": _("选择的值无效，请重新选择。"),
    "min_value": _("不能小于 %(limit_value)s。"),
    "max_value": _("不能大于 %(limit_value)s。"),
    "max_length": _("不能超过 %(limit_value)d 个字。"),
    "invalid_date": _("请输入有效的日期，如 2026-12-31。"),
    "invalid_time": _("请输入有效的时间，如 17:30。"),
    "empty": _("上传的文件为空。"),
    "missing": _("没有收到文件。"),
}


class ChineseForm(forms.Form):
    """A form whose field errors are Chinese (the pages' forms derive from it)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            for key in list(field.error_messages):
                if key in CHINESE_FIELD_MESSAGES:
                    field.error_messages[key] = CHINESE_FIELD_MESSAGES[key]
            if isinstance(field, forms.DateField):
                field.error_messages["invalid"] = CHINESE_FIELD_MESSAGES["invalid_date"]
            elif isinstance(field, forms.TimeField):
                field.error_messages["invalid"] = CHINESE_FIELD_MESSAGES["invalid_time"]


def require_office(request) -> None:
    """Pages only the supervision office uses: anyone else gets 403 (as the API's office_only)."""
    if not request.user.is_office:
        raise PermissionDenied(_("只有督查室工作人员可以执行此操作。"))


def raise_if_not_shown(exc: DomainError) -> None:
    """404 and 403 are whole-page answers, not form messages."""
    if isinstance(exc, NotVisible):
        raise Http404(str(exc.message))
    if isinstance(exc, NotPermitted):
        raise PermissionDenied(str(exc.message))


def show_on_forms(exc: DomainError, *forms_: forms.Form, by_prefix: dict | None = None) -> list[str]:
    """Put the refusal's field messages on the matching forms; return what belongs at the top.
    `items-0-owner` goes to the form named `items-0` (`by_prefix`, else the forms' own prefixes),
    `owner` to the form without prefix."""
    raise_if_not_shown(exc)
    top: list[str] = []
    by_prefix = {**{form.prefix or "": form for form in forms_}, **(by_prefix or {})}
    for name, messages in exc.fields.items():
        prefix, _sep, field = name.rpartition("-")
        form = by_prefix.get(prefix)
        if form is not None:
            field = next((f for f in FIELD_ALIASES.get(field, ()) if f in form.fields), field)
        if form is not None and field in form.fields:
            for message in messages:
                form.add_error(field, str(message))
        else:
            top.extend(str(m) for m in messages)
    if not exc.fields or top:
        top.insert(0, str(exc.message))
    return top
