"""One outbox machinery for both outboxes: messages to people (notifications.py) and events to OA
systems (webhooks/). Each row (tasks/models/outbox.py: OutboxRow) is one message waiting to leave
the system; this module moves it, and a subclass of `Outbox` says only what differs.

- **Queue after commit, by the row's task.** A worker must never look for a row that does not exist
  yet, and a rolled-back change must never go out: rows are queued by task name once the current
  transaction commits (supervision/outbox.py: enqueue), so no module here imports a task module.
- **One attempt under a row lock.** SKIP LOCKED: two workers never send the same row at once, and a
  row already sent or dead is left alone, so a task may run twice.
- **Backoff, then the dead letter.** Transient failures are retried after an exponential delay with
  jitter (`retry_delay`); after the last attempt, or on a permanent error, the row is dead and waits
  in the dead-letter list.
- **The sweep** re-queues open rows whose task was lost (a worker killed mid-send, a dropped
  message): SKIP LOCKED, and `next_attempt_at` pushed forward, so two sweeps never queue the same
  row and a row still stuck is re-queued at most once per DUBAN_DELIVERY_STUCK_AFTER_SECONDS.
- **Resend by an operator**: a fresh set of attempts, an audit event, queued after commit.

The Celery tasks (tasks/delivery.py) only call the thin functions each outbox exports."""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterable
from typing import Any, ClassVar, Generic, TypeVar

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from supervision.audit import audit_record
from supervision.errors import NotPermitted, NotVisible, TransitionNotAllowed
from supervision.outbox import enqueue
from tasks.choices import OPEN_DELIVERY_STATUSES, DeliveryStatus
from tasks.models import OutboxRow
from tasks.outbox.channels import PermanentDeliveryError, TransientDeliveryError

MAX_ERROR_LENGTH = 2000

Row = TypeVar("Row", bound=OutboxRow)


def retry_delay(attempts: int, *, max_seconds: int | None = None) -> datetime.timedelta:
    """Wait after the `attempts`-th failure: base·2^(n-1) capped (at DUBAN_DELIVERY_RETRY_MAX_SECONDS
    unless the outbox says otherwise), half of it jittered so retries do not arrive together."""
    cap = settings.DUBAN_DELIVERY_RETRY_MAX_SECONDS if max_seconds is None else max_seconds
    ceiling = min(cap, settings.DUBAN_DELIVERY_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return datetime.timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))


class Outbox(Generic[Row]):
    """The machinery; a subclass names its row model and task and overrides the hooks below."""

    model: type[Row]
    task_name: ClassVar[str]  # the Celery task that attempts one row by id
    attempt_related: ClassVar[tuple[str, ...]] = ()  # select_related for an attempt
    extra_attempt_fields: ClassVar[tuple[str, ...]] = ()  # saved with each attempt's outcome

    # An operator's resend: which states may be sent again, and what a refusal says.
    resendable: ClassVar[tuple[str, ...]] = (DeliveryStatus.DEAD,)
    resend_denied: ClassVar[Any]
    not_resendable: ClassVar[Any]  # "%(status)s" is the row's current state
    not_resendable_code: ClassVar[str]

    # -----------------------------------------------------------------------------------------
    # Hooks: what differs between the outboxes

    def max_attempts(self) -> int:
        raise NotImplementedError

    def retry_cap_seconds(self) -> int | None:
        """The backoff's cap; None is DUBAN_DELIVERY_RETRY_MAX_SECONDS."""
        return None

    def waits(self, row: Row, now: datetime.datetime) -> bool:
        """True leaves an open row untouched this time (not its turn yet); it is queued again later."""
        return False

    def refusal(self, row: Row) -> str:
        """Why this row may no longer be sent at all ("" when it may): it is dead-lettered unsent."""
        return ""

    def send(self, row: Row) -> Any:
        """Send once: return on success, raise TransientDeliveryError or PermanentDeliveryError."""
        raise NotImplementedError

    def record_outcome(self, row: Row, result: Any, error: Exception | None) -> None:
        """Set the outbox's own columns (extra_attempt_fields) from one attempt."""

    def settled(self, row: Row) -> None:
        """After a row became sent or dead, outside its transaction."""

    def due(self, rows: QuerySet[Row]) -> QuerySet[Row]:
        """Narrow the sweep's open, overdue rows to those whose turn it is."""
        return rows

    def may_resend(self, actor: User) -> bool:
        raise NotImplementedError

    def operator_rows(self, actor: User) -> QuerySet[Row]:
        """The rows this operator may see (the one visibility rule)."""
        raise NotImplementedError

    def reset_for_resend(self, row: Row) -> tuple[str, ...]:
        """Extra changes when an operator sends a row again; returns the fields it changed."""
        return ()

    def resend_audit(self, row: Row, before: dict) -> dict:
        """audit_record's arguments (action, item, data, …) for an operator's resend."""
        raise NotImplementedError

    # -----------------------------------------------------------------------------------------
    # The machinery

    def queue(self, row_ids: Iterable[int]) -> None:
        """Queue each row's task once the current transaction commits."""
        for row_id in row_ids:
            enqueue(self.task_name, row_id)

    def retry_delay(self, attempts: int) -> datetime.timedelta:
        return retry_delay(attempts, max_seconds=self.retry_cap_seconds())

    def attempt(self, row_id: int) -> Row | None:
        """Try to send one row once. Safe to call twice and from two workers at once.

        Returns the row as it now stands, or None when it does not exist or another worker holds
        it. Raises TransientDeliveryError (with `retry_at`) when it should be tried again; the
        attempt is recorded either way."""
        error: Exception | None = None
        with transaction.atomic():
            row = (
                self.model.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related(*self.attempt_related)
                .filter(pk=row_id)
                .first()
            )
            if row is None or row.status not in OPEN_DELIVERY_STATUSES:
                return row
            if self.waits(row, timezone.now()):
                return row
            refusal = self.refusal(row)
            if refusal:
                row.status, row.next_attempt_at, row.last_error = DeliveryStatus.DEAD, None, refusal
                row.save(update_fields=["status", "next_attempt_at", "last_error", "updated_at"])
            else:
                result = None
                try:
                    result = self.send(row)
                except DatabaseError:
                    raise  # the transaction is broken; nothing can be recorded, the sweep will retry
                except Exception as exc:  # recorded below; unexpected errors count as transient ones
                    error = exc
                self._record(row, result, error)

        if row.status not in OPEN_DELIVERY_STATUSES:
            self.settled(row)
        if error is not None and row.status == DeliveryStatus.FAILED:
            if not isinstance(error, TransientDeliveryError):
                # A bug in a sender is not hidden: the task fails loudly, the row is retried by the
                # sweep and dead-lettered after the last attempt like any other failure.
                raise error
            error.retry_at = row.next_attempt_at
            raise error
        return row

    def _record(self, row: Row, result: Any, error: Exception | None) -> None:
        now = timezone.now()  # when the attempt ended: the receiver answered, or the failure came
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.next_attempt_at, row.last_error = DeliveryStatus.SENT, now, None, ""
        else:
            row.last_error = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
            if isinstance(error, PermanentDeliveryError) or row.attempts >= self.max_attempts():
                row.status, row.next_attempt_at = DeliveryStatus.DEAD, None
            else:
                row.status, row.next_attempt_at = DeliveryStatus.FAILED, now + self.retry_delay(row.attempts)
        self.record_outcome(row, result, error)
        row.save(
            update_fields=[
                "status",
                "attempts",
                "sent_at",
                "next_attempt_at",
                "last_error",
                *self.extra_attempt_fields,
                "updated_at",
            ]
        )

    def requeue_due(self, *, now: datetime.datetime | None = None, limit: int | None = None) -> list[int]:
        """Re-queue open rows whose task was lost and whose turn it is; returns their ids.

        Locks what it takes with SKIP LOCKED and pushes `next_attempt_at` forward, so two sweeps
        running at once never queue the same row."""
        now = now or timezone.now()
        limit = limit or settings.DUBAN_DELIVERY_SWEEP_BATCH
        cutoff = now - datetime.timedelta(seconds=settings.DUBAN_DELIVERY_STUCK_AFTER_SECONDS)
        with transaction.atomic():
            overdue = self.model.objects.select_for_update(skip_locked=True).filter(
                status__in=OPEN_DELIVERY_STATUSES, next_attempt_at__lte=cutoff
            )
            ids = list(self.due(overdue).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
            if ids:
                self.model.objects.filter(pk__in=ids).update(next_attempt_at=now, updated_at=now)
                self.queue(ids)
        return ids

    def resend(self, *, actor: User, row: Row) -> Row:
        """An operator sends a row again with a fresh set of attempts. Audited."""
        with transaction.atomic():
            if not self.may_resend(actor):
                raise NotPermitted(self.resend_denied, code="office_only")
            # No SKIP LOCKED: if a worker is sending it right now, wait and judge the outcome.
            locked = self.operator_rows(actor).select_for_update(of=("self",)).filter(pk=row.pk).first()
            if locked is None:
                raise NotVisible()
            if locked.status not in self.resendable:
                raise TransitionNotAllowed(
                    self.not_resendable % {"status": locked.get_status_display()}, code=self.not_resendable_code
                )
            before = {"status": locked.status, "attempts": locked.attempts, "last_error": locked.last_error}
            locked.status = DeliveryStatus.PENDING
            locked.attempts = 0
            locked.next_attempt_at = timezone.now()
            changed = self.reset_for_resend(locked)
            locked.save(update_fields=["status", "attempts", "next_attempt_at", *changed, "updated_at"])
            audit_record(actor=actor, obj=locked, **self.resend_audit(locked, before))
            self.queue([locked.pk])
        return locked
