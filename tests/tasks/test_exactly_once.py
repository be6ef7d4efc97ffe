"""Exactly once, proved with real Celery worker PROCESSES (prefork pools started with `celery
worker`), real Redis (db 14, a queue of the test's own) and real PostgreSQL (the test database,
rows committed: transaction=True). ISSUES.md #3, "Exactly once":

- two beat schedulers publish the reminder sweep at the same moment;
- the sweep runs twice concurrently, in two processes, each claiming part of the due items;
- a worker is killed (kill -9) in the middle of a delivery, and a pool process is killed alone;

and each time the outcome is exactly the expected set of (item, step, recipient, channel): none
missing, none doubled, and the channel doubles record exactly one completed send per delivery.

The worker subprocesses run `tests.tasks.exactly_once_worker` with the settings module
`tests.tasks.exactly_once_settings` (the test's queue is their default queue, so remind_items and
deliver_notification queued inside the worker stay on it). They cannot see this process's
monkeypatches, so the data is due at the REAL current time: 特急 items (never held by quiet hours)
whose deadline was three working days ago. The expected recipients are written out by hand from
the built-in/seeded 特急 policy: step +1 (the last step) reaches owner, handlers, head, office and
the issuing leader; the listing (挂牌督办) that follows reaches office, issuing leader and head."""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from supervision.choices import ItemStatus, Urgency
from supervision.models import Item
from supervision.workcalendar import add_workdays
from tasks.choices import OPEN_DELIVERY_STATUSES, Channel, DeliveryStatus
from tasks.delivery import deliver_notification
from tasks.models import Delivery, Notification
from tasks.reminders import remind_items
from tests.factories import make_instruction, make_item
from tests.tasks.exactly_once_support import read_log

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_worker]

BROKER_URL = os.environ.get("DUBAN_TEST_WORKER_BROKER", "redis://127.0.0.1:6379/14")
ROOT = Path(__file__).resolve().parents[2]
SWEEP = "tasks.reminders.sweep_due_reminders"
REMIND = "tasks.reminders.remind_items"
DELIVER = "tasks.delivery.deliver_notification"
CHANNELS = (Channel.INBOX, Channel.EMAIL, Channel.SMS)
EXTERNAL = (Channel.EMAIL, Channel.SMS)


def wait_until(predicate, *, timeout: float = 60.0, what: str = "condition", interval: float = 0.1):
    """Poll until `predicate()` is true; the timeout only bounds a failing test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


# ---------------------------------------------------------------------------------------------
# Worker processes


def _database_url() -> str:
    """The TEST database (committed rows are visible to the workers)."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Cluster:
    """Worker subprocesses consuming one unique queue, and producers publishing to it."""

    def __init__(self, tmp_path: Path):
        self.dir = tmp_path
        self.queue = f"duban-once-test-{uuid.uuid4().hex[:12]}"
        self.send_log = tmp_path / "sends.jsonl"
        self.run_log = tmp_path / "runs.jsonl"
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.tasks.exactly_once_settings",
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,  # the cache, as in this process
            "CELERY_BROKER_URL": BROKER_URL,
            "DUBAN_TEST_QUEUE": self.queue,
            "DUBAN_TEST_SEND_LOG": str(self.send_log),
            "DUBAN_TEST_RUN_LOG": str(self.run_log),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }

    # workers

    def start(self, name: str, *, concurrency: int = 2, **env) -> subprocess.Popen:
        log = self.dir / f"worker-{name}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "tests.tasks.exactly_once_worker",
                    "worker",
                    "--pool=prefork",
                    f"--concurrency={concurrency}",
                    "-Q",
                    self.queue,
                    "-n",
                    f"{self.queue}-{name}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel=INFO",
                ],
                cwd=ROOT,
                env={**self.env, **{k: str(v) for k, v in env.items()}},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group
            )
        proc.log = log
        self.procs[name] = proc
        return proc

    def wait_ready(self, *procs: subprocess.Popen, timeout: float = 45.0) -> None:
        def ready():
            for proc in procs:
                if proc.poll() is not None:
                    raise AssertionError(f"worker exited with {proc.returncode}:\n{proc.log.read_text()[-3000:]}")
            return all(" ready." in proc.log.read_text(errors="replace") for proc in procs)

        wait_until(ready, timeout=timeout, what="the workers to be ready", interval=0.05)

    def kill(self, proc: subprocess.Popen) -> None:
        """kill -9 the whole worker: main process and pool, nothing runs any shutdown code."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)  # warm shutdown: prefetched messages go back
                except ProcessLookupError:
                    pass
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill(proc)
            try:  # any pool process left behind in the group
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # broker

    def publish(self, name: str, *args, **kwargs) -> None:
        """As a beat scheduler does: its own app and connection, straight onto the queue."""
        producer = Celery("duban-exactly-once-producer", broker=BROKER_URL, set_as_current=False)
        try:
            producer.send_task(name, args=args, kwargs=kwargs, queue=self.queue)
        finally:
            producer.close()

    def purge(self) -> None:
        """Leave the broker as we found it: the queue, its bindings, our unacknowledged messages."""
        r = redis.Redis.from_url(BROKER_URL)
        for tag, raw in r.hscan_iter("unacked"):
            try:
                _message, exchange, routing_key = json.loads(raw)
            except (ValueError, TypeError):
                continue
            if self.queue in (exchange, routing_key):
                r.hdel("unacked", tag)
                r.zrem("unacked_index", tag)
        keys = {self.queue, f"_kombu.binding.{self.queue}", f"_kombu.binding_permanent.{self.queue}"}
        keys.update(k.decode() for k in r.scan_iter(match=f"{self.queue}*"))
        r.delete(*keys)
        r.close()

    def queue_drained(self) -> bool:
        r = redis.Redis.from_url(BROKER_URL)
        try:
            if r.llen(self.queue):
                return False
            for _tag, raw in r.hscan_iter("unacked"):
                try:
                    _message, exchange, routing_key = json.loads(raw)
                except (ValueError, TypeError):
                    continue
                if self.queue in (exchange, routing_key):
                    return False
            return True
        finally:
            r.close()

    # what the workers did

    def runs(self, event: str = "task_finished", task: str | None = None) -> list[dict]:
        return [r for r in read_log(self.run_log) if r["event"] == event and (task is None or r["task"] == task)]

    def sends(self, event: str = "sent") -> list[dict]:
        return [s for s in read_log(self.send_log) if s["event"] == event]

    def quiet(self) -> bool:
        """Nothing queued, nothing unacknowledged, every task that started has finished (a task
        whose run was killed counts as finished once its redelivered run finishes)."""
        started = {r["id"] for r in self.runs("task_started")}
        finished = {r["id"] for r in self.runs("task_finished")}
        return started == finished and self.queue_drained()


@pytest.fixture
def cluster(world, tmp_path, monkeypatch):
    """Set up after `world` (and the transactional database), torn down before them: no worker is
    left connected when the tables are flushed."""
    from config.celery import app

    assert not app.conf.task_always_eager
    here: list[tuple] = []
    # This process must publish nothing itself (its broker settings are not the workers').
    monkeypatch.setattr(deliver_notification, "delay", lambda *a, **k: here.append(("deliver", a)))
    monkeypatch.setattr(remind_items, "delay", lambda *a, **k: here.append(("remind", a)))
    c = Cluster(tmp_path)
    c.queued_here = here
    try:
        yield c
    finally:
        c.stop_all()
        c.purge()
    assert here == [], "the test process itself queued tasks"


# ---------------------------------------------------------------------------------------------
# Data and the expected outcome


def reachable(world) -> None:
    """Every person in the county has an email address and a phone number."""
    from accounts.models import User

    for user in User.objects.all():
        user.email = f"{user.username}@example.gov.cn"
        user.phone = f"139{user.pk:08d}"
        user.save(update_fields=["email", "phone"])


def set_aside_setup_handoffs(world, cluster: Cluster, items) -> None:
    """Building the items is the office's work, done here by the test process as the web would:
    each assignment (交办) tells the handlers and the head of 教育局 (supervision/services/handoffs.py),
    and the email and SMS deliveries of those hand-offs are queued on commit — by this process,
    legitimately, before anything is measured. Check that this is all the setup queued (each
    hand-off delivery once, nothing else), then set those messages aside: what follows measures
    the reminders the workers and the beat send, from an empty outbox."""
    handoffs = Notification.objects.filter(item__in=items, dedup_key__startswith="handoff:")
    assert Counter(handoffs.values_list("item_id", "dedup_key", "recipient_id")) == Counter(
        (item.pk, f"handoff:item-{item.pk}:assigned", user.pk) for item in items for user in (world.edu_handler, world.edu_head)
    )
    assert not Notification.objects.exclude(pk__in=handoffs.values("pk")).exists(), "the setup sent something else"
    queued = Counter(cluster.queued_here)
    assert queued == Counter(
        ("deliver", (pk,))
        for pk in Delivery.objects.filter(notification__in=handoffs, channel__in=EXTERNAL).values_list("pk", flat=True)
    ), "the setup queued something other than its hand-offs, or one twice"
    assert set(Delivery.objects.filter(notification__in=handoffs).values_list("channel", flat=True)) == set(CHANNELS)
    handoffs.delete()  # their deliveries with them
    cluster.queued_here.clear()


def overdue_extra_urgent_items(world, cluster: Cluster, n: int) -> tuple[list[Item], datetime.date]:
    """n open 特急 items of 教育局 (owner edu_handler), due three working days ago and due for the
    sweep now (next_reminder_at a minute ago). Built through the services (their hand-off messages
    set aside), then dated back."""
    reachable(world)
    instruction = make_instruction(office=world.office)
    items = [
        make_item(
            ItemStatus.IN_PROGRESS,
            office=world.office,
            lead_unit=world.edu,
            owner=world.edu_handler,
            instruction=instruction,
            urgency=Urgency.EXTRA_URGENT,
            title=f"特急事项{k:02d}",
        )
        for k in range(n)
    ]
    set_aside_setup_handoffs(world, cluster, items)
    deadline = add_workdays(timezone.localdate(), -3)
    assigned_at = timezone.make_aware(datetime.datetime.combine(deadline - datetime.timedelta(days=10), datetime.time(9)))
    Item.objects.filter(pk__in=[i.pk for i in items]).update(
        deadline=deadline,
        original_deadline=deadline,
        assigned_at=assigned_at,
        next_reminder_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    assert instruction.issuing_leader_id == world.leader.pk
    return [Item.objects.get(pk=i.pk) for i in items], deadline


def expected_messages(world, items, deadline) -> set[tuple[int, str, int]]:
    """(item, dedup key, recipient), written out by hand: the +1 step and the listing."""
    step = {world.edu_handler, world.edu_head, world.office, world.office_low, world.leader}
    listing = {world.edu_head, world.office, world.office_low, world.leader}
    expected = set()
    for item in items:
        expected |= {(item.pk, f"deadline:item-{item.pk}:due-{deadline.isoformat()}:step-1", u.pk) for u in step}
        expected |= {(item.pk, f"listing:item-{item.pk}:due-{deadline.isoformat()}", u.pk) for u in listing}
    return expected


def all_delivered(expected) -> bool:
    return (
        Delivery.objects.count() >= len(expected) * len(CHANNELS)
        and not Delivery.objects.filter(status__in=OPEN_DELIVERY_STATUSES).exists()
    )


def assert_exactly_once(cluster: Cluster, expected: set[tuple[int, str, int]], items) -> None:
    # The inbox: each (item, step, recipient) once.
    notes = list(Notification.objects.values_list("item_id", "dedup_key", "recipient_id"))
    assert Counter(notes) == Counter(expected), "notifications missing or doubled"

    # Each channel of each message once, and sent; one attempt each (a killed attempt rolled back).
    rows = list(
        Delivery.objects.values_list(
            "notification__item_id", "notification__dedup_key", "notification__recipient_id", "channel", "status", "attempts"
        )
    )
    assert Counter(r[:4] for r in rows) == Counter(e + (c,) for e in expected for c in CHANNELS)
    assert {r[4] for r in rows} == {DeliveryStatus.SENT}
    assert {r[5] for r in rows if r[3] in EXTERNAL} == {1}

    # What actually left the system: one completed email per email delivery (its Message-ID names
    # the delivery), one completed SMS per SMS delivery — none missing, none doubled.
    sent = cluster.sends("sent")
    email_ids = {
        f"<duban-delivery-{pk}@{settings.DUBAN_EMAIL_MESSAGE_ID_DOMAIN}>"
        for pk in Delivery.objects.filter(channel=Channel.EMAIL).values_list("pk", flat=True)
    }
    emails = Counter(s["message_id"] for s in sent if s["channel"] == "email")
    assert set(emails) == email_ids and set(emails.values()) == {1}
    expected_sms = Counter(
        (
            d.notification.recipient.phone,
            f"{settings.DUBAN_SMS_SIGNATURE}{d.notification.title}：{d.notification.body}"[: settings.DUBAN_SMS_MAX_LENGTH],
        )
        for d in Delivery.objects.filter(channel=Channel.SMS).select_related("notification__recipient")
    )
    assert Counter((s["to"], s["text"]) for s in sent if s["channel"] == "sms") == expected_sms

    # Every due item was processed: listed for supervision, nothing left to send.
    for item in Item.objects.filter(pk__in=[i.pk for i in items]):
        assert item.listed_for_supervision_at is not None and item.next_reminder_at is None, item.code


def settle(cluster: Cluster, expected, *, timeout: float = 60.0) -> None:
    """Wait (polling, no fixed sleeps) until every delivery is sent and the workers are idle: a
    late duplicate would then already be visible."""
    wait_until(lambda: all_delivered(expected), timeout=timeout, what="every delivery to be sent")
    wait_until(cluster.quiet, timeout=timeout, what="the queue to drain and every task to finish")


def claimed_ids(cluster: Cluster) -> list[int]:
    """Every item id handed to remind_items, i.e. every claim of every sweep (chunks of one claim)."""
    return [i for run in cluster.runs("task_finished", REMIND) for i in run["args"][0]]


# ---------------------------------------------------------------------------------------------
# The proofs


def test_two_beat_schedulers_at_once_send_each_reminder_exactly_once(world, cluster, tmp_path):
    """Two beat schedulers publish the sweep at the same moment to two worker processes (each a
    prefork pool of 2); both sweeps start together (a barrier in the workers) and claim at once.
    30 due items → 270 messages → 810 deliveries, each exactly once; claims disjoint."""
    barrier_dir = tmp_path / "sweep-barrier"
    barrier_dir.mkdir()
    w1 = cluster.start("w1", DUBAN_TEST_SWEEP_BARRIER=barrier_dir, DUBAN_TEST_SWEEP_PARTIES=2)
    w2 = cluster.start("w2", DUBAN_TEST_SWEEP_BARRIER=barrier_dir, DUBAN_TEST_SWEEP_PARTIES=2)
    items, deadline = overdue_extra_urgent_items(world, cluster, 30)
    expected = expected_messages(world, items, deadline)
    assert len(expected) == 30 * 9
    cluster.wait_ready(w1, w2)

    gate = threading.Barrier(2)

    def beat():
        gate.wait()
        cluster.publish(SWEEP)

    beats = [threading.Thread(target=beat) for _ in range(2)]
    for t in beats:
        t.start()
    for t in beats:
        t.join()
    settle(cluster, expected)

    assert_exactly_once(cluster, expected, items)
    sweeps = cluster.runs("task_finished", SWEEP)
    assert len(sweeps) == 2
    assert len({s["pid"] for s in sweeps}) == 2, "the two sweeps ran in two processes"
    assert sum(s["retval"] for s in sweeps) == 30
    # Disjoint claims: every item went to remind_items once, whichever sweep claimed it.
    assert sorted(claimed_ids(cluster)) == sorted(i.pk for i in items)
    # The work really was shared by the two worker processes' pools.
    assert len({r["pid"] for r in cluster.runs("task_finished", DELIVER)}) >= 2


def test_concurrent_sweeps_claim_disjoint_halves_and_repeats_add_nothing(world, cluster, tmp_path):
    """The sweep twice at once with limit 10 over 20 due items: SKIP LOCKED gives each sweep its
    own 10. Then everything is run again (two more sweeps, and remind_items redelivered for every
    item twice, as after a lost acknowledgement): nothing new is created or sent."""
    barrier_dir = tmp_path / "sweep-barrier"
    barrier_dir.mkdir()
    w1 = cluster.start("w1", DUBAN_TEST_SWEEP_BARRIER=barrier_dir, DUBAN_TEST_SWEEP_PARTIES=2)
    w2 = cluster.start("w2", DUBAN_TEST_SWEEP_BARRIER=barrier_dir, DUBAN_TEST_SWEEP_PARTIES=2)
    items, deadline = overdue_extra_urgent_items(world, cluster, 20)
    expected = expected_messages(world, items, deadline)
    cluster.wait_ready(w1, w2)

    cluster.publish(SWEEP, limit=10)
    cluster.publish(SWEEP, limit=10)
    settle(cluster, expected)

    sweeps = cluster.runs("task_finished", SWEEP)
    starts = sorted(r["t"] for r in cluster.runs("task_started", SWEEP))
    assert sorted(s["retval"] for s in sweeps) == [10, 10]
    assert len({s["pid"] for s in sweeps}) == 2 and starts[1] - starts[0] < 1.0
    assert sorted(claimed_ids(cluster)) == sorted(i.pk for i in items)  # disjoint halves, all due items
    assert_exactly_once(cluster, expected, items)

    # Repeats (the barrier is open from now on): a later sweep finds nothing due; remind_items
    # redelivered twice adds nothing.
    ids = [i.pk for i in items]
    cluster.publish(SWEEP)
    cluster.publish(SWEEP)
    cluster.publish(REMIND, ids)
    cluster.publish(REMIND, ids)
    wait_until(
        lambda: len(cluster.runs("task_finished", SWEEP)) == 4 and len(cluster.runs("task_finished", REMIND)) >= 4,
        what="the repeated tasks",
    )
    wait_until(cluster.quiet, what="the workers to be idle")
    assert [r["retval"] for r in cluster.runs("task_finished", SWEEP)[2:]] == [0, 0]
    assert [r["retval"] for r in cluster.runs("task_finished", REMIND) if r["args"][0] == ids] == [0, 0]
    assert_exactly_once(cluster, expected, items)


def _kill_mid_send_setup(world, cluster, tmp_path, n_items: int, *, concurrency: int, **worker_env):
    marker = tmp_path / "sms-in-progress.json"
    env = {"DUBAN_TEST_SMS_BLOCK_MARKER": marker, "DUBAN_TEST_SMS_BLOCK_SECONDS": 30, **worker_env}
    worker = cluster.start("doomed", concurrency=concurrency, **env)
    items, deadline = overdue_extra_urgent_items(world, cluster, n_items)
    expected = expected_messages(world, items, deadline)
    cluster.wait_ready(worker)
    cluster.publish(SWEEP)
    wait_until(lambda: marker.exists() and marker.stat().st_size > 0, what="an SMS send in progress")
    blocked = json.loads(marker.read_text())
    delivery = next(
        d
        for d in Delivery.objects.filter(channel=Channel.SMS).select_related("notification__recipient")
        if d.notification.recipient.phone == blocked["to"]
        and blocked["text"].startswith(f"{settings.DUBAN_SMS_SIGNATURE}{d.notification.title}")
    )
    return worker, env, items, expected, blocked, delivery


def _row_lock_released(delivery_id: int) -> bool:
    """PostgreSQL has rolled back the killed worker's transaction and freed the delivery row."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT id FROM tasks_delivery WHERE id = %s FOR UPDATE NOWAIT", [delivery_id])
        return True
    except DatabaseError:
        return False


def _assert_cut_off_send(cluster, blocked, delivery, killed_pids) -> None:
    """The send that was cut off started in the killed process and never completed there; the
    message was sent once, by another process, on the delivery's first recorded attempt."""
    key = (blocked["to"], blocked["text"])
    started = [s for s in cluster.sends("started") if (s["to"], s["text"]) == key]
    completed = [s for s in cluster.sends("sent") if (s.get("to"), s.get("text")) == key]
    assert started[0]["pid"] == blocked["pid"] in killed_pids
    assert len(completed) == 1 and completed[0]["pid"] not in killed_pids
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1
    finished = [r for r in cluster.runs("task_finished", DELIVER) if r["args"] == [delivery.pk]]
    assert [r["retval"] for r in finished] == [DeliveryStatus.SENT]  # the killed run never finished


def test_worker_killed_mid_delivery_is_redelivered_and_sent_once(world, cluster, tmp_path):
    """kill -9 of the whole worker (process group) while an SMS is half sent: nothing acknowledged
    the message (acks_late), so Redis hands it to a fresh worker once the visibility timeout (6 s
    here; DUBAN_TEST_VISIBILITY_TIMEOUT) passes. No stuck-delivery sweep runs in this test: the
    redelivery alone completes it. Every delivery ends sent once; the cut-off send never completed.

    A pool of one: the hanging send is the only task in flight when the kill lands. (A kill
    between a gateway accepting a message and the commit that marks it sent would send it twice:
    that window is inherent to any external channel and is not what this test is about.)"""
    worker, env, items, expected, blocked, delivery = _kill_mid_send_setup(
        world, cluster, tmp_path, 3, concurrency=1, DUBAN_TEST_VISIBILITY_TIMEOUT=6
    )
    killed_pids = {worker.pid, blocked["pid"]}
    cluster.kill(worker)
    wait_until(lambda: _row_lock_released(delivery.pk), what="PostgreSQL to roll back the killed attempt")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0

    fresh = cluster.start("fresh", **env)  # the marker exists: this worker's sends do not hang
    cluster.wait_ready(fresh)
    settle(cluster, expected)

    assert_exactly_once(cluster, expected, items)
    _assert_cut_off_send(cluster, blocked, delivery, killed_pids)
    assert not any(r["task"] == "tasks.delivery.retry_stuck_deliveries" for r in cluster.runs("task_started"))


def test_pool_process_killed_mid_delivery_is_requeued_by_reject_on_worker_lost(world, cluster, tmp_path):
    """kill -9 of the pool process only, mid-send: the worker sees WorkerLostError and, with
    reject_on_worker_lost, puts the message straight back (the visibility timeout is an hour here,
    so nothing else could bring it back in time). Sent once; the cut-off send never completed."""
    worker, env, items, expected, blocked, delivery = _kill_mid_send_setup(
        world, cluster, tmp_path, 2, concurrency=2, DUBAN_TEST_VISIBILITY_TIMEOUT=3600
    )
    assert blocked["pid"] != worker.pid
    os.kill(blocked["pid"], signal.SIGKILL)
    settle(cluster, expected)

    assert worker.poll() is None, "the worker itself survived"
    assert_exactly_once(cluster, expected, items)
    _assert_cut_off_send(cluster, blocked, delivery, {blocked["pid"]})
    assert "WorkerLostError" in worker.log.read_text(errors="replace")
