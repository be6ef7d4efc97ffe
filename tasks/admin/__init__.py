"""The worker app's back office, by capability: the outboxes (outbox.py) and how messages reach
people — the digest, channel rules, preferences and the units' 企业微信 / 钉钉 channels (messaging.py)."""

from tasks.admin import messaging, outbox

__all__ = ["messaging", "outbox"]
