"""The one door from the ledger to the workers (tasks/). The ledger never imports the worker app;
the worker app plugs itself in here when Django starts (tasks/apps.py: TasksConfig.ready()).

Three things leave the ledger:
- **Jobs**: `enqueue("tasks.exports.run_export_job", job.pk)` queues a Celery task by its name once
  the current transaction commits, so a worker never looks for a row that does not exist yet and
  a rolled-back change queues nothing.
- **Messages to people**: `notify(...)` writes the messages through the messenger the worker app
  registers, inside the caller's transaction: they commit or roll back with the change that
  caused them, and the (recipient, dedup_key) unique constraint makes each one exactly once.
- **Change events**: `changed(events)` hands every audit event to the subscribers (the webhook
  outbox, the dashboard figures' generation key), in the change's own transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from celery import current_app
from django.db import transaction


def enqueue(task_name: str, *args: Any, **kwargs: Any) -> None:
    """Queue the Celery task `task_name` with these arguments after the current transaction commits
    (at once when there is none)."""

    def send() -> None:
        current_app.tasks[task_name].delay(*args, **kwargs)

    transaction.on_commit(send)


@dataclass(frozen=True)
class Message:
    """One message to some people (站内信, and the channels the worker app adds).

    `dedup_key` names the logical message ("reminder:item-42:step-7"): the same key reaches the
    same person at most once, however often it is sent. `urgent` messages (特急) are not held
    back for quiet hours."""

    recipients: Sequence[Any]
    title: str
    body: str
    kind: str
    dedup_key: str
    item: Any = None
    urgent: bool = False


class Messenger(Protocol):
    def send(self, message: Message) -> list[Any]:
        """Write the message for each recipient who has not had its key; return those written."""

    def sent_keys(self, *, item_id: int, keys: Iterable[str]) -> set[str]:
        """Which of these keys already reached someone about the item."""

    def received_by_unit(self, *, since: Any, until: Any, unit_ids: Iterable[int] | None = None) -> dict[int, dict[str, int]]:
        """Per unit of the recipients: messages received in [since, until) by kind (减负 figures)."""


_messenger: Messenger | None = None
_subscribers: list[Callable[[list[Any]], None]] = []


def register_messenger(messenger: Messenger) -> None:
    global _messenger
    _messenger = messenger


def _require_messenger() -> Messenger:
    if _messenger is None:
        raise RuntimeError("no messenger registered: is the 'tasks' app in INSTALLED_APPS?")
    return _messenger


def notify(
    *,
    recipients: Iterable[Any],
    title: str,
    body: str = "",
    kind: str,
    dedup_key: str,
    item=None,
    urgent: bool = False,
) -> list[Any]:
    """Send one message to these people in the current transaction; returns what was written."""
    message = Message(
        recipients=list(recipients), title=title, body=body, kind=kind, dedup_key=dedup_key, item=item, urgent=urgent
    )
    return _require_messenger().send(message)


def sent_keys(*, item_id: int, keys: Iterable[str]) -> set[str]:
    return _require_messenger().sent_keys(item_id=item_id, keys=keys)


def received_by_unit(*, since, until, unit_ids: Iterable[int] | None = None) -> dict[int, dict[str, int]]:
    return _require_messenger().received_by_unit(since=since, until=until, unit_ids=unit_ids)


def subscribe(subscriber: Callable[[list[Any]], None]) -> None:
    """Call `subscriber(events)` with the audit events of every recorded change, in its transaction."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def changed(events: list[Any]) -> None:
    for subscriber in _subscribers:
        subscriber(events)
