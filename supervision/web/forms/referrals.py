"""Forms of 移交线索: the receiving department's 受理 and its outcome (处理结果), parsed as the API's
ReferralAcknowledgeInput and ReferralOutcomeInput; the service decides the rest."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from supervision.choices import ACCOUNTABILITY_OUTCOMES, ReferralDepartment, ReferralOutcome
from supervision.web.refusals import ChineseForm


class ReferralAcknowledgeForm(ChineseForm):
    comment = forms.CharField(label=_("受理意见"), required=False, max_length=2000)


class ReferralOutcomeForm(ChineseForm):
    outcome = forms.ChoiceField(label=_("处理结果"))
    text = forms.CharField(label=_("处理情况"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    document = forms.FileField(label=_("处理决定等文件（可选）"), required=False)

    def __init__(self, *args, department: str, **kwargs):
        super().__init__(*args, **kwargs)
        # 纪检 decides on accountability only; 组织部门 on accountability or commendation.
        allowed = ACCOUNTABILITY_OUTCOMES if department == ReferralDepartment.DISCIPLINE else ReferralOutcome.values
        self.fields["outcome"].choices = [("", _("请选择"))] + [
            (v, label) for v, label in ReferralOutcome.choices if v in allowed
        ]
