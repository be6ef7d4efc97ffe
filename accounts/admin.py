"""Admin for the unit tree and users (Chinese labels come from the models' verbose names)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import RoleAssignment, Unit, User


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "parent", "head", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "short_name")
    list_select_related = ("parent", "head")
    autocomplete_fields = ("parent", "head")
    readonly_fields = ("path",)
    fields = ("name", "short_name", "kind", "parent", "head", "sort_order", "is_active", "path")


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    verbose_name = _("角色")
    verbose_name_plural = _("角色")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
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

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("role_assignments")

    @admin.display(description=_("角色"))
    def roles(self, obj: User) -> str:
        return "、".join(str(r.get_role_display()) for r in obj.role_assignments.all())
