"""A person's choice, per channel, between immediate messages and the daily digest — within what
the office allows (ChannelPolicy). Reads and the one audited write; the API (tasks/api/) and the
admin call these."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from supervision.audit import audit_record
from supervision.errors import InvalidInput, NotPermitted
from tasks.choices import PUSH_CHANNELS, Channel, DeliveryMode
from tasks.models import ChannelPolicy, DigestSetting, NotificationPreference
from tasks.outbox.timing import effective_mode


@dataclass(frozen=True)
class ChannelChoice:
    channel: str
    channel_label: str
    mode: str  # what applies now
    chosen: str | None  # the person's own choice, if any
    default_mode: str
    may_choose: bool


def notification_preferences(*, user: User) -> list[ChannelChoice]:
    """Every push channel with the mode that applies to the person and whether they may change it."""
    policies = {p.channel: p for p in ChannelPolicy.objects.all()}
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("channel", "mode"))
    out = []
    for channel in PUSH_CHANNELS:
        policy = policies.get(channel)
        out.append(
            ChannelChoice(
                channel=channel,
                channel_label=str(Channel(channel).label),
                mode=effective_mode(channel, policy, chosen.get(channel)),
                chosen=chosen.get(channel),
                default_mode=policy.default_mode if policy else DeliveryMode.IMMEDIATE,
                may_choose=policy.person_may_choose if policy else True,
            )
        )
    return out


def digest_send_time():
    """The office's digest time, shown next to the choices."""
    return DigestSetting.current().send_time


@transaction.atomic
def notification_preferences_set(*, actor: User, user: User, modes: dict[str, str]) -> list[ChannelChoice]:
    """Set the person's mode per channel ({"email": "digest", …}); a channel the office decides
    for everyone is refused with a message naming it. Only the person themselves. Audited."""
    if actor.pk != user.pk or not user.is_active:
        raise NotPermitted(_("只能设置本人的消息接收方式。"), code="own_preferences_only")
    errors: dict[str, list[str]] = {}
    policies = {p.channel: p for p in ChannelPolicy.objects.all()}
    for channel, mode in modes.items():
        if channel not in PUSH_CHANNELS:
            errors.setdefault(str(channel), []).append(_("未知的渠道。"))
        elif mode not in DeliveryMode.values:
            errors.setdefault(channel, []).append(_("发送方式只能是“即时发送”或“每日汇总”。"))
        elif channel in policies and not policies[channel].person_may_choose:
            errors.setdefault(channel, []).append(
                _("“%(channel)s”的发送方式由督查室统一设置，不能个人选择。") % {"channel": Channel(channel).label}
            )
    if errors:
        raise InvalidInput(fields=errors)
    before = dict(NotificationPreference.objects.filter(user=user).values_list("channel", "mode"))
    for channel, mode in modes.items():
        NotificationPreference.objects.update_or_create(user=user, channel=channel, defaults={"mode": mode})
    if modes:
        audit_record(
            actor=actor,
            action="notification_preferences_changed",
            obj=user,
            data={"before": before, "after": {**before, **modes}},
        )
    return notification_preferences(user=user)


@transaction.atomic
def messaging_setting_save(*, actor: User, setting: DigestSetting | ChannelPolicy) -> DigestSetting | ChannelPolicy:
    """The office saves its digest time or a channel's rule (admin). Office staff only; audited."""
    if not (actor.is_active and actor.is_office):
        raise NotPermitted(_("只有督查室工作人员或管理员可以修改消息发送设置。"), code="office_only")
    setting.full_clean()
    setting.save()
    data = {f.name: getattr(setting, f.attname) for f in setting._meta.concrete_fields if f.name not in ("id", "updated_at")}
    audit_record(actor=actor, action="messaging_setting_changed", obj=setting, data=data)
    return setting
