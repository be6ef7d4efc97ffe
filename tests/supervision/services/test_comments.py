"""Leader comments (issue 12 A): who may comment, the audit and history, one message per unit
person, the unit's "to read" list and its read marker, and visibility."""

import pytest

from accounts.choices import Classification
from supervision import selectors, services
from supervision.choices import ItemStatus
from supervision.errors import InvalidInput, NotPermitted, NotVisible
from supervision.models import LeaderComment
from tasks.models import Notification
from tests.api_helpers import assert_error, client_for
from tests.factories import assert_one_event, audit_mark, make_instruction, make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(world):
    return make_item(
        ItemStatus.IN_PROGRESS, office=world.office, lead_unit=world.edu, owner=world.edu_handler, supporting_units=[world.env]
    )


def test_a_leader_comments_on_an_item_audited_in_its_history(world, item):
    mark = audit_mark()
    comment = services.comment_create(actor=world.leader, item=item, text="要加快进度，月底前见成效。")
    event = assert_one_event(mark, action="leader_comment_added", actor=world.leader, item=item)
    assert event.comment == "要加快进度，月底前见成效。"
    # The leader, the office and the lead unit's handler all read it in the item's history.
    for reader in (world.leader, world.office, world.edu_handler):
        assert event in list(selectors.audit_history(user=reader, item=item)), reader
    assert comment.author == world.leader and comment.item == item


def test_the_units_concerned_are_told_exactly_once(world, item):
    comment = services.comment_create(actor=world.leader, item=item, text="请抓紧")
    notes = Notification.objects.filter(dedup_key=f"comment:{comment.pk}")
    told = set(notes.values_list("recipient__username", flat=True))
    assert told == {"edu_handler", "edu_head", "env_handler", "env_head"}
    assert notes.count() == 4  # one each
    # The same comment sent again (a retried task, a double call) reaches nobody twice.
    from supervision import outbox

    again = outbox.notify(
        recipients=services.comments.comment_recipients(comment), title="x", kind="comment", dedup_key=f"comment:{comment.pk}"
    )
    assert again == [] and notes.count() == 4


def test_an_instruction_comment_reaches_the_units_of_its_items(world, item):
    comment = services.comment_create(actor=world.office, instruction=item.instruction, text="各单位要高度重视")
    told = set(Notification.objects.filter(dedup_key=f"comment:{comment.pk}").values_list("recipient__username", flat=True))
    assert told == {"edu_handler", "edu_head", "env_handler", "env_head"}


@pytest.mark.parametrize("who", ["edu_handler", "edu_head", "discipline"])
def test_only_leaders_and_the_office_comment(world, item, who):
    with pytest.raises(NotPermitted):
        services.comment_create(actor=getattr(world, who), item=item, text="意见")
    assert not LeaderComment.objects.exists()


def test_text_is_required(world, item):
    with pytest.raises(InvalidInput) as info:
        services.comment_create(actor=world.leader, item=item, text="  ")
    assert "text" in info.value.fields


def test_listed_for_the_unit_until_read(world, item):
    comment = services.comment_create(actor=world.leader, item=item, text="请抓紧")
    assert list(selectors.comments_to_read(user=world.edu_handler)) == [comment]
    assert list(selectors.comments_to_read(user=world.leader)) == []  # not one's own
    services.comment_mark_read(actor=world.edu_handler, comment=comment)
    services.comment_mark_read(actor=world.edu_handler, comment=comment)  # twice: harmless
    assert list(selectors.comments_to_read(user=world.edu_handler)) == []
    assert list(selectors.comments_to_read(user=world.env_handler)) == [comment]  # per reader


def test_visible_to_whoever_sees_the_item_only(world, item):
    secret = make_item(
        ItemStatus.ASSIGNED, office=world.office, lead_unit=world.edu, owner=world.edu_head, classification=Classification.SECRET
    )
    comment = services.comment_create(actor=world.leader, item=secret, text="涉密批示")
    assert list(selectors.comment_list(user=world.edu_head)) == [comment]
    assert list(selectors.comment_list(user=world.edu_handler)) == []  # cleared 内部
    assert list(selectors.comment_list(user=world.town_handler)) == []  # not its unit
    with pytest.raises(NotVisible):
        services.comment_mark_read(actor=world.town_handler, comment=comment)
    # Not told either: edu_handler (内部) gets no message about a 秘密 item.
    told = set(Notification.objects.filter(dedup_key=f"comment:{comment.pk}").values_list("recipient__username", flat=True))
    assert "edu_handler" not in told and "edu_head" in told


def test_api_comment_list_and_read(world, item):
    leader = client_for(world.leader)
    response = leader.post(f"/api/v1/items/{item.pk}/comments/", {"text": "要加快进度"}, format="json")
    assert response.status_code == 201, response.json()
    comment_id = response.json()["id"]
    assert response.json()["item_code"] == item.code and response.json()["author"]["id"] == world.leader.pk
    unit = client_for(world.edu_handler)
    assert [c["id"] for c in unit.get("/api/v1/comments/?unread=true").json()["results"]] == [comment_id]
    assert [c["id"] for c in unit.get(f"/api/v1/items/{item.pk}/comments/").json()["results"]] == [comment_id]
    read = unit.post(f"/api/v1/comments/{comment_id}/read/")
    assert read.status_code == 200 and read.json()["is_read"] is True
    assert unit.get("/api/v1/comments/?unread=true").json()["results"] == []
    assert_error(unit.post(f"/api/v1/items/{item.pk}/comments/", {"text": "x"}, format="json"), 403)
    assert client_for(world.town_handler).post(f"/api/v1/comments/{comment_id}/read/").status_code == 404
    instruction = leader.post(f"/api/v1/instructions/{item.instruction_id}/comments/", {"text": "高度重视"}, format="json")
    assert instruction.status_code == 201 and instruction.json()["instruction_id"] == item.instruction_id


def test_api_refuses_a_comment_on_an_instruction_nobody_may_see(world):
    secret = make_instruction(office=world.office, classification=Classification.CONFIDENTIAL)
    response = client_for(world.office_low).post(f"/api/v1/instructions/{secret.pk}/comments/", {"text": "x"}, format="json")
    assert response.status_code == 404
