"""Fixtures for the outbox tests. Unless a test is marked `real_worker`, queueing a delivery
records its id instead of publishing to Redis: nothing here may leave messages on a broker that
another checkout's worker could consume."""

from __future__ import annotations

import pytest

from accounts.choices import Role
from tasks.delivery import deliver_notification
from tests.factories import UserFactory
from tests.tasks.fakes import FailingEmailBackend, RecordingSmsGateway


def pytest_configure(config):
    config.addinivalue_line("markers", "real_worker: runs a real Celery worker against real Redis")


@pytest.fixture(autouse=True)
def queued(request, monkeypatch) -> list[int]:
    """Ids passed to deliver_notification.delay (only after commit, see the on-commit tests)."""
    ids: list[int] = []
    if request.node.get_closest_marker("real_worker") is None:
        monkeypatch.setattr(deliver_notification, "delay", lambda delivery_id: ids.append(delivery_id))
    return ids


@pytest.fixture(autouse=True)
def outbox_settings(settings):
    settings.DUBAN_SMS_BACKEND = "tests.tasks.fakes.RecordingSmsGateway"
    settings.DUBAN_NOTIFICATION_CHANNELS = ["inbox", "email", "sms", "webhook"]
    settings.DUBAN_WEBHOOK_URL = ""
    settings.DUBAN_WEBHOOK_SECRET = ""
    settings.DUBAN_DELIVERY_MAX_ATTEMPTS = 5
    settings.DUBAN_DELIVERY_RETRY_BASE_SECONDS = 30
    settings.DUBAN_DELIVERY_RETRY_MAX_SECONDS = 600
    settings.DUBAN_DELIVERY_STUCK_AFTER_SECONDS = 300
    settings.DUBAN_EXTERNAL_MAX_CLASSIFICATION = 1
    RecordingSmsGateway.reset()
    FailingEmailBackend.error = None
    yield settings
    RecordingSmsGateway.reset()
    FailingEmailBackend.error = None


@pytest.fixture
def sms():
    return RecordingSmsGateway


def reachable_user(username: str, *, unit=None, roles=(Role.UNIT_HANDLER,), email=True, phone=True):
    """A user with an email address and a phone number, so every channel reaches them."""
    user = UserFactory(username=username, full_name=username, unit=unit, roles=list(roles))
    user.email = f"{username}@example.gov.cn" if email else ""
    user.phone = f"138{user.pk:08d}" if phone else ""
    user.save(update_fields=["email", "phone"])
    return user
