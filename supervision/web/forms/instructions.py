"""Forms of 批示件登记 + 分解立项 and of the instructions list. They parse and check what a form
can check on its own (required fields, choices, the owner among the lead unit's cleared people);
the services check the rest and their refusals come back onto these forms (web/refusals.py)."""

from __future__ import annotations

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.choices import Classification, Role
from accounts.models import Unit, User
from supervision import selectors
from supervision.choices import InstructionKind, InstructionNature, ReportingCycle, Urgency
from supervision.models import Category
from supervision.web.refusals import ChineseForm
from supervision.workcalendar import within_supported_years

DEADLINE_BY_DATE, DEADLINE_BY_WORKDAYS = "date", "workdays"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


def _units():
    return Unit.objects.filter(is_active=True).order_by("path")


def unit_label(unit: Unit) -> str:
    # Indented by depth, so a subtree reads as one (as on the dashboard).
    return "\u3000" * (unit.path.count("/") - 1) + unit.name


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return unit_label(obj)


class UnitMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return unit_label(obj)


class PersonChoiceField(forms.ModelChoiceField):
    """People by full name and title, never by user name."""

    def label_from_instance(self, obj):
        return f"{obj}（{obj.title}）" if obj.title else str(obj)


class InstructionForm(ChineseForm):
    """批示件: what the API's InstructionInput takes, plus the scanned files."""

    kind = forms.ChoiceField(label=_("来源类型"), choices=InstructionKind.choices)
    nature = forms.ChoiceField(label=_("批示性质"), choices=InstructionNature.choices, initial=InstructionNature.ACTIONABLE)
    title = forms.CharField(label=_("标题"), max_length=200)
    issuing_leader = PersonChoiceField(
        label=_("批示领导"), queryset=User.objects.none(), required=False, empty_label=_("（外部批示人）")
    )
    issuer_name = forms.CharField(
        label=_("外部批示人"), max_length=100, required=False, help_text=_("上级领导等不在本系统中的批示人")
    )
    document_number = forms.CharField(label=_("文号"), max_length=100, required=False)
    issued_on = forms.DateField(
        label=_("批示日期"),
        validators=[within_supported_years],
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    text = forms.CharField(label=_("批示内容"), widget=forms.Textarea(attrs={"rows": 4}))
    classification = forms.TypedChoiceField(
        label=_("密级"), coerce=int, choices=Classification.choices, initial=Classification.PUBLIC
    )
    attachments = MultipleFileField(label=_("批示件扫描件等附件"), required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["issuing_leader"].queryset = (
            User.objects.filter(is_active=True, role_assignments__role=Role.LEADER).distinct().order_by("full_name", "pk")
        )
        # Nobody registers above their own clearance (the service says so too).
        self.fields["classification"].choices = [(v, label) for v, label in Classification.choices if v <= user.clearance]

    def clean(self):
        data = super().clean()
        if not data.get("issuing_leader") and not (data.get("issuer_name") or "").strip() and "issuing_leader" not in self.errors:
            self.add_error("issuing_leader", _("请选择批示领导或填写外部批示人。"))
        return data

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("attachments", None)
        return data


class InstructionEditForm(InstructionForm):
    """Editing a registered instruction: its fields and the version the form was opened on (a
    form someone else overtook is refused as stale). Files stay as they were."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["attachments"]

    def service_fields(self) -> dict:
        data = super().service_fields()
        data.pop("version", None)
        return data


class ItemForm(ChineseForm):
    """One row of 分解立项: what the API's ItemInput takes, with the deadline as a date or as
    N working days from assignment."""

    title = forms.CharField(label=_("事项名称"), max_length=200)
    requirement = forms.CharField(label=_("目标要求"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    lead_unit = UnitChoiceField(label=_("牵头单位"), queryset=Unit.objects.none(), required=False, empty_label=_("请选择"))
    supporting_units = UnitMultipleChoiceField(
        label=_("配合单位"), queryset=Unit.objects.none(), required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    owner = PersonChoiceField(label=_("责任人"), queryset=User.objects.none(), required=False, empty_label=_("请先选择牵头单位"))
    deadline_mode = forms.ChoiceField(
        label=_("办理时限"),
        choices=[(DEADLINE_BY_DATE, _("按日期")), (DEADLINE_BY_WORKDAYS, _("按工作日数"))],
        initial=DEADLINE_BY_DATE,
        widget=forms.RadioSelect,
    )
    deadline = forms.DateField(
        label=_("办结日期"),
        required=False,
        validators=[within_supported_years],
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    deadline_workdays = forms.IntegerField(
        label=_("工作日数"), required=False, widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 1, "max": 365})
    )
    urgency = forms.ChoiceField(label=_("紧急程度"), choices=Urgency.choices, initial=Urgency.NORMAL)
    deadline_time = forms.TimeField(
        label=_("当日办结时间"),
        required=False,
        help_text=_("仅特急事项，如 17:30"),
        widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
    )
    category = forms.ModelChoiceField(label=_("类别"), queryset=Category.objects.none(), required=False, empty_label=_("（无）"))
    reporting_cycle = forms.ChoiceField(label=_("反馈周期"), choices=ReportingCycle.choices, initial=ReportingCycle.NONE)
    # Shown under the row once the service found items that may be the same matter (减负, rule 12).
    confirm_not_duplicate = forms.BooleanField(label=_("确认不是同一事项，仍然登记"), required=False)

    # What the duplicate check found for this row (the candidates' dicts), set by the page.
    duplicate_candidates: tuple[dict, ...] | list[dict] = ()

    def __init__(self, *args, classification: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.classification = classification
        self.fields["lead_unit"].queryset = _units()
        self.fields["supporting_units"].queryset = _units()
        self.fields["category"].queryset = Category.objects.filter(is_active=True)
        # The owner is one of the lead unit's people cleared for the classification; the page
        # refreshes this list (htmx) when the lead unit or the classification changes.
        unit_id = self.data.get(self.add_prefix("lead_unit")) if self.is_bound else None
        self.fields["owner"].queryset = self.owner_queryset(unit_id)
        self.fields["owner"].empty_label = _("请选择") if unit_id else _("请先选择牵头单位")
        self._wire_htmx()
        self.fields["owner"].error_messages["invalid_choice"] = _(
            "责任人须是牵头单位中密级权限不低于本批示件密级的承办人或负责人。"
        )

    def _wire_htmx(self) -> None:
        """The row's live parts: the owner list follows the lead unit and the instruction's
        classification; the working-day count shows its date."""
        owner_id, preview_id = f"id_{self.add_prefix('owner')}", f"{self.add_prefix('workdays')}-preview"
        self.fields["lead_unit"].widget.attrs.update(
            {
                "hx-get": reverse("web-instruction-owners"),
                "hx-target": f"#{owner_id}",
                "hx-include": f"#id_classification, #{owner_id}",
                "hx-trigger": "change, change from:#id_classification",
            }
        )
        # The date's rest-day warning shows in the same place as the working-day count's date.
        self.fields["deadline"].widget.attrs.update(
            {
                "hx-get": reverse("web-instruction-workdays"),
                "hx-target": f"#{self.add_prefix('deadline')}-note",
                "hx-trigger": "change",
            }
        )
        self.fields["deadline_workdays"].widget.attrs.update(
            {
                "hx-get": reverse("web-instruction-workdays"),
                "hx-target": f"#{preview_id}",
                "hx-trigger": "input changed delay:300ms, load",
            }
        )

    def duplicate_check_attrs(self) -> dict[str, str]:
        """The row's live duplicate check (htmx): its box asks again when the title, the
        requirement or the units change, sending them, the instruction (on 分解立项) and the box's
        own confirmation."""
        ids = {name: f"#id_{self.add_prefix(name)}" for name in ("title", "requirement", "lead_unit", "supporting_units")}
        return {
            "hx-get": reverse("web-instruction-duplicates"),
            "hx-trigger": (
                f"input changed delay:600ms from:{ids['title']}, input changed delay:600ms from:{ids['requirement']}, "
                f"change from:{ids['lead_unit']}, change from:{ids['supporting_units']}"
            ),
            "hx-include": ", ".join([*ids.values(), f"#id_{self.add_prefix('confirm_not_duplicate')}", "#id_instruction"]),
            "hx-sync": "this:replace",
        }

    def owner_queryset(self, unit_id):
        try:
            unit_id = int(unit_id) if unit_id else None
        except (TypeError, ValueError):
            unit_id = None
        return selectors.owner_candidates(unit_id=unit_id, classification=self.classification or 0)

    def clean_deadline_workdays(self):
        value = self.cleaned_data.get("deadline_workdays")
        if value is not None and not 1 <= value <= 365:
            raise forms.ValidationError(_("工作日数须为 1 至 365 的整数。"))
        return value

    def clean(self):
        data = super().clean()
        lead, supporting = data.get("lead_unit"), data.get("supporting_units") or []
        if lead and lead in supporting:
            self.add_error("supporting_units", _("配合单位不能与牵头单位相同。"))
        if data.get("deadline_mode") == DEADLINE_BY_WORKDAYS:
            data["deadline"] = None
            if data.get("deadline_workdays") is None and "deadline_workdays" not in self.errors:
                self.add_error("deadline_workdays", _("请填写工作日数。"))
        else:
            data["deadline_workdays"] = None
        return data

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("deadline_mode", None)
        data["supporting_units"] = list(data.get("supporting_units") or [])
        return data


class BaseItemFormSet(forms.BaseFormSet):
    def __init__(self, *args, classification: int | None = None, **kwargs):
        self.classification = classification
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "classification": self.classification}

    @property
    def empty_form(self):
        form = self.form(auto_id=self.auto_id, prefix=self.add_prefix("__prefix__"), classification=self.classification)
        self.add_fields(form, None)
        return form


ItemFormSet = forms.formset_factory(ItemForm, formset=BaseItemFormSet, extra=1, max_num=50, absolute_max=50, validate_max=True)


class InstructionFilterForm(ChineseForm):
    """The instructions list's filters; names equal the API's (InstructionFilterSet)."""

    q = forms.CharField(label=_("标题或文号"), required=False)
    kind = forms.ChoiceField(label=_("来源类型"), required=False, choices=[("", _("全部来源")), *InstructionKind.choices])
    nature = forms.ChoiceField(label=_("批示性质"), required=False, choices=[("", _("全部")), *InstructionNature.choices])
    issuing_leader = forms.ChoiceField(label=_("批示领导"), required=False)
    issued_on_after = forms.DateField(
        label=_("批示日期起"), required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    issued_on_before = forms.DateField(
        label=_("批示日期止"), required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        leaders = User.objects.filter(is_active=True, role_assignments__role=Role.LEADER).distinct().order_by("full_name", "pk")
        self.fields["issuing_leader"].choices = [("", _("全部领导"))] + [(str(u.pk), str(u)) for u in leaders]
