"""Admin for the unit tree and users (Chinese labels come from the models' verbose names)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from accounts.choices import Classification, IntegrationOperation, Role
from accounts.models import IntegrationClient, RoleAssignment, Unit, User
from supervision.admin.base import OfficeMaintainedAdminMixin
from supervision.choices import ItemStatus
from supervision.errors import DomainError
from supervision.models import Item
from supervision.querysets import people_maintained_by, units_maintained_by
from supervision.services import integration_client_create, integration_client_rotate_key, integration_client_update


def _runs_everything(request) -> bool:
    """Superusers and administrators maintain every unit and person; office staff their tree."""
    return request.user.is_superuser or request.user.has_role(Role.ADMINISTRATOR)


@admin.register(Unit)
class UnitAdmin(OfficeMaintainedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "kind", "parent", "head", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "short_name")
    list_select_related = ("parent", "head")
    autocomplete_fields = ("parent", "head")
    readonly_fields = ("path",)
    fields = ("name", "short_name", "kind", "parent", "head", "sort_order", "is_active", "path")

    def get_queryset(self, request):
        return units_maintained_by(request.user, super().get_queryset(request))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if not _runs_everything(request) and "parent" in form.base_fields:
            # A unit without a parent would start a tree its creator does not maintain.
            form.base_fields["parent"].required = True
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            kwargs["queryset"] = units_maintained_by(request.user)
        elif db_field.name == "head":
            kwargs["queryset"] = people_maintained_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class RoleAssignmentInline(OfficeMaintainedAdminMixin, admin.TabularInline):
    model = RoleAssignment
    extra = 0
    verbose_name = _("角色")
    verbose_name_plural = _("角色")

    def has_delete_permission(self, request, obj=None):
        return self.is_office(request) or super().has_delete_permission(request, obj)

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and not _runs_everything(request):
            # Office staff assign the ledger's roles, never the administrator's.
            kwargs["choices"] = [(v, label) for v, label in Role.choices if v != Role.ADMINISTRATOR]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


class PersonChangeForm(UserChangeForm):
    def clean_clearance(self):
        """Lowered below an item the person owns, the owner would get 404 on their own item (issue 12:
        everyone who must act on an item can see it): the owner is changed first, as at assignment."""
        clearance = self.cleaned_data["clearance"]
        if self.instance.pk is None or clearance >= self.instance.clearance:
            return clearance
        done = (ItemStatus.CLOSED, ItemStatus.VERIFIED, ItemStatus.CANCELLED)
        owned = Item.objects.filter(owner=self.instance, classification__gt=clearance).exclude(status__in=done)
        codes = list(owned.order_by("code").values_list("code", flat=True)[:5])
        if codes:
            raise forms.ValidationError(
                _("%(name)s 是事项 %(codes)s 的责任人，这些事项的密级高于“%(level)s”；请先更换责任人，再调低其密级权限。")
                % {
                    "name": self.instance.full_name or self.instance.username,
                    "codes": "、".join(codes),
                    "level": Classification(clearance).label,
                }
            )
        return clearance


@admin.register(User)
class UserAdmin(OfficeMaintainedAdminMixin, BaseUserAdmin):
    form = PersonChangeForm
    inlines = (RoleAssignmentInline,)
    list_display = ("username", "full_name", "unit", "clearance", "roles", "is_active")
    list_filter = ("clearance", "role_assignments__role", "is_active", "is_staff", "unit")
    search_fields = ("username", "full_name", "phone", "unit__name")
    list_select_related = ("unit",)
    autocomplete_fields = ("unit",)
    ordering = ("username",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("个人信息"), {"fields": ("full_name", "unit", "title", "phone", "email", "clearance")}),
        (_("权限"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("重要日期"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "full_name", "unit", "clearance", "password1", "password2")}),
    )

    # What office staff may edit of a person: no password (no taking over an account), no staff
    # or superuser flags, no Django permissions; their roles and clearance only up to their own.
    office_fieldsets = (
        (None, {"fields": ("username",)}),
        (_("个人信息"), {"fields": ("full_name", "unit", "title", "phone", "email", "clearance")}),
        (_("状态"), {"fields": ("is_active",)}),
    )

    def get_queryset(self, request):
        return people_maintained_by(request.user, super().get_queryset(request)).prefetch_related("role_assignments")

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not request.user.is_superuser:
            return self.office_fieldsets
        return super().get_fieldsets(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not _runs_everything(request) and "unit" in form.base_fields:
            # Someone without a unit would be nobody's to maintain (and invisible to their creator).
            form.base_fields["unit"].required = True
        return form

    def user_change_password(self, request, id, form_url=""):
        if not request.user.is_superuser:
            raise PermissionDenied(_("只有系统管理员可以重置他人的密码。"))
        return super().user_change_password(request, id, form_url)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "unit":
            kwargs["queryset"] = units_maintained_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "clearance" and not request.user.is_superuser:
            kwargs["choices"] = [(v, label) for v, label in Classification.choices if v <= request.user.clearance]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    @admin.display(description=_("角色"))
    def roles(self, obj: User) -> str:
        return "、".join(str(r.get_role_display()) for r in obj.role_assignments.all())


class IntegrationClientForm(forms.ModelForm):
    operations = forms.MultipleChoiceField(
        label=_("允许的操作"), choices=IntegrationOperation.choices, widget=forms.CheckboxSelectMultiple
    )
    clearance = forms.TypedChoiceField(
        label=_("服务账号密级"),
        choices=Classification.choices,
        coerce=int,
        initial=Classification.INTERNAL,
        help_text=_("对接系统只能读写此密级以内的事项。"),
    )

    class Meta:
        model = IntegrationClient
        fields = ("name", "unit", "operations", "clearance", "whole_ledger", "is_active", "note")


@admin.register(IntegrationClient)
class IntegrationClientAdmin(admin.ModelAdmin):
    """OA systems. Every change goes through accounts/integration.py (audited); the key is shown
    once in a message after creating or re-keying, and is never stored."""

    form = IntegrationClientForm
    list_display = ("name", "unit", "operations_display", "whole_ledger", "key_prefix", "is_active", "last_used_at")
    list_filter = ("is_active", "whole_ledger", "unit")
    search_fields = ("name", "key_prefix")
    list_select_related = ("unit",)
    autocomplete_fields = ("unit",)
    readonly_fields = ("user", "key_prefix", "created_at", "key_rotated_at", "last_used_at")
    actions = ("rotate_keys",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "unit", "operations", "clearance", "whole_ledger", "note")
        return ("name", "unit", "operations", "whole_ledger", "is_active", "note", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        # Name and unit define who the service account is; change them by registering a new client.
        return self.readonly_fields + (("name", "unit") if obj is not None else ())

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            form.base_fields.pop("clearance", None)
        return form

    def has_delete_permission(self, request, obj=None):
        return False  # audit events point at the client and its service account; disable instead

    @admin.display(description=_("允许的操作"))
    def operations_display(self, obj: IntegrationClient) -> str:
        return obj.get_operations_display()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                integration_client_update(
                    actor=request.user,
                    client=obj,
                    operations=data["operations"],
                    is_active=data["is_active"],
                    note=data["note"],
                    whole_ledger=data["whole_ledger"],
                )
                return
            issued = integration_client_create(
                actor=request.user,
                name=data["name"],
                unit=data["unit"],
                operations=data["operations"],
                clearance=data["clearance"],
                note=data["note"],
                whole_ledger=data["whole_ledger"],
            )
        except DomainError as exc:
            raise PermissionDenied(str(exc)) from exc
        obj.pk = issued.client.pk
        self._show_key_once(request, issued.key)

    def _show_key_once(self, request, key: str) -> None:
        messages.warning(request, _("API 密钥（只显示这一次，请立即复制并交给对接系统）：%(key)s") % {"key": key})

    @admin.action(description=_("更换所选对接系统的 API 密钥"))
    def rotate_keys(self, request, queryset):
        for client in queryset:
            issued = integration_client_rotate_key(actor=request.user, client=client)
            messages.warning(
                request, _("%(name)s 的新 API 密钥（只显示这一次）：%(key)s") % {"name": client.name, "key": issued.key}
            )
