"""Visibility (DOMAIN.md rule 13): Item.objects.visible_to and Instruction.objects.visible_to, for
each role × own/other unit × cleared/not cleared (reports_visible_to: test_querysets_reports.py)."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.choices import Classification, Role
from supervision import services
from supervision.choices import ItemStatus, ReferralDepartment
from supervision.models import Instruction, Item
from tests.conftest import build_world
from tests.factories import UserFactory, make_instruction, make_item
from tests.module_data import module_transaction, reread

pytestmark = pytest.mark.django_db

C = Classification


@pytest.fixture(scope="module")
def _built(django_db_setup, django_db_blocker, tmp_path_factory):
    """The world and the ledger, built once for the module (see tests/module_data.py). The
    reports' tests, on an item of their own, are in test_querysets_reports.py."""
    media_root = tmp_path_factory.mktemp("media")
    with module_transaction(django_db_blocker, media_root):
        w = build_world()
        yield SimpleNamespace(world=w, ledger=build_ledger(w), media_root=media_root)


@pytest.fixture
def world(_built, db, settings):
    """tests/conftest.py's world, with the module's ledger beside it."""
    settings.MEDIA_ROOT = _built.media_root
    return reread(_built.world)


@pytest.fixture
def ledger(_built, world):
    return reread(_built.ledger)


def build_ledger(world):
    """Five items:
    pub_edu     公开   lead 教育局, supporting 环保局, in progress
    secret_edu  秘密   lead 教育局, assigned, referred to 组织部门
    draft_edu   公开   lead 教育局, draft
    pub_town    公开   lead 黄庄乡, assigned, referred to 纪检
    conf_env    机密   lead 环保局, assigned
    """
    o = world.office
    L = SimpleNamespace()
    L.pub_edu = make_item(
        ItemStatus.IN_PROGRESS, office=o, lead_unit=world.edu, owner=world.edu_handler, supporting_units=[world.env]
    )
    L.secret_edu = make_item(ItemStatus.ASSIGNED, office=o, lead_unit=world.edu, owner=world.edu_head, classification=C.SECRET)
    L.draft_edu = make_item(ItemStatus.DRAFT, office=o, lead_unit=world.edu, owner=world.edu_handler)
    L.pub_town = make_item(ItemStatus.ASSIGNED, office=o, lead_unit=world.town, owner=world.town_handler)
    L.conf_env = make_item(
        ItemStatus.ASSIGNED,
        office=o,
        lead_unit=world.env,
        # The owner must be cleared for 机密 (issue 12); env_head (秘密) still does not see it.
        owner=UserFactory(unit=world.env, roles=[Role.UNIT_HANDLER], clearance=C.CONFIDENTIAL, username="env_confidential"),
        classification=C.CONFIDENTIAL,
    )
    services.referral_create(actor=o, item=L.pub_town, department=ReferralDepartment.DISCIPLINE, reason="慢作为")
    services.referral_create(actor=o, item=L.secret_edu, department=ReferralDepartment.ORGANIZATION, reason="典型推荐")
    return L


ALL = {"pub_edu", "secret_edu", "draft_edu", "pub_town", "conf_env"}

EXPECTED = {
    # whole-ledger viewers, limited by clearance; only the office sees drafts
    "office": ALL,  # 机密
    "admin": ALL,  # 机密
    "office_low": {"pub_edu", "draft_edu", "pub_town"},  # 内部
    "leader": ALL - {"draft_edu"},  # 机密
    # unit users: own unit's items (lead or supporting), within clearance, never drafts
    "edu_handler": {"pub_edu"},  # 内部: secret_edu is above clearance
    "edu_head": {"pub_edu", "secret_edu"},  # 秘密
    "env_handler": {"pub_edu"},  # 内部, supporting on pub_edu; conf_env above clearance
    "env_head": {"pub_edu"},  # 秘密: conf_env (机密) still above clearance
    "town_handler": {"pub_town"},
    "town_sub_handler": set(),  # a sub-unit does not inherit the parent unit's items
    # referral receivers: only what was referred to their department
    "discipline": {"pub_town"},
    "organization": {"secret_edu"},
}


def visible(user, ledger):
    names = {getattr(ledger, n).pk: n for n in ALL}
    return {names[pk] for pk in Item.objects.visible_to(user).values_list("pk", flat=True)}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_item_visibility_matrix(world, ledger, who):
    assert visible(getattr(world, who), ledger) == EXPECTED[who]


def test_counts_use_the_same_rule(world, ledger):
    for who, expected in EXPECTED.items():
        assert Item.objects.visible_to(getattr(world, who)).count() == len(expected), who


def test_raising_clearance_reveals_item(world, ledger):
    world.edu_handler.clearance = C.SECRET
    world.edu_handler.save()
    assert visible(world.edu_handler, ledger) == {"pub_edu", "secret_edu"}


def test_draft_becomes_visible_to_units_once_assigned(world, ledger):
    assert "draft_edu" not in visible(world.edu_handler, ledger)
    assert "draft_edu" not in visible(world.leader, ledger)
    services.item_assign(actor=world.office, item=ledger.draft_edu)
    assert "draft_edu" in visible(world.edu_handler, ledger)
    assert "draft_edu" in visible(world.leader, ledger)


def test_referral_receiver_needs_clearance_too(world, ledger):
    services.referral_create(actor=world.office, item=ledger.conf_env, department=ReferralDepartment.DISCIPLINE, reason="不作为")
    assert visible(world.discipline, ledger) == {"pub_town"}  # 秘密 clearance < 机密 item
    world.discipline.clearance = C.CONFIDENTIAL
    world.discipline.save()
    assert visible(world.discipline, ledger) == {"pub_town", "conf_env"}


def test_adding_a_supporting_unit_shares_the_item(world, ledger):
    assert "pub_edu" not in visible(world.town_handler, ledger)
    services.item_update(actor=world.office, item=ledger.pub_edu, supporting_units=[world.env, world.town])
    assert "pub_edu" in visible(world.town_handler, ledger)


def test_user_with_unit_role_but_no_unit_sees_nothing(world, ledger):
    drifter = UserFactory(unit=None, roles=[Role.UNIT_HANDLER], clearance=C.CONFIDENTIAL)
    assert visible(drifter, ledger) == set()


def test_unit_member_without_unit_role_sees_nothing(world, ledger):
    clerk = UserFactory(unit=world.edu, roles=[], clearance=C.CONFIDENTIAL)
    assert visible(clerk, ledger) == set()


def test_anonymous_and_inactive_see_nothing(world, ledger):
    assert not Item.objects.visible_to(AnonymousUser()).exists()
    assert not Item.objects.visible_to(None).exists()
    world.office.is_active = False
    world.office.save()
    assert not Item.objects.visible_to(world.office).exists()
    assert not Instruction.objects.visible_to(world.office).exists()


# --- instructions follow their items ----------------------------------------------------------


def test_instruction_visibility_follows_items(world, ledger):
    lonely = make_instruction(office=world.office, title="尚未分解的批示")
    secret_lonely = make_instruction(office=world.office, title="机密批示", classification=C.CONFIDENTIAL)

    def seen(user):
        return set(Instruction.objects.visible_to(user).values_list("pk", flat=True))

    ins = {name: getattr(ledger, name).instruction_id for name in ALL}
    everything = set(ins.values()) | {lonely.pk, secret_lonely.pk}
    assert seen(world.office) == everything
    assert seen(world.leader) == everything  # whole-ledger viewers see undecomposed ones too
    assert seen(world.office_low) == {ins["pub_edu"], ins["draft_edu"], ins["pub_town"], lonely.pk}
    assert seen(world.edu_handler) == {ins["pub_edu"]}  # not the draft's, not the secret one
    assert seen(world.edu_head) == {ins["pub_edu"], ins["secret_edu"]}
    assert seen(world.env_handler) == {ins["pub_edu"]}
    assert seen(world.town_handler) == {ins["pub_town"]}
    assert seen(world.discipline) == {ins["pub_town"]}
    assert seen(world.organization) == {ins["secret_edu"]}


def test_instruction_shared_by_items_seen_through_any_visible_one(world):
    instruction = make_instruction(office=world.office)
    make_item(ItemStatus.DRAFT, office=world.office, instruction=instruction, lead_unit=world.edu, owner=world.edu_handler)
    assert not Instruction.objects.visible_to(world.env_handler).filter(pk=instruction.pk).exists()
    make_item(ItemStatus.ASSIGNED, office=world.office, instruction=instruction, lead_unit=world.env, owner=world.env_handler)
    assert Instruction.objects.visible_to(world.env_handler).filter(pk=instruction.pk).exists()
    assert not Instruction.objects.visible_to(world.edu_handler).filter(pk=instruction.pk).exists()
