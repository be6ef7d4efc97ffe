"""消息接收方式 as a page (issue 15, 减负): a person chooses per channel between immediate messages
and the daily digest, within what the office allows; the office's fixed channels show their rule
and a forged change to one is refused in Chinese (400) and changes nothing; saved choices are the
service's (audited), as the API's."""

from __future__ import annotations

import re

import pytest

from supervision.models import AuditEvent
from tasks.choices import Channel, DeliveryMode
from tasks.models import ChannelPolicy, NotificationPreference
from tests.supervision.web.helpers import page_client

pytestmark = pytest.mark.django_db


def rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-channel="(\w+)" data-mode="(\w+)">', html))


def test_a_person_chooses_the_digest_per_channel_within_the_offices_rules(world):
    ChannelPolicy.objects.create(channel=Channel.SMS, default_mode=DeliveryMode.DIGEST, person_may_choose=False)
    client = page_client(world.edu_handler)
    inbox = client.get("/inbox/").content.decode()
    assert 'href="/inbox/settings/"' in inbox
    page = client.get("/inbox/settings/").content.decode()
    assert rows(page) == {
        "email": "immediate",
        "sms": "digest",
        "webhook": "immediate",
        "wecom": "immediate",
        "dingtalk": "immediate",
    }
    assert 'name="email"' in page and 'name="sms"' not in page and "由督查室统一设置" in page
    response = client.post("/inbox/settings/", {"email": "digest", "wecom": "digest", "dingtalk": "immediate"}, follow=True)
    html = response.content.decode()
    assert "消息接收方式已保存。" in html
    assert rows(html)["email"] == "digest" and rows(html)["wecom"] == "digest"
    chosen = dict(NotificationPreference.objects.filter(user=world.edu_handler).values_list("channel", "mode"))
    assert chosen == {"email": "digest", "wecom": "digest"}  # an unchanged channel is not written
    event = AuditEvent.objects.get(action="notification_preferences_changed")
    assert event.actor == world.edu_handler and event.data["after"] == chosen


def test_a_forged_change_to_a_channel_the_office_decides_is_refused_and_nothing_saved(world):
    ChannelPolicy.objects.create(channel=Channel.SMS, default_mode=DeliveryMode.DIGEST, person_may_choose=False)
    client = page_client(world.edu_handler)
    response = client.post("/inbox/settings/", {"email": "digest", "sms": "immediate"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "“短信”的发送方式由督查室统一设置，不能个人选择。" in html
    assert not NotificationPreference.objects.filter(user=world.edu_handler).exists()
    bad = client.post("/inbox/settings/", {"email": "weekly"})
    assert bad.status_code == 400 and "发送方式只能是“即时发送”或“每日汇总”。" in bad.content.decode()


def test_the_page_needs_a_sign_in(client):
    response = client.get("/inbox/settings/")
    assert response.status_code == 302 and "/login/" in response["Location"]
