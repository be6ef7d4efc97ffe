"""The form of the office's 疑似重复 queue: which answer (the button pressed) and an optional comment."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from supervision.web.refusals import ChineseForm

LINK, CONFIRM, DISMISS = "link", "confirm", "dismiss"


class SuspicionDecisionForm(ChineseForm):
    """确认重复并合并督办, 确认重复 or 不是重复 (the button pressed), with a comment."""

    decision = forms.ChoiceField(
        choices=[(LINK, _("确认重复并合并督办")), (CONFIRM, _("确认重复")), (DISMISS, _("不是重复"))],
        widget=forms.HiddenInput,
    )
    comment = forms.CharField(
        label=_("处理意见"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("处理意见（可不填）")}),
    )
