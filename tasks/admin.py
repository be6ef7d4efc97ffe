"""Admin for the notification outbox: read-only lists, and a "重新发送" action that goes through
`delivery_resend` (permission check, audit event, queueing after commit), never a raw edit."""

from django.contrib import admin, messages
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from supervision.errors import DomainError
from supervision.models import Item

from . import notifications, selectors
from .models import Delivery, Notification


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Delivery
    extra = 0
    fields = ("channel", "status", "attempts", "next_attempt_at", "sent_at", "last_error")
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
        visible = Q(item__isnull=True) | Q(item__in=Item.objects.visible_to(request.user).values("pk"))
        return super().get_queryset(request).filter(visible)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "notification",
        "recipient",
        "channel",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "short_error",
    )
    list_filter = ("status", "channel")
    search_fields = ("notification__title", "notification__recipient__username", "notification__recipient__full_name")
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
