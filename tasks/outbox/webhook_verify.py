"""How a receiver checks a Duban webhook. Standard library only, so an OA system can copy this file.

The README's example imports this module, and the test suite's loopback receiver uses it, so the
documented check is the tested one.

A request carries
    X-Duban-Event:      item.assigned
    X-Duban-Delivery:   3f0c…-uuid   (stable across retries and replays: de-duplicate on it)
    X-Duban-Timestamp:  1767225600   (Unix seconds when this attempt was signed)
    X-Duban-Signature:  sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

and the receiver
1. rejects a timestamp more than five minutes away from its own clock (a captured request cannot
   be replayed later),
2. recomputes the HMAC over the raw bytes it received and compares in constant time (a changed
   body, timestamp or secret fails),
3. checks that the delivery id in the signed body matches the header (the header alone is not
   signed), and
4. processes each delivery id once: a repeat within the five minutes, or a retry of something it
   already handled, is answered 2xx and not processed again."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time

TOLERANCE_SECONDS = 300


class WebhookRejected(ValueError):
    """The request is not a genuine, fresh Duban delivery; answer 400/401 and do not process it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    """sha256=HMAC-SHA256(secret, "<timestamp>.<body>"), as Duban signs (tasks.outbox.channels.webhook_signature)."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_webhook(
    *,
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    delivery_id: str | None = None,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> dict:
    """Return the event (the parsed body) if the request is genuine and fresh; raise WebhookRejected if not.

    `body` must be the raw bytes as received, before any JSON parsing."""
    if not timestamp or not timestamp.isdigit():
        raise WebhookRejected("missing or malformed X-Duban-Timestamp")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance:
        raise WebhookRejected("timestamp outside the tolerance window")
    try:
        expected = expected_signature(secret, timestamp, body)
    except UnicodeEncodeError as exc:
        raise WebhookRejected("malformed X-Duban-Timestamp") from exc
    if not signature or not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
        raise WebhookRejected("signature mismatch")
    event = json.loads(body)
    if delivery_id is not None and event.get("delivery_id") != delivery_id:
        raise WebhookRejected("X-Duban-Delivery does not match the signed body")
    return event


class SeenDeliveries:
    """Remembers processed delivery ids (in memory; a real receiver keeps them in a table with a
    unique column, for at least as long as Duban may retry or an operator may replay)."""

    def __init__(self):
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def first_time(self, delivery_id: str) -> bool:
        with self._lock:
            if delivery_id in self._seen:
                return False
            self._seen.add(delivery_id)
            return True
