"""企业微信 (WeCom) and 钉钉 (DingTalk): the transports, which unit channel serves a person, and the
audited write of a unit's channel (secrets write-only).

Per the platforms' documentation:
- **企业微信群机器人**: POST JSON to the robot's address (…/cgi-bin/webhook/send?key=KEY):
  {"msgtype": "text", "text": {"content", "mentioned_mobile_list"}} when the person has a phone
  number (the group sees who is meant), else {"msgtype": "markdown", "markdown": {"content"}}.
- **钉钉自定义机器人**: POST JSON to …/robot/send?access_token=TOKEN; with 加签 the address gets
  `timestamp` (ms) and `sign` = urlencode(base64(HMAC-SHA256(key=secret, "timestamp\\nsecret"))).
  {"msgtype": "markdown", "markdown": {"title", "text"}, "at": {"atMobiles", "isAtAll"}}.
- **企业微信应用消息**: GET /cgi-bin/gettoken?corpid&corpsecret → access_token (7200 s); POST
  /cgi-bin/message/send?access_token=… {"touser", "msgtype": "text", "agentid", "text": {"content"}}.
- **钉钉工作通知**: GET /gettoken?appkey&appsecret → access_token; POST
  /topapi/message/corpconversation/asyncsend_v2?access_token=… {"agent_id", "userid_list", "msg"}.

Every answer is JSON with `errcode`; anything but 0 is a failure retried with the outbox's backoff
(an expired token is dropped from the cache first). Addresses pass the webhook address guard
(DUBAN_WEBHOOK_ALLOW_LOOPBACK) when saved and again before each send; redirects are never followed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Unit, User
from supervision.audit import audit_record
from supervision.errors import InvalidInput, NotPermitted
from tasks.choices import Channel, ChatTransport
from tasks.models import ChatAccount, UnitChatChannel
from tasks.outbox.channels import BACKENDS, OutgoingMessage, PermanentDeliveryError, TransientDeliveryError
from tasks.outbox.webhooks.subscriptions import allow_loopback, clean_target_url, refused_address

TOKEN_EXPIRED = {40014, 42001, 88, 40001}  # invalid or expired access_token (企业微信, 钉钉)

# ---------------------------------------------------------------------------------------------
# Which channel serves a person


def _lineage(unit_id: int, path: str) -> list[int]:
    """The unit and its parents, nearest last (Unit.path is "000001/000007/")."""
    return [int(part) for part in (path or f"{unit_id:06d}/").split("/") if part]


def _pick(lineage: list[int], rows: dict[int, UnitChatChannel]) -> UnitChatChannel | None:
    """The unit's own channel, else the nearest parent's that is shared with sub-units."""
    for depth, unit_id in enumerate(reversed(lineage)):
        row = rows.get(unit_id)
        if row is not None and (depth == 0 or row.include_sub_units):
            return row
    return None


def unit_channel_for(user: User, channel: str) -> UnitChatChannel | None:
    """The active channel that serves the person (at send time: the configuration as it is now)."""
    if user.unit_id is None:
        return None
    lineage = _lineage(user.unit_id, user.unit.path)
    rows = {r.unit_id: r for r in UnitChatChannel.objects.filter(unit_id__in=lineage, channel=channel, is_active=True)}
    return _pick(lineage, rows)


def account_id(user: User, channel: str) -> str:
    return ChatAccount.objects.filter(user=user, channel=channel).values_list("account_id", flat=True).first() or ""


class ChatReach:
    """Who the chat channels reach, for a whole send in at most three queries (none more when no
    unit has a chat channel): the sender asks for every recipient and channel."""

    def __init__(self, users: list[User], channels: list[str]):
        wanted = [c for c in channels if c in (Channel.WECOM, Channel.DINGTALK)]
        self.rows: dict[str, dict[int, UnitChatChannel]] = {c: {} for c in wanted}
        self.paths: dict[int, str] = {}
        self.accounts: set[tuple[int, str]] = set()
        if not wanted:
            return
        for row in UnitChatChannel.objects.filter(is_active=True, channel__in=wanted):
            self.rows[row.channel][row.unit_id] = row
        if not any(self.rows.values()):
            return
        self.paths = dict(Unit.objects.filter(pk__in={u.unit_id for u in users if u.unit_id}).values_list("pk", "path"))
        self.accounts = set(
            ChatAccount.objects.filter(user__in=[u.pk for u in users], channel__in=wanted).values_list("user_id", "channel")
        )

    def reaches(self, user: User, channel: str) -> bool:
        rows = self.rows.get(channel)
        if not rows or user.unit_id is None:
            return False
        config = _pick(_lineage(user.unit_id, self.paths.get(user.unit_id, "")), rows)
        if config is None:
            return False
        return config.transport == ChatTransport.ROBOT or (user.pk, channel) in self.accounts


# ---------------------------------------------------------------------------------------------
# HTTP


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _guard(url: str) -> None:
    """The address guard again at send time: DNS may have changed since the address was saved."""
    if allow_loopback():
        return
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise TransientDeliveryError(f"cannot resolve {host}: {exc}") from exc
    if refused_address(host) or any(refused_address(info[4][0]) for info in infos):
        raise PermanentDeliveryError(f"target {host} resolves to a refused address")


def call(url: str, body: dict | None = None) -> dict:
    """GET (body None) or POST JSON; returns the platform's JSON answer when errcode is 0."""
    _guard(url)
    data = None if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"User-Agent": "duban-chat/1"}
    if data is not None:
        headers["Content-Type"] = "application/json; charset=utf-8"
    request = urllib.request.Request(url, data=data, headers=headers, method="GET" if data is None else "POST")
    try:
        with _opener.open(request, timeout=settings.DUBAN_WEBHOOK_TIMEOUT) as response:
            raw = response.read(65536)
    except urllib.error.HTTPError as exc:
        error = TransientDeliveryError if exc.code >= 500 or exc.code in (408, 429) else PermanentDeliveryError
        raise error(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        raise TransientDeliveryError(f"unreachable: {exc}") from exc
    try:
        answer = json.loads(raw or b"{}")
    except ValueError as exc:
        raise TransientDeliveryError("answer is not JSON") from exc
    code = answer.get("errcode", 0)
    if code != 0:
        error = TransientDeliveryError(f"errcode {code}: {answer.get('errmsg', '')}")
        error.errcode = code
        raise error
    return answer


def _with_query(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """钉钉加签: base64(HMAC-SHA256(key=secret, "timestamp\\nsecret")), before URL encoding."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _link(message: OutgoingMessage) -> str:
    item = message.payload.get("item") or {}
    if not item.get("id"):
        return ""
    return f"{settings.DUBAN_SITE_URL.rstrip('/')}/items/{item['id']}/"


def _text(message: OutgoingMessage) -> str:
    link = _link(message)
    return "\n".join(part for part in (message.title, message.body, link and _("查看：%(link)s") % {"link": link}) if part)


def _markdown(message: OutgoingMessage) -> str:
    link = _link(message)
    lines = [f"**{message.title}**"]
    if message.body:
        lines.append(message.body)
    if link:
        lines.append(f"[{_('查看详情')}]({link})")
    return "\n\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Access tokens of work notifications, shared by workers through the cache


def _token(config: UnitChatChannel, fetch_url: str, *, refresh: bool = False) -> str:
    fingerprint = hashlib.sha256(f"{config.app_id}:{config.secret}".encode()).hexdigest()[:16]
    key = f"duban:chat-token:{config.pk}:{fingerprint}"
    if refresh:
        cache.delete(key)
    token = cache.get(key)
    if token:
        return token
    answer = call(fetch_url)
    token = answer.get("access_token") or ""
    if not token:
        raise TransientDeliveryError("no access_token in the answer")
    cache.set(key, token, max(60, int(answer.get("expires_in", 7200)) - 300))
    return token


def _send_with_token(config: UnitChatChannel, fetch_url: str, send_url: str, body: dict) -> dict:
    token = _token(config, fetch_url)
    try:
        return call(_with_query(send_url, access_token=token), body)
    except TransientDeliveryError as exc:
        if getattr(exc, "errcode", None) in TOKEN_EXPIRED:
            _token(config, fetch_url, refresh=True)  # the next attempt fetches a fresh one
        raise


# ---------------------------------------------------------------------------------------------
# The two channels


def _config(delivery, channel: str) -> UnitChatChannel:
    config = unit_channel_for(delivery.recipient, channel)
    if config is None:
        raise PermanentDeliveryError(f"no active {channel} channel for the recipient's unit")
    return config


class WeComChannel:
    def send(self, delivery, message: OutgoingMessage) -> None:
        config = _config(delivery, Channel.WECOM)
        if config.transport == ChatTransport.ROBOT:
            phone = (delivery.recipient.phone or "").strip()
            if phone:
                body = {"msgtype": "text", "text": {"content": _text(message), "mentioned_mobile_list": [phone]}}
            else:
                body = {"msgtype": "markdown", "markdown": {"content": _markdown(message)[:4000]}}
            call(config.robot_url, body)
            return
        user_id = account_id(delivery.recipient, Channel.WECOM)
        if not user_id:
            raise PermanentDeliveryError("recipient has no 企业微信 UserID")
        base = settings.DUBAN_WECOM_API_BASE.rstrip("/")
        fetch = f"{base}/cgi-bin/gettoken?" + urllib.parse.urlencode({"corpid": config.app_id, "corpsecret": config.secret})
        body = {
            "touser": user_id,
            "msgtype": "text",
            "agentid": int(config.agent_id or 0),
            "text": {"content": _text(message)},
            # The platform drops a repeat within the interval: a retry after a lost answer shows once.
            "enable_duplicate_check": 1,
            "duplicate_check_interval": 1800,
        }
        _send_with_token(config, fetch, f"{base}/cgi-bin/message/send", body)


class DingTalkChannel:
    def send(self, delivery, message: OutgoingMessage) -> None:
        config = _config(delivery, Channel.DINGTALK)
        if config.transport == ChatTransport.ROBOT:
            phone = (delivery.recipient.phone or "").strip()
            text = _markdown(message) + (f"\n\n@{phone}" if phone else "")
            body = {
                "msgtype": "markdown",
                "markdown": {"title": message.title[:100], "text": text},
                "at": {"atMobiles": [phone] if phone else [], "isAtAll": False},
            }
            url = config.robot_url
            if config.secret:
                timestamp = str(int(time.time() * 1000))
                url = _with_query(url, timestamp=timestamp, sign=dingtalk_sign(config.secret, timestamp))
            call(url, body)
            return
        user_id = account_id(delivery.recipient, Channel.DINGTALK)
        if not user_id:
            raise PermanentDeliveryError("recipient has no 钉钉 userid")
        base = settings.DUBAN_DINGTALK_API_BASE.rstrip("/")
        fetch = f"{base}/gettoken?" + urllib.parse.urlencode({"appkey": config.app_id, "appsecret": config.secret})
        body = {
            "agent_id": int(config.agent_id or 0),
            "userid_list": user_id,
            "msg": {"msgtype": "markdown", "markdown": {"title": message.title[:100], "text": _markdown(message)}},
        }
        _send_with_token(config, fetch, f"{base}/topapi/message/corpconversation/asyncsend_v2", body)


# The channels' registry lives in channels.py (which must not import this module); registered here,
# on import by notifications.py, before any worker sends.
BACKENDS.update({Channel.WECOM: WeComChannel(), Channel.DINGTALK: DingTalkChannel()})


# ---------------------------------------------------------------------------------------------
# The audited write: a unit's channel, secrets write-only


def _may_configure(actor: User) -> bool:
    return actor.is_active and (actor.is_superuser or actor.is_office)


@transaction.atomic
def unit_chat_channel_save(
    *, actor: User, config: UnitChatChannel, new_robot_url: str = "", new_secret: str = ""
) -> UnitChatChannel:
    """Save a unit's channel. A blank `new_robot_url` / `new_secret` keeps the stored one; the values
    are never returned or audited (only that they changed)."""
    if not _may_configure(actor):
        raise NotPermitted(_("只有督查室工作人员或管理员可以配置单位消息渠道。"), code="office_only")
    changed = []
    if new_robot_url.strip():
        try:
            config.robot_url = clean_target_url(new_robot_url)
        except InvalidInput as exc:
            raise InvalidInput(fields={"new_robot_url": exc.fields["target_url"]}) from exc
        changed.append("robot_url")
    if new_secret.strip():
        config.secret = new_secret.strip()
        changed.append("secret")
    if changed:
        config.secret_changed_at = timezone.now()
    errors = {}
    if config.transport == ChatTransport.ROBOT and not config.robot_url:
        errors["new_robot_url"] = [_("群机器人须填写机器人地址（含 key 或 access_token）。")]
    if config.transport == ChatTransport.APP:
        if not (config.app_id and config.agent_id and config.secret):
            errors["app_id"] = [_("工作通知须填写企业 ID / AppKey、AgentId 和密钥。")]
        elif not config.agent_id.isdigit():
            errors["agent_id"] = [_("AgentId 应为数字。")]
    if errors:
        raise InvalidInput(fields=errors)
    config.save()
    audit_record(
        actor=actor,
        action="chat_channel_saved",
        obj=config,
        data={
            "unit_id": config.unit_id,
            "channel": config.channel,
            "transport": config.transport,
            "is_active": config.is_active,
            "replaced": changed,  # which secrets were replaced, never their values
        },
    )
    return config
