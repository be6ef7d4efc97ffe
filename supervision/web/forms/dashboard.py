"""The dashboard's filter form. It only renders the inputs (names equal the stats API's query
parameters); the checking is done by the stats API's own parsing (selectors.parse), so the page
and the API accept and refuse exactly the same queries."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from accounts.models import Unit, User
from accounts.signin import SignInGuardMixin
from supervision.choices import InstructionKind, Urgency
from supervision.models import Category
from supervision.stats import ORDERS
from supervision.stats.instruction import instruction_choices, instruction_label

ORDER_LABELS = {
    "implementation_rate": _("落实率由低到高"),
    "on_time_rate": _("按时办结率由低到高"),
    "overdue": _("超期由多到少"),
    "due": _("应办结由多到少"),
    "name": _("单位名称"),
}

# Labels for the error messages of parameters the form does not show (any items-list filter works).
EXTRA_LABELS = {
    "months": _("趋势月数"),
    "status": _("状态"),
    "light": _("红黄绿灯"),
    "lead_unit": _("牵头单位"),
    "supporting_unit": _("配合单位"),
    "owner": _("责任人"),
    "deadline": _("办理时限"),
    "closed": _("销号日期"),
    "created": _("立项日期"),
    "overdue": _("是否超期"),
    "reopened": _("是否重新办理"),
    "closed_on_time": _("按时办结"),
    "ordering": _("排序"),
}


class LoginForm(SignInGuardMixin, AuthenticationForm):
    """Django's login form with our own Chinese messages (whatever language the browser asks for)."""

    error_messages = {
        "invalid_login": _("用户名或密码不正确。"),
        "inactive": _("该账号已停用，请联系督查室。"),
    }


def _all(label) -> list[tuple[str, str]]:
    return [("", label)]


class DashboardFilterForm(forms.Form):
    quarter = forms.CharField(label=_("季度"), required=False, widget=forms.TextInput(attrs={"placeholder": "2026Q3", "size": 8}))
    period_start = forms.DateField(label=_("统计期起"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("统计期止"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    instruction = forms.CharField(
        label=_("批示件 / 会议（文号或标题）"),
        required=False,
        widget=forms.TextInput(attrs={"list": "instruction-options", "autocomplete": "off", "placeholder": _("输入文号或标题")}),
    )
    unit = forms.ChoiceField(label=_("责任单位（含下级）"), required=False)
    issuing_leader = forms.ChoiceField(label=_("批示领导"), required=False)
    instruction_kind = forms.ChoiceField(label=_("来源类型"), required=False)
    category = forms.ChoiceField(label=_("类别"), required=False)
    urgency = forms.ChoiceField(label=_("紧急程度"), required=False)
    order = forms.ChoiceField(label=_("单位排名"), required=False)

    def __init__(self, *args, user: User | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The picker: a datalist of the instructions the viewer may see (value = id, label = 文号 标题);
        # typing fetches matching ones (dashboard.js → /dashboard/instructions/options/?q=).
        self.instruction_choices = instruction_choices(user=user) if user is not None else []
        chosen = self.data.get("instruction") if self.is_bound else None
        self.instruction_label = (
            instruction_label(user=user, instruction_id=chosen) if user and chosen and chosen.isdigit() else ""
        )
        units = Unit.objects.filter(is_active=True).only("pk", "name", "path").order_by("path")
        # Unit names are not classified; the tree is indented by depth so a subtree reads as one.
        self.fields["unit"].choices = _all(_("全部单位")) + [
            (str(u.pk), "\u3000" * (u.path.count("/") - 1) + u.name) for u in units
        ]
        leaders = User.objects.filter(is_active=True, role_assignments__role=Role.LEADER).distinct().order_by("full_name", "pk")
        self.fields["issuing_leader"].choices = _all(_("全部领导")) + [(str(u.pk), str(u)) for u in leaders]
        self.fields["instruction_kind"].choices = _all(_("全部来源")) + list(InstructionKind.choices)
        self.fields["category"].choices = _all(_("全部类别")) + [(str(c.pk), c.name) for c in Category.objects.all()]
        self.fields["urgency"].choices = _all(_("全部")) + list(Urgency.choices)
        self.fields["order"].choices = [(o, ORDER_LABELS[o]) for o in ORDERS]

    @classmethod
    def label_for(cls, field: str) -> str:
        if field in cls.base_fields:
            return str(cls.base_fields[field].label)
        base = field.removesuffix("_after").removesuffix("_before")
        return str(EXTRA_LABELS.get(field) or EXTRA_LABELS.get(base) or field)
