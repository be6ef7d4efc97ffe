"""The duplicate lookup narrowed in SQL (issue 15, migration 0026): on PostgreSQL the pool is read
through a GIN index over each signature's characters tagged with its lead unit, and its membership
(`pool_until`) is kept by triggers. It must find exactly what the Python path over the whole pool
finds, and never show an item the caller cannot see."""

from __future__ import annotations

import datetime
import random

import pytest
from django.db import connection
from django.utils import timezone

from accounts.choices import Classification
from supervision.choices import ItemStatus
from supervision.matching import duplicate_threshold, signature
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
    wanted = candidate_pool.wanted_chars(new, duplicate_threshold())
    # The index hands both over: only the visibility rule keeps them out.
    assert {secret.pk, draft.pk} <= {row[0] for row in candidate_pool.narrowed_rows({w.env.pk: wanted}, timezone.now())}

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
