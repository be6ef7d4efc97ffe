"""The keyed audit chain (issue 11 finding 10): each event's hash is an HMAC under a key kept
outside the database (DUBAN_AUDIT_KEYS, with key ids, rotation kept verifiable); a database-only
attacker who rewrites a row and recomputes the hashes without the key is caught; a chain begun
before keys were configured stays verifiable, and verify_audit says how much of it is unkeyed."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.management import CommandError, call_command

from supervision.audit import audit_verify, plain_hash
from supervision.choices import ItemStatus
from supervision.models import AuditChainHead, AuditEvent
from tests.factories import make_item
from tests.supervision.test_audit import TABLE, sql, trigger_disabled

pytestmark = pytest.mark.django_db

KEY_2025 = "2025:" + "11" * 32
KEY_2026 = "2026:" + "22" * 32


def some_events(world, n_items: int = 1) -> list[int]:
    for _ in range(n_items):
        make_item(ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_handler)
    return list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))


def rewrite_without_key(from_seq: int, *, comment: str, drop_key_id: bool = False) -> None:
    """What an attacker with only the database does: edit a row, then recompute every hash from
    there on with the published (unkeyed) recipe, and the chain head too."""
    with trigger_disabled():
        sql(f"UPDATE {TABLE} SET comment = %s WHERE seq = %s", [comment, from_seq])
        if drop_key_id:
            sql(f"UPDATE {TABLE} SET key_id = '' WHERE seq >= %s", [from_seq])
        prev = AuditEvent.objects.get(seq=from_seq - 1).hash if from_seq > 1 else "0" * 64
        for event in AuditEvent.objects.filter(seq__gte=from_seq).order_by("seq"):
            event.prev_hash = prev
            prev = plain_hash(event)
            sql(f"UPDATE {TABLE} SET prev_hash = %s, hash = %s WHERE seq = %s", [event.prev_hash, prev, event.seq])
    AuditChainHead.objects.filter(id=1).update(last_hash=prev)


def test_events_are_keyed_with_the_current_key_id(world, settings):
    settings.DUBAN_AUDIT_KEYS = KEY_2026
    seqs = some_events(world)
    assert set(AuditEvent.objects.values_list("key_id", flat=True)) == {"2026"}
    event = AuditEvent.objects.get(seq=seqs[-1])
    assert event.hash != plain_hash(event)  # not the public recipe
    report = audit_verify()
    assert report.ok and report.keyed and report.unkeyed_prefix == 0 and report.checked == len(seqs)


def test_a_rewrite_with_hashes_recomputed_without_the_key_is_caught(world, settings):
    settings.DUBAN_AUDIT_KEYS = KEY_2026
    seqs = some_events(world, 2)
    middle = seqs[len(seqs) // 2]
    rewrite_without_key(middle, comment="事后补写")
    report = audit_verify()
    assert not report.ok and report.broken_seq == middle and "密钥" in report.problem
    with pytest.raises(CommandError):
        call_command("verify_audit")


def test_a_rewrite_posing_as_unkeyed_rows_is_caught(world, settings):
    settings.DUBAN_AUDIT_KEYS = KEY_2026
    seqs = some_events(world, 2)
    middle = seqs[len(seqs) // 2]
    rewrite_without_key(middle, comment="事后补写", drop_key_id=True)
    report = audit_verify()
    assert not report.ok and report.broken_seq == middle and "未加密钥" in report.problem


def test_the_old_unkeyed_chain_stays_verifiable_and_is_reported_honestly(world, settings, capsys):
    settings.DUBAN_AUDIT_KEYS = ""
    old = some_events(world)
    report = audit_verify()
    assert report.ok and not report.keyed and report.unkeyed_prefix == len(old)
    settings.DUBAN_AUDIT_KEYS = KEY_2026
    everything = some_events(world)
    report = audit_verify()
    assert report.ok and report.keyed and report.unkeyed_prefix == len(old) and report.checked == len(everything)
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "密钥" in out and f"前 {len(old)} 条" in out


def test_rotation_keeps_old_events_verifiable_by_their_key_id(world, settings):
    settings.DUBAN_AUDIT_KEYS = KEY_2025
    first = some_events(world)
    settings.DUBAN_AUDIT_KEYS = f"{KEY_2026},{KEY_2025}"  # the first is the current key
    everything = some_events(world)
    ids = dict(AuditEvent.objects.values_list("seq", "key_id"))
    assert {ids[s] for s in first} == {"2025"} and ids[everything[-1]] == "2026"
    assert audit_verify().ok
    settings.DUBAN_AUDIT_KEYS = KEY_2026  # the old key dropped: its events cannot be verified
    report = audit_verify()
    assert not report.ok and report.broken_seq == first[0] and "2025" in report.problem


def test_the_hmac_is_the_documented_recipe(world, settings):
    """An auditor can recompute a hash from the row and the key alone (README)."""
    import hmac

    settings.DUBAN_AUDIT_KEYS = KEY_2026
    some_events(world)
    event = AuditEvent.objects.order_by("seq").first()
    payload = json.loads(json.dumps(plain_payload_for(event)))
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    assert event.hash == hmac.new(bytes.fromhex("22" * 32), blob, hashlib.sha256).hexdigest()


def plain_payload_for(event):
    from supervision.audit import event_payload

    return event_payload(event)
