"""Forms of the office's queues: deciding requests, return visits, rulings on overdue
explanations, export approvals. Each carries the item's version where the service checks it, so
a form someone else overtook is refused as stale (412), not applied to a state its user never saw."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.choices import Classification, TranslatedLabels
from accounts.models import User
from supervision import selectors
from supervision.choices import APPROVABLE_CHOICES, NoticeKind, ReferralDepartment, ReturnVisitResult, Ruling
from supervision.web.forms.items import PlainSelect
from supervision.web.refusals import ChineseForm
from supervision.workcalendar import within_supported_years


class VersionedForm(ChineseForm):
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class DecisionForm(VersionedForm):
    """批准 or 退回 (the button pressed); a send-back needs a reason (the service says so)."""

    decision = forms.ChoiceField(choices=[("approve", _("批准")), ("reject", _("退回"))], widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("审批意见"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("退回时须说明理由")}),
    )


class ApprovalForm(VersionedForm):
    """督查室主任: 批准交办 or 退回 (the button pressed); a return needs a reason."""

    decision = forms.ChoiceField(choices=[("approve", _("批准交办")), ("return", _("退回"))], widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("意见"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("退回时须说明理由")}),
    )


class ReturnVisitForm(VersionedForm):
    result = forms.ChoiceField(label=_("复核结果"), choices=ReturnVisitResult.choices, widget=forms.RadioSelect)
    findings = forms.CharField(label=_("复核情况"), max_length=10000, widget=forms.Textarea(attrs={"rows": 2}))
    visited_on = forms.DateField(
        label=_("复核日期"),
        required=False,
        validators=[within_supported_years],
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    new_deadline = forms.DateField(
        label=_("重新整改时限"),
        required=False,
        validators=[within_supported_years],
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text=_("复核未通过时填写"),
    )


class RulingForm(ChineseForm):
    ruling = forms.ChoiceField(label=_("认定结果"), choices=Ruling.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        label=_("认定意见"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("问责须写明认定意见")}),
    )
    departments = forms.MultipleChoiceField(
        label=_("移交部门（问责）"),
        choices=ReferralDepartment.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("不选则按默认移交纪检监察机关"),
    )


class PersonWithUnitChoiceField(forms.ModelChoiceField):
    # Every cleared person of the tree: thousands of options in a province, 150 ms through Django's
    # per-option templates.
    widget = PlainSelect

    def label_from_instance(self, obj):
        unit = obj.unit.name if obj.unit_id else ""
        clearance = CLEARANCE_LABELS[obj.clearance]
        return f"{obj}（{unit}，{clearance}）" if unit else f"{obj}（{clearance}）"


CLEARANCE_LABELS = TranslatedLabels(Classification.choices)


class ExportApprovalGrantForm(ChineseForm):
    grantee = PersonWithUnitChoiceField(label=_("被批准人"), queryset=User.objects.none(), empty_label=_("请选择"))
    classification = forms.TypedChoiceField(label=_("准予导出的密级"), coerce=int, choices=APPROVABLE_CHOICES)
    reason = forms.CharField(label=_("批准事由"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    valid_from = forms.DateField(
        label=_("生效日期"),
        required=False,
        validators=[within_supported_years],
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    valid_until = forms.DateField(
        label=_("截止日期（含当日）"),
        validators=[within_supported_years],
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only people who could ever need one: cleared to 秘密 or above.
        self.fields["grantee"].queryset = (
            User.objects.filter(is_active=True, clearance__gte=Classification.SECRET)
            .select_related("unit")
            .order_by("unit__path", "full_name", "pk")
        )


class RevokeForm(ChineseForm):
    reason = forms.CharField(label=_("撤销理由"), required=False, max_length=5000)


class NoticeDraftForm(ChineseForm):
    """起草通报: kind, title, body and the items by ledger code (台账编号), each naming its lead unit."""

    kind = forms.ChoiceField(label=_("通报类型"), choices=NoticeKind.choices)
    title = forms.CharField(label=_("标题"), max_length=200)
    body = forms.CharField(label=_("正文"), widget=forms.Textarea(attrs={"rows": 4}))
    codes = forms.CharField(
        label=_("通报事项（台账编号）"),
        help_text=_("多个编号用逗号、空格或换行分隔，如 DB-2026-0001, DB-2026-0002；通报其牵头单位"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    recommend_to_organization = forms.BooleanField(label=_("向组织部门推荐（表扬通报）"), required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_codes(self):
        codes = list(dict.fromkeys(c for c in re.split(r"[\s,，、;；]+", self.cleaned_data["codes"].strip().upper()) if c))
        # Only items the registrar can see; an invisible code reads as unknown (no leak).
        found = {i.code: i for i in selectors.item_list(user=self.user).filter(code__in=codes).select_related("lead_unit")}
        missing = [c for c in codes if c not in found]
        if missing:
            raise forms.ValidationError(_("台账编号不存在：%(codes)s") % {"codes": "、".join(missing)})
        no_lead = [c for c in codes if not found[c].lead_unit_id]
        if no_lead:
            raise forms.ValidationError(_("事项没有牵头单位：%(codes)s") % {"codes": "、".join(no_lead)})
        return [found[c] for c in codes]

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        items = data.pop("codes")
        data["entries"] = [(item, item.lead_unit, "") for item in items]
        return data
