"""企业微信 and 钉钉 (issue 12) against a loopback receiver: a real HTTP server thread that checks
each platform's documented request format — the robots' JSON bodies, DingTalk's timestamp + sign
(HMAC-SHA256 → base64 → URL-encoded), the work notifications' token fetch and message bodies —
and answers like the platform (errcode 0, or an error code that the outbox retries)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache

from accounts.choices import Classification
from supervision.errors import InvalidInput, NotPermitted
from supervision.models import AuditEvent
from tasks.choices import Channel, ChatTransport, DeliveryStatus
from tasks.models import ChatAccount, Delivery, UnitChatChannel
from tasks.outbox import notifications
from tasks.outbox.channels import TransientDeliveryError
from tasks.outbox.chat import unit_chat_channel_save
from tests.factories import make_item
from tests.tasks.conftest import reachable_user

pytestmark = pytest.mark.django_db

DING_SECRET = "SEC0123456789abcdef0123456789abcdef"


class PlatformReceiver:
    """Plays 企业微信 and 钉钉 on 127.0.0.1. Each request is checked against the documented format;
    a request that breaks it is answered with a platform error and recorded in `problems`."""

    def __init__(self):
        self.requests: list[dict] = []
        self.problems: list[str] = []
        self.errcodes: deque[int] = deque()  # answers for the next message sends (0 once empty)
        self.tokens_issued = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, payload: dict):
                raw = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                receiver.requests.append({"method": "GET", "path": url.path, "query": query})
                ok = (url.path == "/cgi-bin/gettoken" and query.get("corpid") and query.get("corpsecret")) or (
                    url.path == "/gettoken" and query.get("appkey") and query.get("appsecret")
                )
                if not ok:
                    receiver.problems.append(f"bad token request {self.path}")
                    return self._answer({"errcode": 40013, "errmsg": "invalid corpid"})
                receiver.tokens_issued += 1
                self._answer({"errcode": 0, "errmsg": "ok", "access_token": f"TOKEN{receiver.tokens_issued}", "expires_in": 7200})

            def do_POST(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                receiver.requests.append(
                    {"method": "POST", "path": url.path, "query": query, "json": body, "headers": dict(self.headers)}
                )
                problem = receiver.check(url.path, query, body, self.headers.get("Content-Type", ""))
                if problem:
                    receiver.problems.append(problem)
                    return self._answer({"errcode": 310000, "errmsg": problem})
                code = receiver.errcodes.popleft() if receiver.errcodes else 0
                self._answer({"errcode": code, "errmsg": "ok" if code == 0 else "busy"})

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def check(self, path: str, query: dict, body: dict, content_type: str) -> str:
        if not content_type.startswith("application/json"):
            return "not JSON"
        if path == "/cgi-bin/webhook/send":  # 企业微信群机器人
            if not query.get("key"):
                return "no key"
            kind = body.get("msgtype")
            if kind == "text" and isinstance(body.get("text", {}).get("content"), str):
                return ""
            if kind == "markdown" and isinstance(body.get("markdown", {}).get("content"), str):
                return ""
            return f"bad wecom robot body {body}"
        if path == "/robot/send":  # 钉钉自定义机器人, 加签
            if not query.get("access_token"):
                return "no access_token"
            timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
            expected = base64.b64encode(
                hmac.new(DING_SECRET.encode(), f"{timestamp}\n{DING_SECRET}".encode(), hashlib.sha256).digest()
            ).decode()
            if not timestamp.isdigit() or abs(int(timestamp) - time.time() * 1000) > 3600_000 or sign != expected:
                return "sign not match"
            if body.get("msgtype") != "markdown" or not {"title", "text"} <= set(body.get("markdown", {})):
                return f"bad dingtalk robot body {body}"
            return ""
        if path == "/cgi-bin/message/send":  # 企业微信应用消息
            if not query.get("access_token", "").startswith("TOKEN"):
                return "no token"
            if not (body.get("touser") and isinstance(body.get("agentid"), int) and body.get("msgtype") == "text"):
                return f"bad wecom app body {body}"
            return ""
        if path == "/topapi/message/corpconversation/asyncsend_v2":  # 钉钉工作通知
            if not query.get("access_token", "").startswith("TOKEN"):
                return "no token"
            msg = body.get("msg", {})
            if not (
                body.get("userid_list") and isinstance(body.get("agent_id"), int) and msg.get("msgtype") in ("text", "markdown")
            ):
                return f"bad dingtalk app body {body}"
            return ""
        return f"unknown path {path}"

    def posts(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"] == path]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def platform(settings):
    settings.DUBAN_WEBHOOK_ALLOW_LOOPBACK = True
    settings.DUBAN_NOTIFICATION_CHANNELS = ["inbox", "wecom", "dingtalk"]
    with PlatformReceiver() as receiver:
        settings.DUBAN_WECOM_API_BASE = receiver.base
        settings.DUBAN_DINGTALK_API_BASE = receiver.base
        cache.clear()
        yield receiver
        cache.clear()


def configure(world, receiver, **kwargs):
    saved = []
    saved.append(
        unit_chat_channel_save(
            actor=world.office,
            config=UnitChatChannel(unit=kwargs.get("unit", world.edu), channel=Channel.WECOM, transport=ChatTransport.ROBOT),
            new_robot_url=f"{receiver.base}/cgi-bin/webhook/send?key=wecom-key-1",
        )
    )
    saved.append(
        unit_chat_channel_save(
            actor=world.office,
            config=UnitChatChannel(unit=kwargs.get("unit", world.edu), channel=Channel.DINGTALK, transport=ChatTransport.ROBOT),
            new_robot_url=f"{receiver.base}/robot/send?access_token=ding-token-1",
            new_secret=DING_SECRET,
        )
    )
    return saved


def attempt_all(user):
    for delivery in (
        Delivery.objects.exclude(notification__dedup_key__startswith="handoff:")
        .filter(notification__recipient=user)
        .exclude(channel=Channel.INBOX)
    ):
        try:
            notifications.delivery_attempt(delivery_id=delivery.pk)
        except TransientDeliveryError:
            pass


def test_group_robots_receive_the_documented_format_and_a_valid_signature(world, platform):
    configure(world, platform)
    alice = reachable_user("alice", unit=world.edu)
    item = make_item("in_progress", office=world.office, lead_unit=world.edu, owner=world.edu_handler, title="城北河道整治")
    notifications.notification_send(
        recipients=[alice], title="请及时签收督办事项", body="事项编号：X", kind="assigned", dedup_key="k1", item=item
    )
    attempt_all(alice)
    assert platform.problems == []
    assert set(
        Delivery.objects.exclude(notification__dedup_key__startswith="handoff:")
        .filter(notification__recipient=alice)
        .values_list("channel", "status")
    ) == {
        ("inbox", "sent"),
        ("wecom", "sent"),
        ("dingtalk", "sent"),
    }
    [wecom] = platform.posts("/cgi-bin/webhook/send")
    assert wecom["query"]["key"] == "wecom-key-1"
    assert wecom["json"]["msgtype"] == "text" and wecom["json"]["text"]["mentioned_mobile_list"] == [alice.phone]
    assert "请及时签收督办事项" in wecom["json"]["text"]["content"] and f"/items/{item.pk}/" in wecom["json"]["text"]["content"]
    [ding] = platform.posts("/robot/send")
    assert ding["json"]["at"] == {"atMobiles": [alice.phone], "isAtAll": False}
    assert ding["json"]["markdown"]["title"] == "请及时签收督办事项"


def test_a_person_without_a_phone_gets_markdown_and_a_classified_item_is_not_described(world, platform):
    configure(world, platform)
    bob = reachable_user("bob", unit=world.edu, phone=False)
    bob.clearance = Classification.SECRET
    bob.save(update_fields=["clearance"])
    secret = make_item(
        "in_progress",
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_head,
        classification=Classification.SECRET,
        title="机密工程",
    )
    notifications.notification_send(recipients=[bob], title="机密工程 催办", kind="reminder", dedup_key="k2", item=secret)
    attempt_all(bob)
    [wecom] = platform.posts("/cgi-bin/webhook/send")
    assert wecom["json"]["msgtype"] == "markdown"
    assert "机密工程" not in json.dumps(wecom["json"], ensure_ascii=False)
    assert "机密工程" not in json.dumps(platform.posts("/robot/send")[0]["json"], ensure_ascii=False)


def test_errcode_is_a_failure_retried_with_backoff_then_sent(world, platform):
    configure(world, platform)
    alice = reachable_user("alice", unit=world.edu)
    platform.errcodes.extend([-1])  # 系统繁忙 on the first send
    notifications.notification_send(recipients=[alice], title="通报", kind="notice", dedup_key="k3", channels=["wecom"])
    row = Delivery.objects.get(channel=Channel.WECOM)
    with pytest.raises(TransientDeliveryError) as failed:
        notifications.delivery_attempt(delivery_id=row.pk)
    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED and row.attempts == 1 and "errcode -1" in row.last_error
    assert failed.value.retry_at == row.next_attempt_at and row.next_attempt_at is not None
    notifications.delivery_attempt(delivery_id=row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2)


def test_a_sub_unit_shares_its_parents_channel_and_other_units_are_not_reached(world, platform):
    configure(world, platform, unit=world.town)
    sub = reachable_user("sub", unit=world.town_sub)
    other = reachable_user("other", unit=world.env)
    notifications.notification_send(recipients=[sub, other], title="通报", kind="notice", dedup_key="k4")
    assert set(
        Delivery.objects.exclude(notification__dedup_key__startswith="handoff:")
        .filter(notification__recipient=sub)
        .values_list("channel", flat=True)
    ) == {
        "inbox",
        "wecom",
        "dingtalk",
    }
    assert set(
        Delivery.objects.exclude(notification__dedup_key__startswith="handoff:")
        .filter(notification__recipient=other)
        .values_list("channel", flat=True)
    ) == {"inbox"}
    UnitChatChannel.objects.filter(unit=world.town).update(include_sub_units=False)
    notifications.notification_send(recipients=[sub], title="通报二", kind="notice", dedup_key="k5")
    assert Delivery.objects.filter(notification__dedup_key="k5").count() == 1  # inbox only


def test_work_notifications_fetch_a_token_once_and_send_to_the_persons_account(world, platform):
    alice = reachable_user("alice", unit=world.edu)
    for channel in (Channel.WECOM, Channel.DINGTALK):
        unit_chat_channel_save(
            actor=world.admin,
            config=UnitChatChannel(
                unit=world.edu, channel=channel, transport=ChatTransport.APP, app_id="corp-or-appkey", agent_id="1000002"
            ),
            new_secret="app-secret",
        )
        ChatAccount.objects.create(user=alice, channel=channel, account_id=f"{channel}-alice")
    for n in range(2):
        notifications.notification_send(recipients=[alice], title=f"通报{n}", kind="notice", dedup_key=f"w{n}")
    attempt_all(alice)
    assert platform.problems == []
    assert platform.tokens_issued == 2  # one per platform, reused from the cache for the second message
    wecom = platform.posts("/cgi-bin/message/send")
    assert [r["json"]["touser"] for r in wecom] == ["wecom-alice", "wecom-alice"] and wecom[0]["json"]["agentid"] == 1000002
    ding = platform.posts("/topapi/message/corpconversation/asyncsend_v2")
    assert [r["json"]["userid_list"] for r in ding] == ["dingtalk-alice", "dingtalk-alice"]
    # An expired token: the failure drops it, the retry fetches a new one.
    platform.errcodes.extend([42001])
    notifications.notification_send(recipients=[alice], title="通报3", kind="notice", dedup_key="w3", channels=["wecom"])
    row = Delivery.objects.get(notification__dedup_key="w3", channel=Channel.WECOM)
    with pytest.raises(TransientDeliveryError):
        notifications.delivery_attempt(delivery_id=row.pk)
    notifications.delivery_attempt(delivery_id=row.pk)
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT and platform.tokens_issued == 3


def test_secrets_are_write_only_validated_and_audited_without_values(world, platform, settings):
    config = configure(world, platform)[1]
    event = AuditEvent.objects.filter(action="chat_channel_saved", object_id=config.pk).get()
    assert DING_SECRET not in json.dumps(event.data) and "ding-token-1" not in json.dumps(event.data)
    assert sorted(event.data["replaced"]) == ["robot_url", "secret"]
    # Saving again without new values keeps the stored ones.
    unit_chat_channel_save(actor=world.office, config=config)
    config.refresh_from_db()
    assert config.secret == DING_SECRET and "ding-token-1" in config.robot_url
    with pytest.raises(NotPermitted):
        unit_chat_channel_save(actor=world.edu_head, config=config, new_secret="x")
    settings.DUBAN_WEBHOOK_ALLOW_LOOPBACK = False
    with pytest.raises(InvalidInput) as refused:
        unit_chat_channel_save(
            actor=world.office,
            config=UnitChatChannel(unit=world.env, channel=Channel.WECOM),
            new_robot_url="http://127.0.0.1:8000/cgi-bin/webhook/send?key=x",
        )
    assert "new_robot_url" in refused.value.fields
    with pytest.raises(InvalidInput) as incomplete:
        unit_chat_channel_save(
            actor=world.office, config=UnitChatChannel(unit=world.env, channel=Channel.DINGTALK, transport=ChatTransport.APP)
        )
    assert "app_id" in incomplete.value.fields


def test_the_send_time_guard_refuses_loopback_when_not_allowed(world, platform, settings):
    configure(world, platform)
    alice = reachable_user("alice", unit=world.edu)
    notifications.notification_send(recipients=[alice], title="通报", kind="notice", dedup_key="g", channels=["wecom"])
    settings.DUBAN_WEBHOOK_ALLOW_LOOPBACK = False
    row = Delivery.objects.get(channel=Channel.WECOM)
    notifications.delivery_attempt(delivery_id=row.pk)
    row.refresh_from_db()
    assert row.status == DeliveryStatus.DEAD and "refused address" in row.last_error
    assert platform.posts("/cgi-bin/webhook/send") == []


def test_the_admin_never_shows_a_stored_secret_and_keeps_it_when_left_blank(world, platform, client):
    client.force_login(world.admin)
    form = {
        "unit": world.edu.pk,
        "channel": "dingtalk",
        "transport": "robot",
        "new_robot_url": f"{platform.base}/robot/send?access_token=ding-token-secret-1",
        "new_secret": DING_SECRET,
        "app_id": "",
        "agent_id": "",
        "include_sub_units": "on",
        "is_active": "on",
    }
    assert client.post("/admin/tasks/unitchatchannel/add/", form).status_code == 302
    config = UnitChatChannel.objects.get()
    assert config.secret == DING_SECRET
    for page in ("/admin/tasks/unitchatchannel/", f"/admin/tasks/unitchatchannel/{config.pk}/change/"):
        html = client.get(page).content.decode()
        assert DING_SECRET not in html and "ding-token-secret-1" not in html
        assert "••••" in html
    form.update(new_robot_url="", new_secret="", is_active="")
    assert client.post(f"/admin/tasks/unitchatchannel/{config.pk}/change/", form).status_code == 302
    config.refresh_from_db()
    assert config.secret == DING_SECRET and "ding-token-secret-1" in config.robot_url and config.is_active is False
