"""Admin for signing in: failed-attempt records and lockouts (django-axes), the sign-in log, API
tokens (django-rest-knox), and the admin's own login form.

Unlocking is deleting a username–address pair's failure records; revoking is deleting tokens. Both go
through the audited services of supervision/services/signin.py, from the list action or the delete pages, so
every unlock and revocation says who did it. The models are the libraries', under Chinese names
(accounts/models/signin.py); their own admins are not used (AXES_ENABLE_ADMIN = False; knox's is
unregistered: it makes tokens by hand)."""

from __future__ import annotations

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

from accounts.models import ApiToken, SignInFailure, SignInLog
from accounts.signin import SignInGuardMixin
from supervision.admin.base import ReadOnlyAdminMixin
from supervision.errors import DomainError
from supervision.services.signin import signin_tokens_revoke, signin_unlock


class AdminLoginForm(SignInGuardMixin, AdminAuthenticationForm):
    """The admin's login form, under the same rate limit and lockout."""


admin.site.login_form = AdminLoginForm


def _locking(queryset):
    """Each record with the failures of its username and of its address within the lockout period:
    a lockout is the sum over records (one per username, address and browser), not one record's count."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME

    def total(field: str):
        recent = AccessAttempt.objects.filter(**{field: OuterRef(field)}, attempt_time__gte=since)
        return Coalesce(Subquery(recent.values(field).annotate(n=Sum("failures_since_start")).values("n")[:1]), 0)

    return queryset.annotate(username_failures=total("username"), address_failures=total("ip_address"))


class LockedOutFilter(admin.SimpleListFilter):
    title = _("是否锁定")
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return (("yes", _("已锁定")), ("no", _("未锁定")))

    def queryset(self, request, queryset):
        locked = Q(username_failures__gte=settings.AXES_FAILURE_LIMIT) | Q(address_failures__gte=settings.AXES_FAILURE_LIMIT)
        if self.value() == "yes":
            return queryset.filter(locked)
        if self.value() == "no":
            return queryset.exclude(locked)
        return queryset


@admin.register(SignInFailure)
class SignInFailureAdmin(admin.ModelAdmin):
    """Failed sign-ins per username, address and browser. A username (or an address) is locked
    while its failures within the period, over all its records, reach the limit; 解除锁定 deletes the
    selected records (select all of a username's or an address's to lift its lockout)."""

    list_display = (
        "username",
        "ip_address",
        "failures",
        "username_total",
        "address_total",
        "locked",
        "last_failure",
        "path_info",
        "user_agent",
    )
    list_filter = (LockedOutFilter, "path_info")
    search_fields = ("username", "ip_address")
    ordering = ("-attempt_time",)
    fields = ("username", "ip_address", "failures_since_start", "attempt_time", "path_info", "user_agent")
    readonly_fields = fields
    actions = ("unlock_selected",)

    def get_queryset(self, request):
        return _locking(super().get_queryset(request))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("本记录失败次数"), ordering="failures_since_start")
    def failures(self, obj: SignInFailure) -> int:
        return obj.failures_since_start

    @admin.display(description=_("该用户名近期失败"), ordering="username_failures")
    def username_total(self, obj: SignInFailure) -> int:
        return obj.username_failures

    @admin.display(description=_("该地址近期失败"), ordering="address_failures")
    def address_total(self, obj: SignInFailure) -> int:
        return obj.address_failures

    @admin.display(description=_("锁定"), boolean=True)
    def locked(self, obj: SignInFailure) -> bool:
        return max(obj.username_failures, obj.address_failures) >= settings.AXES_FAILURE_LIMIT

    @admin.display(description=_("最近失败时间"), ordering="attempt_time")
    def last_failure(self, obj: SignInFailure):
        return obj.attempt_time

    @admin.action(description=_("解除锁定（删除所选失败记录）"), permissions=["delete"])
    def unlock_selected(self, request, queryset):
        self._unlock(request, queryset)

    def _unlock(self, request, queryset) -> None:
        try:
            count = signin_unlock(actor=request.user, attempts=queryset)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, _("已解除 %(n)s 条登录失败记录的锁定。") % {"n": count}, messages.SUCCESS)

    # The delete pages unlock too, through the same audited service.
    def delete_model(self, request, obj):
        signin_unlock(actor=request.user, attempts=SignInFailure.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        signin_unlock(actor=request.user, attempts=queryset)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # 解除锁定 does the same, and says so
        return actions


@admin.register(SignInLog)
class SignInLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Successful sign-ins: who, from which address, when; kept for reading."""

    list_display = ("username", "ip_address", "attempt_time", "logout_time", "path_info")
    search_fields = ("username", "ip_address")
    ordering = ("-attempt_time",)
    fields = ("username", "ip_address", "attempt_time", "logout_time", "path_info", "user_agent")


if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)  # knox's own makes tokens by hand and lists digests


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """API tokens; find a user's by name and 注销 them. Tokens are only made by signing in."""

    list_display = ("user", "token_key", "created", "expiry")
    search_fields = ("user__username", "user__full_name")
    list_select_related = ("user",)
    ordering = ("user__username", "-created")
    fields = ("user", "token_key", "created", "expiry")
    readonly_fields = fields
    actions = ("revoke_selected",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("注销所选令牌"), permissions=["delete"])
    def revoke_selected(self, request, queryset):
        try:
            count = signin_tokens_revoke(actor=request.user, tokens=queryset)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, _("已注销 %(n)s 个令牌。") % {"n": count}, messages.SUCCESS)

    def delete_model(self, request, obj):
        signin_tokens_revoke(actor=request.user, tokens=ApiToken.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        signin_tokens_revoke(actor=request.user, tokens=queryset)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
