"""Admin for the notification outbox: read-only lists, and a "重新发送" action that goes through
`delivery_resend` (permission check, audit event, queueing after commit), never a raw edit."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from supervision.admin.base import ReadOnlyAdminMixin
from supervision.errors import DomainError
from supervision.querysets import item_absent_or_visible
from tasks import selectors
from tasks.choices import WebhookEventType
from tasks.models import Delivery, Notification, WebhookDelivery, WebhookSubscription
from tasks.outbox import notifications, webhooks


class DeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Delivery
    extra = 0
    fields = ("channel", "status", "attempts", "held_until", "next_attempt_at", "sent_at", "digest", "last_error")
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("title", "kind", "recipient", "item", "created_at", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "dedup_key", "recipient__username", "recipient__full_name")
    list_select_related = ("recipient", "item")
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]

    def get_queryset(self, request):
        # Notifications about items above the operator's clearance stay hidden, as in the API.
        return super().get_queryset(request).filter(item_absent_or_visible(request.user))


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "notification",
        "recipient",
        "channel",
        "status",
        "attempts",
        "held_until",
        "next_attempt_at",
        "sent_at",
        "short_error",
    )
    list_filter = ("status", "channel")
    search_fields = ("notification__title", "notification__recipient__username", "notification__recipient__full_name")
    # Named, so the page reads what the delivery is about first, whatever the model's field order
    # (the outbox row's shared columns come from the abstract OutboxRow).
    fields = (
        "notification",
        "channel",
        "status",
        "attempts",
        "held_until",
        "next_attempt_at",
        "digest",
        "last_error",
        "sent_at",
        "created_at",
    )
    actions = ["resend"]

    def get_queryset(self, request):
        return selectors.delivery_list(user=request.user)

    @admin.display(description=_("接收人"))
    def recipient(self, delivery):
        return delivery.notification.recipient

    @admin.display(description=_("最近错误"))
    def short_error(self, delivery):
        return delivery.last_error[:80]

    @admin.action(description=_("重新发送"))
    def resend(self, request, queryset):
        done = 0
        for delivery in queryset:
            try:
                notifications.delivery_resend(actor=request.user, delivery=delivery)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{delivery}：{exc.message}", messages.WARNING)
        if done:
            self.message_user(request, _("已重新发送 %(count)d 条消息。") % {"count": done}, messages.SUCCESS)


# ---------------------------------------------------------------------------------------------
# Webhooks: subscriptions are written through tasks/outbox/webhooks/ (audited; the secret shown once),
# deliveries are read-only with a "重放" action that goes through webhook_delivery_replay.


class WebhookSubscriptionForm(forms.ModelForm):
    target_url = forms.CharField(label=_("接收地址"), max_length=500)
    event_types = forms.MultipleChoiceField(
        label=_("订阅的事件"), choices=WebhookEventType.choices, widget=forms.CheckboxSelectMultiple
    )

    def clean_target_url(self):
        # The service's rule (http/https, no credentials, no loopback), shown on the field.
        try:
            return webhooks.clean_target_url(self.cleaned_data["target_url"])
        except DomainError as exc:
            raise forms.ValidationError(exc.fields.get("target_url", [exc.message])) from exc

    class Meta:
        model = WebhookSubscription
        fields = ("client", "target_url", "event_types", "description", "is_active")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ("id", "client", "target_url", "event_types_display", "is_active", "secret_rotated_at")
    list_filter = ("is_active", "client")
    search_fields = ("target_url", "client__name", "description")
    list_select_related = ("client",)
    readonly_fields = ("created_at", "updated_at", "secret_rotated_at")
    actions = ("rotate_secrets",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("client", "target_url", "event_types", "description")
        return ("client", "target_url", "event_types", "description", "is_active", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        # A subscription belongs to one client for good; subscribe the other client anew.
        return self.readonly_fields + (("client",) if obj is not None else ())

    def has_delete_permission(self, request, obj=None):
        return False  # deliveries point at it; switch it off instead

    @admin.display(description=_("订阅的事件"))
    def event_types_display(self, obj):
        return obj.get_event_types_display()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                webhooks.webhook_subscription_update(
                    actor=request.user,
                    subscription=obj,
                    target_url=data["target_url"],
                    event_types=data["event_types"],
                    is_active=data["is_active"],
                    description=data["description"],
                )
                return
            issued = webhooks.webhook_subscription_create(
                actor=request.user,
                client=data["client"],
                target_url=data["target_url"],
                event_types=data["event_types"],
                description=data["description"],
            )
        except DomainError as exc:
            raise PermissionDenied(str(exc.fields or exc.message)) from exc
        obj.pk = issued.subscription.pk
        messages.warning(request, _("签名密钥（只显示这一次，请立即复制并交给对接系统）：%(secret)s") % {"secret": issued.secret})

    @admin.action(description=_("更换所选订阅的签名密钥"))
    def rotate_secrets(self, request, queryset):
        for subscription in queryset:
            issued = webhooks.webhook_subscription_rotate_secret(actor=request.user, subscription=subscription)
            messages.warning(
                request,
                _("订阅 %(id)s 的新签名密钥（只显示这一次）：%(secret)s") % {"id": subscription.pk, "secret": issued.secret},
            )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "event_type",
        "client",
        "item",
        "status",
        "attempts",
        "last_response_status",
        "next_attempt_at",
        "sent_at",
    )
    list_filter = ("status", "event_type")
    search_fields = ("delivery_id", "event_key", "item__code", "subscription__client__name")
    # Named, like DeliveryAdmin's; the payload is shown as indented JSON (payload_text).
    fields = (
        "subscription",
        "event_type",
        "event_key",
        "audit_event",
        "item",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "last_response_status",
        "sent_at",
        "replay_count",
        "created_at",
        "payload_text",
    )
    readonly_fields = ("payload_text",)
    actions = ["replay"]

    def get_queryset(self, request):
        return selectors.webhook_delivery_list(user=request.user)

    @admin.display(description=_("对接系统"))
    def client(self, delivery):
        return delivery.subscription.client

    @admin.display(description=_("事件内容"))
    def payload_text(self, delivery):
        return json.dumps(delivery.payload, ensure_ascii=False, indent=2)

    @admin.action(description=_("重放（相同投递编号重新发送）"))
    def replay(self, request, queryset):
        done = 0
        for delivery in queryset:
            try:
                webhooks.webhook_delivery_replay(actor=request.user, delivery=delivery)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{delivery}：{exc.message}", messages.WARNING)
        if done:
            self.message_user(request, _("已重放 %(count)d 条投递。") % {"count": done}, messages.SUCCESS)
