"""The ledger list's filter form (台账). It renders the inputs; the checking is ItemFilterSet's,
the API's own, so the page and /api/v1/items/ accept and refuse the same queries."""

from __future__ import annotations

import html

from django import forms
from django.forms.utils import flatatt
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from accounts.models import Unit, User
from supervision.choices import InstructionKind, ItemStatus, Light, Urgency
from supervision.models import Category

PAGE_SIZES = (20, 50, 100)
ORDERINGS = (
    ("", _("最新立项在前")),
    ("deadline", _("办理时限由近到远")),
    ("-deadline", _("办理时限由远到近")),
    ("warning_date", _("预警日期由近到远")),
    ("code", _("台账编号")),
    ("-updated_at", _("最近更新在前")),
)


def _all(label) -> list[tuple[str, str]]:
    return [("", label)]


class PlainSelect(forms.Select):
    """A <select> written in Python. Django's widget renders every <option> through the template
    engine: for the office, the ledger's lists of units and leaders made the filter form the
    largest cost of the page (a profile of /items/ at a million items, bench/README.md "Pages").
    Same HTML: name, id and the field's attributes, the value selected."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        selected = False
        options = []
        # The standard library's escape (Django's is the same over a lazy wrapper that costs more
        # than the escaping, once per option).
        for option, label in self.choices:
            here = not selected and str(option) in chosen
            selected = selected or here
            options.append(
                f'<option value="{html.escape(str(option))}"{" selected" if here else ""}>{html.escape(str(label))}</option>'
            )
        select_attrs = flatatt(self.build_attrs(self.attrs, {**(attrs or {}), "name": name}))
        return mark_safe(f"<select{select_attrs}>{''.join(options)}</select>")  # every part escaped above


class ListedChoiceField(forms.ChoiceField):
    """A ChoiceField whose choices are read from the database as (value, label) strings, shown with
    PlainSelect. Django normalizes choices on every assignment, for the field and again for its
    widget, at ~15 µs an option (an import inside the call): for the office's hundreds of units and
    people that was most of the filter form's time. Lists of pairs need no normalizing."""

    widget = PlainSelect

    @property
    def choices(self):
        return self._choices

    @choices.setter
    def choices(self, value):
        self._choices = self.widget._choices = list(value)


class LedgerFilterForm(forms.Form):
    q = forms.CharField(label=_("搜索"), required=False, widget=forms.TextInput(attrs={"placeholder": _("事项名称或台账编号")}))
    status = forms.ChoiceField(label=_("状态"), required=False, widget=PlainSelect)
    light = forms.ChoiceField(label=_("红黄绿灯"), required=False, widget=PlainSelect)
    overdue = forms.ChoiceField(label=_("是否超期"), required=False, widget=PlainSelect)
    unit = ListedChoiceField(label=_("责任单位（含下级）"), required=False)
    owner = ListedChoiceField(label=_("责任人"), required=False)
    category = ListedChoiceField(label=_("类别"), required=False)
    instruction_kind = forms.ChoiceField(label=_("来源类型"), required=False, widget=PlainSelect)
    issuing_leader = ListedChoiceField(label=_("批示领导"), required=False)
    urgency = forms.ChoiceField(label=_("紧急程度"), required=False, widget=PlainSelect)
    deadline_after = forms.DateField(label=_("办理时限起"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    deadline_before = forms.DateField(label=_("办理时限止"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    ordering = forms.ChoiceField(label=_("排序"), required=False, choices=ORDERINGS, widget=PlainSelect)
    page_size = forms.ChoiceField(
        label=_("每页"), required=False, choices=[(str(n), str(n)) for n in PAGE_SIZES], widget=PlainSelect
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _all(_("全部状态")) + list(ItemStatus.choices)
        self.fields["light"].choices = _all(_("全部")) + [c for c in Light.choices if c[0] != Light.NONE]
        self.fields["overdue"].choices = _all(_("不限")) + [("true", _("超期")), ("false", _("未超期"))]
        # Unit names are not classified; a unit user picks among their own unit's subtree.
        units = Unit.objects.filter(is_active=True).order_by("path")
        if not user.sees_whole_ledger and user.unit_id:
            units = units.filter(path__startswith=user.unit.path)
        self.fields["unit"].choices = _all(_("全部单位")) + [
            (str(pk), "\u3000" * (path.count("/") - 1) + name) for pk, name, path in units.values_list("pk", "name", "path")
        ]
        self.fields["owner"].choices = _all(_("全部")) + self._owner_choices(user)
        self.fields["category"].choices = _all(_("全部类别")) + [
            (str(pk), name) for pk, name in Category.objects.values_list("pk", "name")
        ]
        self.fields["instruction_kind"].choices = _all(_("全部来源")) + list(InstructionKind.choices)
        leaders = (
            User.objects.filter(is_active=True, role_assignments__role=Role.LEADER)
            .distinct()
            .order_by("full_name", "pk")
            .values_list("pk", "full_name", "username")
        )
        self.fields["issuing_leader"].choices = _all(_("全部领导")) + [(str(pk), full or user) for pk, full, user in leaders]
        self.fields["urgency"].choices = _all(_("全部")) + list(Urgency.choices)

    def _owner_choices(self, user: User) -> list[tuple[str, str]]:
        """The people of the chosen unit and its sub-units (a unit user: of their own unit). The
        whole ledger's thousands of people in one list would be most of the page's weight; a person
        named in the URL stays selectable."""
        owners = User.objects.filter(is_active=True, role_assignments__role__in=[Role.UNIT_HANDLER, Role.UNIT_HEAD])
        chosen = Unit.objects.filter(pk=self.data.get("unit")).first() if str(self.data.get("unit", "")).isdigit() else None
        if chosen is not None:
            owners = owners.filter(unit__path__startswith=chosen.path)
        elif not user.sees_whole_ledger and user.unit_id:
            owners = owners.filter(unit_id=user.unit_id)
        elif str(self.data.get("owner", "")).isdigit():
            owners = owners.filter(pk=self.data["owner"])
        else:
            self.fields["owner"].help_text = _("先选择单位")
            return []
        owners = owners.distinct().order_by("full_name", "pk").values_list("pk", "full_name", "username")
        return [(str(pk), full or user) for pk, full, user in owners[:500]]

    @classmethod
    def label_for(cls, field: str) -> str:
        if field in cls.base_fields:
            return str(cls.base_fields[field].label)
        base = field.removesuffix("_after").removesuffix("_before")
        return str(getattr(cls.base_fields.get(f"{base}_after"), "label", None) or field)
