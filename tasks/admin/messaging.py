"""How messages reach people, in the back office: the office's digest time and channel rules
(saved through tasks/outbox/preferences.py, audited), people's own choices (read-only here: a
person sets them in the API or on their page), the day's digests (read-only, with a resend), and
the units' 企业微信 / 钉钉 channels (saved through tasks/outbox/chat.py; secrets write-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from supervision.admin.base import ReadOnlyAdminMixin, ServiceErrorsAsMessagesMixin
from supervision.admin.rules import OfficeEditableAdminMixin
from supervision.errors import DomainError
from tasks.models import ChannelPolicy, ChatAccount, Digest, DigestSetting, NotificationPreference, UnitChatChannel
from tasks.models.chat import masked
from tasks.outbox import chat, digests, preferences


@admin.register(DigestSetting)
class DigestSettingAdmin(ServiceErrorsAsMessagesMixin, OfficeEditableAdminMixin, admin.ModelAdmin):
    """每日汇总发送时间: one row for the whole office."""

    list_display = ("__str__", "send_time", "updated_at")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not DigestSetting.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        preferences.messaging_setting_save(actor=request.user, setting=obj)


@admin.register(ChannelPolicy)
class ChannelPolicyAdmin(ServiceErrorsAsMessagesMixin, OfficeEditableAdminMixin, admin.ModelAdmin):
    """各渠道的默认方式（即时发送或每日汇总）与是否允许个人选择."""

    list_display = ("channel", "default_mode", "person_may_choose")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        preferences.messaging_setting_save(actor=request.user, setting=obj)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("user", "channel", "mode", "updated_at")
    list_filter = ("channel", "mode")
    search_fields = ("user__username", "user__full_name")
    list_select_related = ("user",)


@admin.register(Digest)
class DigestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "recipient", "channel", "workday", "title", "status", "attempts", "sent_at")
    list_filter = ("status", "channel", "workday")
    search_fields = ("recipient__username", "recipient__full_name", "title")
    list_select_related = ("recipient",)
    fields = (
        "recipient",
        "channel",
        "workday",
        "title",
        "body",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "sent_at",
    )
    actions = ["resend"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        # Who was told what: operators only, as for the delivery list.
        return qs if request.user.is_office else qs.none()

    @admin.action(description=_("重新发送"))
    def resend(self, request, queryset):
        done = 0
        for digest in queryset:
            try:
                digests.digest_resend(actor=request.user, digest=digest)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{digest}：{exc.message}", messages.WARNING)
        if done:
            self.message_user(request, _("已重新发送 %(count)d 份汇总。") % {"count": done}, messages.SUCCESS)


# ---------------------------------------------------------------------------------------------
# The units' 企业微信 / 钉钉 channels: secrets write-only (a "replace" field, a masked display).


class UnitChatChannelForm(forms.ModelForm):
    new_robot_url = forms.CharField(
        label=_("更换群机器人地址"),
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("含 key（企业微信）或 access_token（钉钉）的完整地址；留空则保留原地址。保存后不再显示。"),
    )
    new_secret = forms.CharField(
        label=_("更换密钥"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("钉钉机器人的加签密钥，或工作通知的 corpsecret / AppSecret；留空则保留原密钥。保存后不再显示。"),
    )

    class Meta:
        model = UnitChatChannel
        fields = ("unit", "channel", "transport", "app_id", "agent_id", "include_sub_units", "is_active")


@admin.register(UnitChatChannel)
class UnitChatChannelAdmin(ServiceErrorsAsMessagesMixin, OfficeEditableAdminMixin, admin.ModelAdmin):
    form = UnitChatChannelForm
    list_display = ("unit", "channel", "transport", "robot_url_display", "secret_display", "include_sub_units", "is_active")
    list_filter = ("channel", "transport", "is_active")
    search_fields = ("unit__name",)
    list_select_related = ("unit",)
    readonly_fields = ("robot_url_display", "secret_display", "secret_changed_at", "updated_at")
    fields = (
        "unit",
        "channel",
        "transport",
        "robot_url_display",
        "new_robot_url",
        "secret_display",
        "new_secret",
        "app_id",
        "agent_id",
        "include_sub_units",
        "is_active",
        "secret_changed_at",
        "updated_at",
    )

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_office

    @admin.display(description=_("群机器人地址"))
    def robot_url_display(self, obj):
        if not obj.robot_url:
            return _("未设置")
        # The host and path say which robot; the key / access_token in the query stays hidden.
        return obj.robot_url.split("?", 1)[0] + "?" + masked(obj.robot_url)

    @admin.display(description=_("密钥"))
    def secret_display(self, obj):
        return masked(obj.secret) or _("未设置")

    def save_model(self, request, obj, form, change):
        chat.unit_chat_channel_save(
            actor=request.user,
            config=obj,
            new_robot_url=form.cleaned_data.get("new_robot_url", ""),
            new_secret=form.cleaned_data.get("new_secret", ""),
        )


@admin.register(ChatAccount)
class ChatAccountAdmin(OfficeEditableAdminMixin, admin.ModelAdmin):
    list_display = ("user", "channel", "account_id")
    list_filter = ("channel",)
    search_fields = ("user__username", "user__full_name", "account_id")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_office
