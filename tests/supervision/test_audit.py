"""The audit trail is append-only and hash-chained (签字就是责任): the trigger refuses edits, and
`verify_audit` catches what a DBA could still do with the trigger switched off."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from accounts.models import User
from supervision import services
from supervision.audit import GENESIS_HASH, audit_verify, event_hash
from supervision.choices import ItemStatus
from supervision.models import AuditChainHead, AuditEvent, Item
from tests.factories import make_instruction, make_item

TABLE = AuditEvent._meta.db_table


@pytest.fixture
def trail(world):
    """A few items walked through the services: a chain of a few dozen events."""
    make_item(
        ItemStatus.VERIFIED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, supporting_units=[world.env]
    )
    make_item(ItemStatus.SUSPENDED, office=world.office, lead_unit=world.env, owner=world.env_handler)
    make_item(ItemStatus.CANCELLED, office=world.office, lead_unit=world.town, owner=world.town_handler)
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert len(seqs) >= 20 and seqs == list(range(1, len(seqs) + 1))
    return seqs


@contextmanager
def trigger_disabled():
    """What a DBA with table-owner rights could do. (The test runs inside a transaction: the
    deferred foreign-key checks are fired first, as ALTER TABLE refuses pending trigger events.)"""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def sql(statement: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def assert_broken(seq: int, words: str):
    report = audit_verify()
    assert not report.ok
    assert report.broken_seq == seq, report
    assert words in report.problem
    assert report.checked == seq - 1  # every link before the break is still good
    with pytest.raises(CommandError) as info:
        call_command("verify_audit")
    assert f"第 {seq} 条" in str(info.value)


# --- an intact chain -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_chain_verifies_after_services(trail):
    report = audit_verify()
    assert report.ok and report.checked == len(trail)
    head = AuditChainHead.objects.get()
    last = AuditEvent.objects.order_by("-seq").first()
    assert (head.last_seq, head.last_hash, head.count) == (last.seq, last.hash, len(trail))
    first = AuditEvent.objects.get(seq=1)
    assert first.prev_hash == GENESIS_HASH
    for event in AuditEvent.objects.order_by("seq")[1:6]:
        assert event.prev_hash == AuditEvent.objects.get(seq=event.seq - 1).hash
        assert event.hash == event_hash(event)


@pytest.mark.django_db
def test_verify_audit_command_succeeds(trail, capsys):
    call_command("verify_audit")
    assert f"共 {len(trail)} 条记录" in capsys.readouterr().out


@pytest.mark.django_db
def test_empty_chain_verifies(db):
    assert audit_verify().ok and audit_verify().checked == 0


# --- the trigger and the model refuse edits ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        f"UPDATE {TABLE} SET comment = 'changed' WHERE seq = 3",
        f"DELETE FROM {TABLE} WHERE seq = 3",
        f"UPDATE {TABLE} SET comment = comment",
    ],
)
def test_direct_sql_update_and_delete_refused(trail, statement):
    before = AuditEvent.objects.get(seq=3)
    # PL/pgSQL RAISE arrives as a DatabaseError subclass (ProgrammingError with psycopg 3).
    with pytest.raises(DatabaseError) as info:
        with transaction.atomic():
            sql(statement)
    assert "append-only" in str(info.value)
    assert AuditEvent.objects.get(seq=3).comment == before.comment
    assert audit_verify().ok


@pytest.mark.django_db
def test_orm_update_and_delete_refused(trail):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(seq=2).update(comment="x")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(seq=2).delete()
    event = AuditEvent.objects.get(seq=2)
    event.comment = "x"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()
    assert AuditEvent.objects.count() == len(trail) and audit_verify().ok


@pytest.mark.django_db(transaction=True)
def test_audit_record_requires_transaction(world):
    from supervision.audit import audit_record

    with pytest.raises(RuntimeError):
        audit_record(actor=world.office, action="x", obj=world.office)
    assert not AuditEvent.objects.exists()


# --- tampering with the trigger switched off -------------------------------------------------------


@pytest.mark.django_db
def test_edited_middle_row_is_reported(trail):
    middle = trail[len(trail) // 2]
    with trigger_disabled():
        sql(f"UPDATE {TABLE} SET comment = %s WHERE seq = %s", ["事后补写的意见", middle])
    assert_broken(middle, "内容被改动")


@pytest.mark.django_db
def test_edited_row_with_recomputed_hash_breaks_next_link(trail):
    middle = trail[len(trail) // 2]
    forged = AuditEvent.objects.get(seq=middle)
    forged.actor_name = "别人"
    with trigger_disabled():
        sql(f"UPDATE {TABLE} SET actor_name = %s, hash = %s WHERE seq = %s", ["别人", event_hash(forged), middle])
    assert_broken(middle + 1, "链接不符")


@pytest.mark.django_db
def test_deleted_middle_row_is_reported(trail):
    middle = trail[len(trail) // 2]
    with trigger_disabled():
        sql(f"DELETE FROM {TABLE} WHERE seq = %s", [middle])
    assert_broken(middle, "缺失")


@pytest.mark.django_db
def test_swapped_rows_are_reported(trail):
    a, b = trail[3], trail[7]
    cols = ["occurred_at", "actor_id", "actor_name", "action", "object_type", "object_id", "item_id",
            "from_status", "to_status", "comment", "data", "prev_hash", "hash"]  # fmt: skip
    rows = {seq: AuditEvent.objects.filter(seq=seq).values_list(*cols).get() for seq in (a, b)}
    assignments = ", ".join(f"{c} = %s" for c in cols)
    with trigger_disabled():
        # hash is unique: park one row's hash first.
        sql(f"UPDATE {TABLE} SET hash = 'parked' WHERE seq = %s", [a])
        for target, source in ((b, a), (a, b)):
            values = [v if c != "data" else json.dumps(v) for c, v in zip(cols, rows[source], strict=True)]
            sql(f"UPDATE {TABLE} SET {assignments} WHERE seq = %s", [*values, target])
    assert AuditEvent.objects.get(seq=a).action == rows[b][3]
    assert_broken(a, "链接不符")


@pytest.mark.django_db
def test_deleted_last_row_is_caught_by_chain_head(trail):
    last = trail[-1]
    with trigger_disabled():
        sql(f"DELETE FROM {TABLE} WHERE seq = %s", [last])
    report = audit_verify()
    assert not report.ok and report.broken_seq == last and "链尾" in report.problem
    assert report.checked == len(trail) - 1
    with pytest.raises(CommandError) as info:
        call_command("verify_audit")
    assert f"第 {last} 条" in str(info.value)


@pytest.mark.django_db
def test_trigger_is_back_after_tampering(trail):
    with trigger_disabled():
        sql(f"UPDATE {TABLE} SET comment = comment WHERE seq = 1")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql(f"DELETE FROM {TABLE} WHERE seq = 1")


# --- concurrent writers ----------------------------------------------------------------------------


def run_in_threads(n: int, target) -> list[BaseException]:
    """Run `target(i)` in n threads that start together; each closes its own DB connection."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def worker(i):
        try:
            barrier.wait(timeout=10)
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a worker hung (deadlock?)"
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_item_creation_keeps_chain_and_codes(world):
    instruction = make_instruction(office=world.office)
    threads, per_thread = 4, 8

    def create_items(i):
        office = User.objects.get(pk=world.office.pk)
        for n in range(per_thread):
            services.item_create(
                actor=office, instruction=instruction, title=f"线程{i}事项{n}", lead_unit=world.edu, owner=world.edu_handler
            )

    errors = run_in_threads(threads, create_items)
    assert errors == []
    codes = list(Item.objects.values_list("code", flat=True))
    assert len(codes) == threads * per_thread == len(set(codes))
    numbers = sorted(int(c.rsplit("-", 1)[1]) for c in codes)
    assert numbers == list(range(1, threads * per_thread + 1))  # no gaps, no repeats
    report = audit_verify()
    assert report.ok and report.checked == 1 + threads * per_thread
    call_command("verify_audit")


@pytest.mark.django_db(transaction=True)
def test_concurrent_acknowledgements_complete_the_item(world):
    """Two units sign at the same moment: the row lock makes the second see the first."""
    item = make_item(
        ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler, supporting_units=[world.env]
    )
    signers = [world.edu_handler.pk, world.env_handler.pk]

    def sign(i):
        services.item_acknowledge(actor=User.objects.get(pk=signers[i]), item=Item.objects.get(pk=item.pk))

    assert run_in_threads(2, sign) == []
    item.refresh_from_db()
    assert item.status == ItemStatus.ACKNOWLEDGED
    statuses = list(AuditEvent.objects.filter(item=item, action="item_acknowledged").values_list("to_status", flat=True))
    assert sorted(statuses) == ["acknowledged", "assigned"]
    assert audit_verify().ok
