"""Forms of the item page's actions. They parse and check the shape of the input (a date is a
date, a choice is one of the choices); the rules are the services', whose refusals come back onto
these forms next to the field they name."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from supervision.choices import (
    ACCOUNTABILITY_OUTCOMES,
    ReasonKind,
    ReferralDepartment,
    ReferralOutcome,
    ReportKind,
    ReturnVisitResult,
    Ruling,
)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several evidence files in one field; each is stored by services.attachment_upload."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        return [super().clean(data, initial)] if data else []


class ActionForm(forms.Form):
    """Every action form carries the version of the item the user saw (412 if it moved on)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # service field name -> form field name, for refusals that name a field
    field_map: dict[str, str] = {}
    has_files = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Long text and choice lists take the whole row (the template reads `wide`).
        wide = (forms.Textarea, forms.RadioSelect, forms.CheckboxSelectMultiple)
        self.wide = {name for name, field in self.fields.items() if isinstance(field.widget, wide)}

    def field_for(self, service_field: str) -> str | None:
        name = self.field_map.get(service_field, service_field)
        return name if name in self.fields else None


def _textarea(rows=3):
    return forms.Textarea(attrs={"rows": rows})


class CommentForm(ActionForm):
    comment = forms.CharField(label=_("说明"), required=False, widget=_textarea(2))


class RequiredCommentForm(ActionForm):
    comment = forms.CharField(label=_("理由"), widget=_textarea(2))


class EvidenceForm(ActionForm):
    has_files = True
    field_map = {"attachment_ids": "files", "file": "files"}
    # Phones: one button opens the camera, the other the gallery or files (several at once).
    photos = MultipleFileField(
        label=_("拍照上传"), widget=MultipleFileInput(attrs={"accept": "image/*", "capture": "environment", "multiple": True})
    )
    files = MultipleFileField(label=_("佐证材料（可多选）"))

    def all_files(self) -> list:
        return [*self.cleaned_data.get("photos", []), *self.cleaned_data.get("files", [])]


class ReportForm(EvidenceForm):
    kind = forms.ChoiceField(label=_("报告类型"), choices=ReportKind.choices, initial=ReportKind.STAGE)
    progress = forms.IntegerField(label=_("进度（%）"), required=False, min_value=0, max_value=100)
    progress_text = forms.CharField(label=_("工作进展"), widget=_textarea(4))
    results = forms.CharField(label=_("取得成效"), required=False, widget=_textarea(2))
    problems = forms.CharField(label=_("存在问题"), required=False, widget=_textarea(2))
    next_steps = forms.CharField(label=_("下一步计划"), required=False, widget=_textarea(2))

    field_order = ["kind", "progress", "progress_text", "results", "problems", "next_steps", "photos", "files"]


class ExtensionForm(ActionForm):
    requested_deadline = forms.DateField(label=_("申请延至"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("申请理由"), widget=_textarea(3))


class CompletionForm(EvidenceForm):
    outcome = forms.CharField(label=_("办理成效"), widget=_textarea(4), help_text=_("重实绩：写明取得的实际成效"))
    reason = forms.CharField(label=_("申请理由"), widget=_textarea(2))

    field_order = ["outcome", "reason", "photos", "files"]


class ReasonForm(ActionForm):
    reason = forms.CharField(label=_("申请理由"), widget=_textarea(3))


class DecisionForm(ActionForm):
    decision = forms.ChoiceField(
        label=_("审批意见"),
        choices=[("approve", _("同意")), ("reject", _("退回"))],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(label=_("意见说明（退回时必填）"), required=False, widget=_textarea(2))


class SignoffForm(ActionForm):
    """The unit's approver signs (签字同意) or sends back (退回) a request or explanation of the unit."""

    field_map = {"reason": "comment"}
    decision = forms.ChoiceField(
        label=_("签字意见"),
        choices=[("endorse", _("签字同意，报督查室")), ("return", _("退回修改"))],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(label=_("意见说明（退回时必填）"), required=False, widget=_textarea(2))


class ReturnVisitForm(ActionForm):
    result = forms.ChoiceField(label=_("复核结果"), choices=ReturnVisitResult.choices, widget=forms.RadioSelect)
    findings = forms.CharField(label=_("复核情况"), widget=_textarea(3))
    visited_on = forms.DateField(label=_("复核日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    new_deadline = forms.DateField(
        label=_("新的整改时限（未通过时）"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class ReferralForm(ActionForm):
    department = forms.ChoiceField(label=_("移交部门"), choices=ReferralDepartment.choices)
    reason = forms.CharField(label=_("移交理由"), widget=_textarea(3))


class ExplanationForm(EvidenceForm):
    reason_kind = forms.ChoiceField(label=_("原因类型"), choices=ReasonKind.choices, widget=forms.RadioSelect)
    text = forms.CharField(label=_("超期原因"), widget=_textarea(4))

    field_order = ["reason_kind", "text", "photos", "files"]


class RulingForm(ActionForm):
    ruling = forms.ChoiceField(label=_("认定结果"), choices=Ruling.choices, widget=forms.RadioSelect)
    comment = forms.CharField(label=_("认定意见（问责时必填）"), required=False, widget=_textarea(3))
    departments = forms.MultipleChoiceField(
        label=_("移交部门（问责时）"),
        choices=ReferralDepartment.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class LeaderCommentForm(ActionForm):
    """批示、点评 on the item, by a leader or the office. Always on the page beside the actions'
    panel, so its fields carry a prefix (no clash of element ids with the open action's form)."""

    prefix = "comment"
    text = forms.CharField(label=_("批示内容"), max_length=5000, widget=_textarea(3))


class ReferralAcknowledgeForm(ActionForm):
    comment = forms.CharField(label=_("受理意见"), required=False, max_length=2000, widget=_textarea(2))


class ReferralOutcomeForm(ActionForm):
    """处理结果, with the decision document if one is attached (uploaded and filed together)."""

    has_files = True
    field_map = {"attachment_id": "document"}
    outcome = forms.ChoiceField(label=_("处理结果"))
    text = forms.CharField(label=_("处理情况"), max_length=5000, widget=_textarea(3))
    document = forms.FileField(label=_("处理决定等文件（可选）"), required=False)

    def __init__(self, *args, department: str, **kwargs):
        super().__init__(*args, **kwargs)
        # 纪检 decides on accountability only; 组织部门 on accountability or commendation.
        allowed = ACCOUNTABILITY_OUTCOMES if department == ReferralDepartment.DISCIPLINE else ReferralOutcome.values
        self.fields["outcome"].choices = [("", _("请选择"))] + [
            (value, label) for value, label in ReferralOutcome.choices if value in allowed
        ]

    def all_files(self) -> list:
        document = self.cleaned_data.get("document")
        return [document] if document else []
