"""The duplicate lookup scored in SQL (issue 15, migrations 0026 and 0029): on PostgreSQL the pool is
scored from an index of its items' characters with their weights, tagged with the lead unit, and its
membership (`pool_until`) is kept by triggers. It must find exactly what the Python path over the whole pool
finds, and never show an item the caller cannot see."""

from __future__ import annotations

import datetime
import random

import pytest
from django.db import connection
from django.utils import timezone

from accounts.choices import Classification
from supervision.choices import ItemStatus
from supervision.matching import compare, duplicate_threshold, signature
from supervision.models import Item, ItemLink, ItemSignature
from supervision.services import candidate_pool, duplicates, signatures
from tests.factories import make_instruction, make_item

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the narrowed path is PostgreSQL's")

PLACES = ["城北", "城南", "东关镇", "西岭村", "人民路", "中山路"]
OBJECTS = ["河道", "路面", "饮水工程", "学校食堂", "垃圾中转站", "路灯"]
TASKS = ["综合整治", "改造", "破损修复", "建设", "隐患排查"]
FRAMES = ["{}", "关于{}的批示", "加快推进{}", "群众反映{}问题"]


def matter(rng: random.Random) -> tuple[str, str]:
    place, obj, task = rng.choice(PLACES), rng.choice(OBJECTS), rng.choice(TASKS)
    title = rng.choice(FRAMES).format(f"{place}{obj}{task}")
    requirement = rng.choice(["", f"年底前完成{place}{obj}{task}，报送结果", f"请{rng.randint(1, 12)}月底前{task}到位"])
    return title, requirement


def pool_until(item: Item):
    """The item's stored pool membership: "live", the closing time, or None (out of the pool)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN pool_until = 'infinity' THEN NULL ELSE pool_until END, pool_until = 'infinity'"
            " FROM supervision_itemsignature WHERE item_id = %s",
            [item.pk],
        )
        until, live = cursor.fetchone()
    return "live" if live else until


def python_path(monkeypatch):
    """The pool read whole and filtered in Python (what SQLite runs)."""
    monkeypatch.setattr(candidate_pool, "narrowing", lambda: False)


@pytest.fixture
def ledger(world):
    """~70 items at two units, in every pool state: live, closed lately or long ago, cancelled,
    linked (and unlinked again), above some users' clearance, moved to another unit, one without a
    computed signature. States are set with QuerySet.update, as a bulk change would, so only the
    triggers keep the indexed columns right."""
    w = world
    rng = random.Random(15)
    instruction = make_instruction(office=w.office, document_number="县委办〔2026〕15号")
    now = timezone.now()
    items = []
    for n in range(70):
        unit, owner = (w.env, w.env_handler) if n % 3 else (w.edu, w.edu_handler)
        title, requirement = matter(rng)
        items.append(
            make_item(office=w.office, lead_unit=unit, owner=owner, instruction=instruction, title=title, requirement=requirement)
        )
    states = [
        {"status": ItemStatus.DRAFT},
        {"status": ItemStatus.ASSIGNED},
        {"status": ItemStatus.IN_PROGRESS},
        {"status": ItemStatus.SUSPENDED},
        {"status": ItemStatus.CLOSED, "closed_at": now - datetime.timedelta(days=10)},
        {"status": ItemStatus.VERIFIED, "closed_at": now - datetime.timedelta(days=60)},
        {"status": ItemStatus.CLOSED, "closed_at": now - datetime.timedelta(days=400)},
        {"status": ItemStatus.CANCELLED},
    ]
    for item in items:
        fields = dict(rng.choice(states))
        fields["classification"] = rng.choice([Classification.PUBLIC] * 3 + [Classification.INTERNAL, Classification.SECRET])
        Item.objects.filter(pk=item.pk).update(**fields)
    env_live = list(Item.objects.filter(lead_unit=w.env, status=ItemStatus.IN_PROGRESS).order_by("pk"))
    ItemLink.objects.create(item=env_live[0], lead=env_live[1], linked_by=w.office)
    unlinked = ItemLink.objects.create(item=env_live[2], lead=env_live[1], linked_by=w.office)
    ItemLink.objects.filter(pk=unlinked.pk).update(unlinked_at=now)
    Item.objects.filter(pk=items[1].pk).update(lead_unit=w.edu)  # moved without a new signature
    ItemSignature.objects.filter(item=items[4]).delete()  # computed again when first looked at
    return w, rng


def shown(found) -> list[tuple[int, float]]:
    return [(c.item.pk, c.score) for c in found]


def test_narrowed_lookup_finds_what_the_whole_pool_finds(ledger, monkeypatch):
    w, rng = ledger
    users = [w.office, w.office_low, w.env_handler, w.edu_handler]
    queries = [(rng.choice([w.env, w.edu]), *matter(rng)) for _ in range(30)]
    narrowed = {}
    for user in users:
        for n, (unit, title, requirement) in enumerate(queries):
            found = duplicates.duplicate_candidates(user=user, title=title, requirement=requirement, lead_unit=unit, limit=100)
            narrowed[user.pk, n] = shown(found)
    saved = list(Item.objects.filter(lead_unit__in=[w.env, w.edu]).select_related("lead_unit").order_by("pk")[:20])
    many = {pk: shown(c) for pk, c in duplicates.candidates_many(user=w.office, items=saved, limit=100).items()}

    python_path(monkeypatch)
    for user in users:
        for n, (unit, title, requirement) in enumerate(queries):
            found = duplicates.duplicate_candidates(user=user, title=title, requirement=requirement, lead_unit=unit, limit=100)
            assert narrowed[user.pk, n] == shown(found), (user.username, title)
    assert many == {pk: shown(c) for pk, c in duplicates.candidates_many(user=w.office, items=saved, limit=100).items()}

    # Not vacuous: candidates were found, and who looks changes what is found.
    assert sum(len(v) for v in narrowed.values()) > 50 and len(many) > 3
    assert any(narrowed[w.office.pk, n] != narrowed[w.office_low.pk, n] for n in range(len(queries)))


def test_an_item_the_user_cannot_see_is_never_a_candidate(world):
    w = world
    title, requirement = "城北河道综合整治工程", "年底前完成城北河道清淤疏浚和护岸建设"
    secret = make_item(
        ItemStatus.ASSIGNED,
        office=w.office,
        lead_unit=w.env,
        owner=w.env_head,
        classification=Classification.SECRET,
        title=title,
        requirement=requirement,
    )
    draft = make_item(office=w.office, lead_unit=w.env, owner=w.env_handler, title=title, requirement=requirement)
    new = signature(signatures.matter_of(title=title, requirement=requirement, lead_unit=w.env))
    scored = candidate_pool.scored_rows(new, w.env.pk, timezone.now(), duplicate_threshold())
    # The index hands both over: only the visibility rule keeps them out.
    assert {secret.pk, draft.pk} <= {pk for pk, _bound in scored}

    def found(user):
        return {
            c.item.pk for c in duplicates.duplicate_candidates(user=user, title=title, requirement=requirement, lead_unit=w.env)
        }

    assert found(w.office) == {secret.pk, draft.pk}
    assert found(w.office_low) == {draft.pk}  # 秘密 is above its clearance
    assert found(w.env_handler) == set()  # above its clearance, and a draft is not the unit's yet
    assert found(w.env_head) == {secret.pk}
    assert duplicates.candidates_many(user=w.office_low, items=[draft]) == {}
    assert [c.item.pk for c in duplicates.candidates_many(user=w.office, items=[draft])[draft.pk]] == [secret.pk]


def test_triggers_keep_pool_membership(world):
    w = world
    item = make_item(ItemStatus.IN_PROGRESS, office=w.office, lead_unit=w.env, owner=w.env_handler, title="城北河道综合整治")
    lead = make_item(ItemStatus.IN_PROGRESS, office=w.office, lead_unit=w.env, owner=w.env_handler, title="城北河道整治")
    assert pool_until(item) == "live"
    closed_at = timezone.now() - datetime.timedelta(days=3)
    Item.objects.filter(pk=item.pk).update(status=ItemStatus.CLOSED, closed_at=closed_at)
    assert pool_until(item) == closed_at
    Item.objects.filter(pk=item.pk).update(status=ItemStatus.CANCELLED, closed_at=None)
    assert pool_until(item) is None
    Item.objects.filter(pk=item.pk).update(status=ItemStatus.IN_PROGRESS)
    assert pool_until(item) == "live"
    link = ItemLink.objects.create(item=item, lead=lead, linked_by=w.office)
    assert pool_until(item) is None
    link.delete()
    assert pool_until(item) == "live"
    # A deleted signature comes back as a placeholder (computed by the next lookup).
    ItemSignature.objects.filter(item=item).delete()
    assert ItemSignature.objects.get(item=item).chars == "" and pool_until(item) == "live"


def test_the_triggers_status_lists_are_the_services():
    """The pool's triggers (migration 0026) spell out the live and done statuses in SQL: a status
    added to supervision.choices without a new migration would leave those items out of the index."""
    import importlib
    import re

    from supervision.choices import DONE_STATUSES

    migration = importlib.import_module("supervision.migrations.0026_pool_indexes")
    assert set(re.findall(r"'(\w+)'", migration.LIVE)) == {str(s) for s in candidate_pool.LIVE_STATUSES}
    assert set(re.findall(r"'(\w+)'", migration.DONE)) == {str(s) for s in DONE_STATUSES}


LIVE = datetime.datetime(9999, 1, 1, tzinfo=datetime.UTC)  # 'infinity', which Python cannot hold


def stored_chars(item_id: int) -> dict[int, tuple[float, float]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, title_share, body_share FROM supervision_poolchar WHERE item_id = %s", [item_id])
        return {key: (title, body) for key, title, body in cursor.fetchall()}


def test_the_index_holds_each_pool_items_characters_with_their_shares(ledger):
    """Migration 0029's triggers keep, for every item in a pool, one row per character with the share
    of its title and of its title and text that the character carries (computed here from the parsed
    signature); items out of the pool have none; a placeholder has the one key the lookup asks for."""
    checked = placeholders = 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT item_id, lead_unit_id, CASE WHEN pool_until = 'infinity' THEN %s ELSE pool_until END, chars"
            " FROM supervision_itemsignature",
            [LIVE],
        )
        rows = cursor.fetchall()
    for item_id, unit_id, until, chars in rows:
        stored = stored_chars(item_id)
        if until is None or unit_id is None:
            assert stored == {}, item_id
            continue
        live = until == LIVE
        bucket = 0 if live else 1 + (until.year * 12 + until.month - 1) % 255
        base = unit_id << 29 | bucket << 21
        if not chars:
            assert stored == {base: (0.0, 0.0)}
            placeholders += 1
            continue
        parsed = signatures.signatures_parsed([item_id])[item_id]
        expected = {
            base | ord(ch): (
                parsed.title_chars.get(ch, 0.0) / parsed.title_weight,
                parsed.body_chars.get(ch, 0.0) / parsed.body_weight,
            )
            for ch in set(parsed.title_chars) | set(parsed.body_chars)
        }
        assert stored.keys() == expected.keys(), item_id
        for key, (title, body) in expected.items():
            assert stored[key] == pytest.approx((title, body), abs=1e-12)
        checked += 1
    assert checked > 30
    # The item moved to another unit by a bulk update follows it; the deleted signature came back as
    # a placeholder until a lookup computed it.
    w, _rng = ledger
    moved = Item.objects.filter(lead_unit=w.edu).order_by("pk").first()
    assert all(key >> 29 == w.edu.pk for key in stored_chars(moved.pk))


def test_sql_scores_are_the_detectors_similarities(ledger):
    """What `scored_rows` returns per item is the detector's own similarity (the larger mean of the
    two coverages, title or title and text), plus the instruction bonus and the rounding: an upper
    bound met exactly when no unit, slot or conflict factor applies. Every item it leaves out scores
    below the threshold."""
    w, rng = ledger
    threshold = duplicate_threshold()
    now = timezone.now()
    seen = 0
    for _ in range(25):
        unit = rng.choice([w.env, w.edu])
        title, requirement = matter(rng)
        new = signature(signatures.matter_of(title=title, requirement=requirement, lead_unit=unit))
        # The pool first: it computes the one signature the fixture deleted (a placeholder is bounded by 1).
        pool = [pk for pk, _unit, _chars in candidate_pool.pool_rows(w.office, [unit.pk], now)]
        scored = dict(candidate_pool.scored_rows(new, unit.pk, now, threshold))
        for pk, other in signatures.signatures_parsed(pool).items():
            match = compare(new, other, threshold=threshold)
            if pk not in scored:
                assert not match.duplicate, (title, pk)
                continue
            similarity = max(match.title_similarity, match.body_similarity if (new.has_text or other.has_text) else 0)
            bonus = 0.05 if new.instruction_ref else 0.0
            assert scored[pk] >= match.score
            assert scored[pk] - bonus - 0.0005 == pytest.approx(similarity, abs=0.0006)
            seen += 1
    assert seen > 30


def test_the_best_candidates_are_those_comparing_every_item_gives(ledger, monkeypatch):
    """The lookup stops comparing once no item left can beat the best `limit` found: the first n of
    a long list are the short list, and the same as the pool compared whole."""
    w, rng = ledger
    queries = [(rng.choice([w.env, w.edu]), *matter(rng)) for _ in range(25)]

    def lists(limit):
        return [
            shown(duplicates.duplicate_candidates(user=w.office, title=t, requirement=r, lead_unit=u, limit=limit))
            for u, t, r in queries
        ]

    long, short = lists(100), lists(1)
    assert [found[:1] for found in long] == short
    assert sum(len(found) > 1 for found in long) > 3  # the short list did leave candidates out
    python_path(monkeypatch)
    assert lists(1) == short
