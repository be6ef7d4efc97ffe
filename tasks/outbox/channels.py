"""Delivery channels: transport only. Each backend's `send(delivery, message)` returns on success
and raises TransientDeliveryError (try again later) or PermanentDeliveryError (retrying cannot
help: dead-letter it). What the message says, and who may be told what, is decided in
tasks/outbox/notifications.py, not here."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.utils.module_loading import import_string

from tasks.choices import Channel

logger = logging.getLogger(__name__)

# Dotted paths a deployment may have configured (DUBAN_SMS_BACKEND) name the module where the class
# lived before the layout moved it (issue 10): the old prefix is read as the new one.
MOVED_MODULES = {"tasks.channels": "tasks.outbox.channels"}


def import_configured(path: str):
    """import_string for a dotted path from settings, old module paths included."""
    for old, new in MOVED_MODULES.items():
        if path.startswith(f"{old}."):
            path = new + path[len(old) :]
            break
    return import_string(path)


class DeliveryError(Exception):
    """A send failed; the message is stored as the delivery's last_error."""


class TransientDeliveryError(DeliveryError):
    """The channel may accept the message later (timeout, connection refused, 5xx, greylisting)."""


class PermanentDeliveryError(DeliveryError):
    """The channel will never accept this message as it is (no address, rejected address, 4xx)."""


@dataclass(frozen=True)
class OutgoingMessage:
    """What leaves the system over an external channel."""

    title: str
    body: str
    payload: dict  # structured form, for machine channels (webhook)


class ChannelBackend(Protocol):
    def send(self, delivery, message: OutgoingMessage) -> None: ...


# ---------------------------------------------------------------------------------------------
# Inbox


class InboxChannel:
    """The Notification row is the inbox entry: committing it is the delivery."""

    def send(self, delivery, message: OutgoingMessage) -> None:
        return None


# ---------------------------------------------------------------------------------------------
# Email


class EmailChannel:
    """Django's mail framework (EMAIL_BACKEND); SMTP settings come from the environment."""

    def send(self, delivery, message: OutgoingMessage) -> None:
        address = (delivery.recipient.email or "").strip()
        try:
            validate_email(address)
        except ValidationError as exc:
            raise PermanentDeliveryError(f"invalid email address {address!r}") from exc
        email = EmailMessage(
            subject=message.title,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[address],
            # A stable Message-ID per delivery: if a worker dies after the SMTP server accepted the
            # message but before the row was marked sent, the retry carries the same id and mail
            # systems that de-duplicate on it show one message.
            headers={"Message-ID": f"<{delivery.message_id}@{settings.DUBAN_EMAIL_MESSAGE_ID_DOMAIN}>"},
        )
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentDeliveryError(f"recipient refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            # 4xx is "try later" in SMTP (greylisting, mailbox busy); 5xx is a final no.
            error = TransientDeliveryError if 400 <= exc.smtp_code < 500 else PermanentDeliveryError
            raise error(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except (smtplib.SMTPException, OSError) as exc:  # connection refused, timeout, TLS failure
            raise TransientDeliveryError(f"SMTP unavailable: {exc}") from exc


# ---------------------------------------------------------------------------------------------
# SMS


class SmsGateway(Protocol):
    """What an SMS provider adapter implements (named by settings.DUBAN_SMS_BACKEND)."""

    def send_sms(self, *, phone: str, text: str, message_id: str) -> None:
        """`message_id` is stable across retries of one delivery: providers that accept a client
        message id drop a repeat sent after a worker died between sending and recording."""


class ConsoleSmsGateway:
    """The default gateway: writes the message to the log. Real providers plug in by dotted path."""

    def send_sms(self, *, phone: str, text: str, message_id: str) -> None:
        logger.info("SMS %s to %s: %s", message_id, phone, text)


class SmsChannel:
    def send(self, delivery, message: OutgoingMessage) -> None:
        phone = (delivery.recipient.phone or "").strip()
        if not phone:
            raise PermanentDeliveryError("recipient has no phone number")
        # Looked up per send so a settings change (or a test) takes effect without a restart.
        gateway = import_configured(settings.DUBAN_SMS_BACKEND)()
        text = f"{settings.DUBAN_SMS_SIGNATURE}{message.title}"
        if message.body:
            text = f"{text}：{message.body}"
        gateway.send_sms(phone=phone, text=text[: settings.DUBAN_SMS_MAX_LENGTH], message_id=delivery.message_id)


# ---------------------------------------------------------------------------------------------
# Webhook


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", so a captured request cannot be replayed later."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookChannel:
    """POSTs JSON to settings.DUBAN_WEBHOOK_URL (an OA system, a messaging bot)."""

    def send(self, delivery, message: OutgoingMessage) -> None:
        url = settings.DUBAN_WEBHOOK_URL
        if not url:
            raise PermanentDeliveryError("DUBAN_WEBHOOK_URL is not set")
        body = json.dumps(message.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "duban-webhook/1",
            # The receiver de-duplicates on this: a retry after a lost response repeats the id.
            "Idempotency-Key": delivery.message_id,
            "X-Duban-Timestamp": timestamp,
        }
        if settings.DUBAN_WEBHOOK_SECRET:
            headers["X-Duban-Signature"] = webhook_signature(settings.DUBAN_WEBHOOK_SECRET, timestamp, body)
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=settings.DUBAN_WEBHOOK_TIMEOUT) as response:
                response.read(1024)
        except urllib.error.HTTPError as exc:
            # 408 and 429 are "later, please"; any other 4xx means the request itself is wrong.
            if exc.code >= 500 or exc.code in (408, 429):
                raise TransientDeliveryError(f"webhook HTTP {exc.code}") from exc
            raise PermanentDeliveryError(f"webhook HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise TransientDeliveryError(f"webhook unreachable: {exc}") from exc


BACKENDS: dict[str, ChannelBackend] = {
    Channel.INBOX: InboxChannel(),
    Channel.EMAIL: EmailChannel(),
    Channel.SMS: SmsChannel(),
    Channel.WEBHOOK: WebhookChannel(),
}


def backend_for(channel: str) -> ChannelBackend:
    return BACKENDS[channel]
