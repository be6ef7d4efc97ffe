"""Query filters for the inbox and the delivery (dead-letter) list."""

import django_filters
from django.utils.translation import gettext_lazy as _

from supervision.filtersets import ChoicesFilter, FilterSet, IdFilter
from tasks.choices import Channel, DeliveryStatus
from tasks.models import Delivery, Notification


class InboxFilterSet(FilterSet):
    unread = django_filters.BooleanFilter(method="filter_unread", label=_("仅未读（true）或仅已读（false）"))
    kind = django_filters.CharFilter(label=_("类型"))

    class Meta:
        model = Notification
        fields = ["unread", "kind"]

    def filter_unread(self, queryset, name, value):
        return queryset.filter(read_at__isnull=value)


class DeliveryFilterSet(FilterSet):
    status = ChoicesFilter(choices=DeliveryStatus.choices, label=_("状态（dead 为失败待处理）"))
    channel = ChoicesFilter(choices=Channel.choices, label=_("渠道"))
    recipient = IdFilter(field_name="notification__recipient_id", label=_("接收人"))
    item = IdFilter(field_name="notification__item_id", label=_("督办事项"))

    class Meta:
        model = Delivery
        fields = ["status", "channel", "recipient", "item"]
