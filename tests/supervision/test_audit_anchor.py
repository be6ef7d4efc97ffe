"""The audit chain's head anchored outside the database (issue 11 finding 10): the key alone lets a
database-only attacker cut the newest events off and move the head back to a link whose HMAC is
valid; an anchor file on the application host catches that, a rewritten anchored link, a chain
replaced whole, and an edited anchor file. The beat task writes an unchanged head once."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from supervision.audit import audit_verify
from supervision.audit.anchor import anchors_read, audit_anchor
from supervision.models import AuditChainHead, AuditEvent
from tasks.audit import anchor_audit_head
from tests.supervision.test_audit import TABLE, sql, trigger_disabled
from tests.supervision.test_audit_keys import KEY_2026, rewrite_without_key, some_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def anchored(settings, tmp_path):
    settings.DUBAN_AUDIT_KEYS = KEY_2026
    settings.DUBAN_AUDIT_ANCHOR_FILE = str(tmp_path / "anchors" / "audit.jsonl")
    return tmp_path / "anchors" / "audit.jsonl"


def cut_the_tail(keep: int) -> None:
    """What an attacker with only the database does to hide the newest events: delete them and move
    the head back to the last kept link, whose HMAC is valid."""
    kept = AuditEvent.objects.get(seq=keep)
    with trigger_disabled():
        sql(f"DELETE FROM {TABLE} WHERE seq > %s", [keep])
    AuditChainHead.objects.filter(id=1).update(last_seq=kept.seq, last_hash=kept.hash, count=keep)


def test_the_head_is_written_once_per_change_and_logged(world, anchored, caplog):
    seqs = some_events(world)
    first = audit_anchor()
    assert first is not None and (first.seq, first.count) == (seqs[-1], len(seqs))
    assert first.hash == AuditEvent.objects.get(seq=seqs[-1]).hash and first.first == AuditEvent.objects.get(seq=1).hash
    assert audit_anchor() is None  # unchanged head: nothing written
    assert anchor_audit_head() == {"anchored": False, "seq": None}  # the beat task, run again
    more = some_events(world)
    assert anchor_audit_head() == {"anchored": True, "seq": more[-1]}
    anchors, bad = anchors_read(anchored)
    assert [a.seq for a in anchors] == [seqs[-1], more[-1]] and bad == []
    assert json.loads(anchored.read_text().splitlines()[-1])["seq"] == more[-1]
    assert any("audit anchor" in r.getMessage() for r in caplog.records if r.name == "duban.audit.anchor")


def test_an_intact_chain_agrees_with_its_anchors(world, anchored):
    some_events(world)
    audit_anchor()
    seqs = some_events(world)
    audit_anchor()
    report = audit_verify()
    assert report.ok and report.anchors == 2 and report.newest_anchor.seq == seqs[-1]


def test_cutting_the_newest_events_off_is_caught_by_the_anchor_not_by_the_key(world, anchored, settings):
    seqs = some_events(world, 2)
    audit_anchor()
    cut_the_tail(keep=seqs[-3])
    settings.DUBAN_AUDIT_ANCHOR_FILE = ""
    assert audit_verify().ok  # the key alone: every remaining HMAC is valid, the head agrees
    settings.DUBAN_AUDIT_ANCHOR_FILE = str(anchored)
    report = audit_verify()
    assert not report.ok and report.broken_seq == seqs[-3] + 1
    assert "链尾被截断" in report.problem and f"第 {seqs[-1]} 条" in report.problem


def test_a_rewritten_anchored_link_is_caught(world, settings, anchored):
    settings.DUBAN_AUDIT_KEYS = ""  # an unkeyed chain: the attacker can recompute every hash
    seqs = some_events(world, 2)
    audit_anchor()
    rewrite_without_key(seqs[1], comment="改写")
    report = audit_verify()
    assert not report.ok and report.broken_seq == seqs[-1] and "与外部锚点" in report.problem


def test_a_chain_replaced_whole_or_an_edited_anchor_file_is_reported(world, settings, anchored):
    settings.DUBAN_AUDIT_KEYS = ""
    seqs = some_events(world)
    audit_anchor()
    rewrite_without_key(1, comment="整条链重写")
    report = audit_verify()
    assert not report.ok and report.broken_seq == 1 and "另一条审计链" in report.problem
    # An anchor file someone edited by hand does not pass for a good one.
    anchored.write_text(anchored.read_text() + "not an anchor\n")
    report = audit_verify()
    assert not report.ok and "无法读取" in report.problem and len(seqs) >= 1


def test_verify_audit_says_which_protections_are_in_force(world, anchored, settings, capsys):
    seqs = some_events(world)
    audit_anchor()
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "外部锚点 1 个" in out and f"最新一个记录至第 {seqs[-1]} 条" in out and "HMAC" in out
    settings.DUBAN_AUDIT_ANCHOR_FILE = ""
    call_command("verify_audit")
    assert "未配置外部锚点" in capsys.readouterr().out
    settings.DUBAN_AUDIT_ANCHOR_FILE = str(anchored)
    cut_the_tail(keep=seqs[-2])
    with pytest.raises(CommandError, match="链尾被截断"):
        call_command("verify_audit")
