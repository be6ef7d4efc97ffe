"""领导批示、点评 over HTTP (items/{id}/comments/ and instructions/{id}/comments/, one
LeaderCommentsMixin for both): leaders and the office comment (201, stored, audited, listed);
blank or over-long text is a 400 on `text` with a Chinese message; a unit user who sees the
target may not comment (403); a target the user may not see, or that does not exist, is a 404
for reading and writing alike, and nothing is written."""

from __future__ import annotations

import pytest

from accounts.choices import Classification
from supervision import services
from supervision.choices import ItemStatus
from supervision.models import Instruction, Item, LeaderComment
from tests.api_helpers import assert_error, client_for
from tests.factories import assert_one_event, audit_mark, make_item, new_events

pytestmark = pytest.mark.django_db

KINDS = ("item", "instruction")
COMMENT_FIELDS = {"id", "item_id", "item_code", "instruction_id", "target_title", "text", "author", "created_at", "is_read"}
HIDDEN_TEXT = "HIDDEN-COMMENT-不应泄露的批示"


@pytest.fixture
def case(world):
    """Three assigned items, each behind its own instruction:
    - `shared`: lead 县教育局, supporting 县环保局, 公开;
    - `secret`: lead 县教育局, 秘密 (above edu_handler's and office_low's 内部 clearance);
    - `other`:  lead 黄庄乡 (neither 教育局 nor 环保局 is on it)."""
    world.shared = make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        lead_unit=world.edu,
        supporting_units=[world.env],
        owner=world.edu_handler,
        title="校舍安全隐患排查整改",
    )
    world.secret = make_item(
        ItemStatus.IN_PROGRESS,
        office=world.office,
        lead_unit=world.edu,
        owner=world.edu_head,
        classification=Classification.SECRET,
        title="秘密事项",
    )
    world.other = make_item(
        ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.town, owner=world.town_handler, title="乡村道路硬化"
    )
    return world


def target(case, kind: str, which: str = "shared") -> Item | Instruction:
    item = getattr(case, which)
    return item if kind == "item" else Instruction.objects.get(pk=item.instruction_id)


def url(kind: str, pk: int) -> str:
    return f"/api/v1/{kind}s/{pk}/comments/"


def stored(kind: str, obj) -> list[LeaderComment]:
    return list(LeaderComment.objects.filter(**{kind: obj}).order_by("pk"))


def brief(user) -> dict:
    return {"id": user.pk, "username": user.username, "name": str(user)}


# --- commenting and listing ----------------------------------------------------------------------


@pytest.mark.parametrize("author", ["leader", "office"])
@pytest.mark.parametrize("kind", KINDS)
def test_leader_or_office_comments_and_the_comment_is_stored_audited_and_listed(case, kind, author):
    actor = getattr(case, author)
    obj = target(case, kind)
    text = f"请抓紧落实，{author} 的批示。"
    mark = audit_mark()

    r = client_for(actor).post(url(kind, obj.pk), {"text": text}, format="json")

    assert r.status_code == 201, r.json()
    body = r.json()
    assert set(body) == COMMENT_FIELDS
    comments = stored(kind, obj)
    assert [(c.text, c.author_id) for c in comments] == [(text, actor.pk)]
    comment = comments[0]
    assert comment.item_id == (obj.pk if kind == "item" else None)
    assert comment.instruction_id == (obj.pk if kind == "instruction" else None)
    assert body["id"] == comment.pk
    assert body["text"] == text
    assert body["author"] == brief(actor)
    assert body["item_id"] == comment.item_id
    assert body["instruction_id"] == comment.instruction_id
    assert body["item_code"] == (obj.code if kind == "item" else None)
    assert body["target_title"] == obj.title
    assert body["is_read"] is False
    assert body["created_at"]

    event = assert_one_event(mark, action="leader_comment_added", actor=actor)
    assert (event.object_type, event.object_id) == ("leadercomment", comment.pk)
    assert event.item_id == comment.item_id
    assert event.comment == text
    assert event.data == ({"instruction_id": obj.pk} if kind == "instruction" else {})

    listed = client_for(actor).get(url(kind, obj.pk))
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert listed.json()["results"] == [body]

    # The units on the item see it too (through the item, or the instruction behind it).
    for reader in (case.edu_handler, case.env_handler):
        seen = client_for(reader).get(url(kind, obj.pk))
        assert seen.status_code == 200
        assert [(row["id"], row["text"], row["author"]) for row in seen.json()["results"]] == [(comment.pk, text, brief(actor))]


def test_each_target_lists_only_its_own_comments_newest_first(case):
    item, instruction = case.shared, target(case, "instruction")
    leader, office = client_for(case.leader), client_for(case.office)
    first = leader.post(url("item", item.pk), {"text": "第一条事项批示"}, format="json")
    second = office.post(url("item", item.pk), {"text": "第二条事项点评"}, format="json")
    on_instruction = leader.post(url("instruction", instruction.pk), {"text": "批示件上的批示"}, format="json")
    on_other = leader.post(url("item", case.other.pk), {"text": "另一事项的批示"}, format="json")
    for r in (first, second, on_instruction, on_other):
        assert r.status_code == 201, r.json()

    item_rows = leader.get(url("item", item.pk)).json()["results"]
    assert [row["id"] for row in item_rows] == [second.json()["id"], first.json()["id"]]
    instruction_rows = leader.get(url("instruction", instruction.pk)).json()["results"]
    assert [row["id"] for row in instruction_rows] == [on_instruction.json()["id"]]


# --- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [{}, {"text": ""}, {"text": "   "}, {"text": None}, {"text": "批" * 5001}],
    ids=["missing", "empty", "blank", "null", "too-long"],
)
@pytest.mark.parametrize("kind", KINDS)
def test_missing_or_bad_text_is_400_on_text_and_nothing_is_written(case, kind, payload):
    obj = target(case, kind)
    mark = audit_mark()

    r = client_for(case.leader).post(url(kind, obj.pk), payload, format="json")

    body = assert_error(r, 400, field="text")
    assert body["fields"]["text"]
    assert stored(kind, obj) == []
    assert not LeaderComment.objects.exists()
    assert new_events(mark) == []


# --- may see, may not comment -----------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["edu_handler", "edu_head", "env_handler"])
@pytest.mark.parametrize("kind", KINDS)
def test_unit_user_who_sees_the_target_may_not_comment(case, kind, actor):
    user = getattr(case, actor)
    obj = target(case, kind)
    client = client_for(user)
    assert client.get(url(kind, obj.pk)).status_code == 200  # the target is visible to them
    mark = audit_mark()

    r = client.post(url(kind, obj.pk), {"text": "单位自己写的批示"}, format="json")

    assert_error(r, 403, code="leader_or_office_only")
    assert stored(kind, obj) == []
    assert new_events(mark) == []


# --- may not see: 404 ---------------------------------------------------------------------------


HIDDEN = [
    ("env_handler", "other"),  # another unit's item
    ("edu_handler", "secret"),  # own unit's item, above the user's clearance
    ("office_low", "secret"),  # office staff (who may comment) not cleared for it
]


@pytest.mark.parametrize(("actor", "which"), HIDDEN, ids=[f"{a}-{w}" for a, w in HIDDEN])
@pytest.mark.parametrize("kind", KINDS)
def test_target_the_user_may_not_see_is_404_for_reading_and_writing(case, kind, actor, which):
    obj = target(case, kind, which)
    existing = services.comment_create(actor=case.office, text=HIDDEN_TEXT, **{kind: obj})
    assert client_for(case.office).get(url(kind, obj.pk)).status_code == 200  # it exists
    client = client_for(getattr(case, actor))
    mark = audit_mark()

    read = client.get(url(kind, obj.pk))
    assert_error(read, 404, code="not_found")
    assert HIDDEN_TEXT not in read.content.decode()

    for payload in ({"text": "越权批示"}, {}):  # 404 before 400: no existence oracle
        wrote = client.post(url(kind, obj.pk), payload, format="json")
        assert_error(wrote, 404, code="not_found")
        assert HIDDEN_TEXT not in wrote.content.decode()

    assert stored(kind, obj) == [existing]
    assert new_events(mark) == []


def test_a_leader_may_not_comment_on_a_draft_item_they_cannot_see(case):
    draft = make_item(ItemStatus.DRAFT, office=case.office, lead_unit=case.edu, owner=case.edu_handler, title="草稿事项")
    client = client_for(case.leader)
    mark = audit_mark()
    r = client.post(url("item", draft.pk), {"text": "草稿上的批示"}, format="json")
    assert_error(r, 404, code="not_found")
    assert_error(client.get(url("item", draft.pk)), 404, code="not_found")
    assert stored("item", draft) == []
    assert new_events(mark) == []


# --- nonexistent ids ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("kind", KINDS)
def test_nonexistent_id_is_404(case, kind, method):
    model = Item if kind == "item" else Instruction
    missing = model.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    assert not model.objects.filter(pk=missing).exists()
    mark = audit_mark()

    client = client_for(case.office)
    if method == "get":
        r = client.get(url(kind, missing))
    else:
        r = client.post(url(kind, missing), {"text": "不存在的批示"}, format="json")

    assert_error(r, 404, code="not_found")
    assert not LeaderComment.objects.exists()
    assert new_events(mark) == []
